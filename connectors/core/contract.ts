// The connector contract (docs/contracts.md "Runtime contracts"): the source definition, a running
// connector's interface and status, and what a connector is given. Types only; change-source.ts re-exports
// them with the dispatch to registered backends, runtime.ts implements `Connector` for every backend.
import type { Clock } from "../../lib/clock.ts";
import type { KafkaClient } from "../../lib/kafka/index.ts";
import type { Logger } from "../../lib/logger.ts";
import type { OffsetStore } from "./offset-store.ts";
import type { EventSchemaSource } from "./outbox-schemas.ts";
import type { SchemaRegistrar } from "./schema-registrar.ts";

/**
 * When to read the tables whole: `initial` once, before streaming (a stored position the server lost is
 * then an error); `when_needed` also whenever the server lost the stored position; `never`: stream only.
 */
export type SnapshotMode = "initial" | "never" | "when_needed";

/**
 * How events reach Kafka. `at-least-once`: acknowledged produce requests, the source position confirmed
 * after them, so a crash may replay (exact copies of) the last events. `exactly-once`: Kafka transactions of
 * whole source transactions with the stored position in the same transaction, so a read_committed consumer
 * sees every change once across any crash (docs/connector-postgres.md "Delivery").
 */
export type DeliveryMode = "at-least-once" | "exactly-once";

/** A source without a `delivery` (docs/connector-postgres.md "Delivery" says why this one). */
export const DEFAULT_DELIVERY: DeliveryMode = "exactly-once";
export const DELIVERY_MODES: readonly DeliveryMode[] = ["at-least-once", "exactly-once"];

export interface OutboxDefinition {
  /** Outbox tables (`schema.table`, columns id, aggregatetype, aggregateid, type, payload); also captured. */
  tables?: string[];
  /** Postgres logical messages (`pg_logical_emit_message`) with this prefix are outbox events too. */
  messagePrefix?: string;
  /**
   * Events of a topic with no declared event type: `park` (default) keeps them until their type is declared;
   * `json` publishes them as their JSON, unchecked (a migration period; the catalog flags the topic untyped).
   */
  untyped?: "park" | "json";
}

/** What a source's connector did on one domain-event topic since it started. */
export interface OutboxTopicStatus {
  /** Events written to the topic (typed and untyped). */
  published: number;
  /** Of those, published as plain JSON (no schema: `untyped: "json"`). */
  untyped: number;
  /** Events parked now (outbox-parked.ts). */
  parked: number;
  /** Published per second over the last minute. */
  perSecond: number;
  lastEventAt: string | null;
}

export interface SourceDefinition {
  name: string;
  /** The owning service; outbox events go to `<owner>.<aggregatetype>`. */
  owner: string;
  kind: "postgres" | "mysql";
  /** Connection URL (with credentials; never logged or shown, see lib/logger.ts). */
  url: string;
  /** `schema.table` entries, or a bare `schema` for all its tables. */
  tables: string[];
  snapshot: SnapshotMode;
  slot?: string;
  publication?: string;
  /** Partitions of each table topic created by the connector (default 3). */
  partitions?: number;
  outbox?: OutboxDefinition;
  /** Default `at-least-once` (see DeliveryMode). */
  delivery?: DeliveryMode;
}

export type SourceState = "starting" | "snapshotting" | "streaming" | "paused" | "failed" | "stopped";

export interface StatusError {
  code: string;
  message: string;
}

export interface SourceStatus {
  state: SourceState;
  error: StatusError | null;
  /** Snapshot progress (initial or incremental), null when none is running. */
  progress: {
    phase: "initial" | "incremental";
    rowsDone: number;
    rowsEstimated: number;
    table: string | null;
  } | null;
  /** Bytes of WAL (or binlog) between the source's current position and the confirmed offset. */
  lagBytes: number | null;
  /** Seconds between now and the commit time of the last acknowledged transaction (0 when idle). */
  lagSeconds: number | null;
  /** The confirmed source offset (Postgres LSN text, MySQL file:pos or GTID set). */
  offset: string | null;
  /** Events written per table (`schema.table`) since this process started. */
  events: Record<string, number>;
  /** Tables stopped on their own (e.g. an incompatible schema change), with the reason. */
  tables: Record<string, { state: "streaming" | "failed"; error: StatusError | null }>;
  /** Domain-event topics the outbox fed, by topic (absent: no outbox event yet). */
  outbox?: Record<string, OutboxTopicStatus>;
}

export interface Problem {
  /** Stable code of the problem (e.g. `wal_level`, `replication_role`, `no_primary_key`). */
  code: string;
  message: string;
  /** What to do: usually the SQL a DBA runs. */
  fix: string;
  /** Goes away by itself (unreachable, a slot still held by a dying predecessor): the runtime retries. */
  transient?: boolean;
}

export interface ConnectorDeps {
  /** The process's client: a connector makes its own ordered producer from it and closes that itself. */
  kafka: KafkaClient;
  registry: SchemaRegistrar;
  /** Where domain-event schemas are read (default: `registry`, when it reads too, as lib/registry-client.ts). */
  eventSchemas?: EventSchemaSource;
  offsets: OffsetStore;
  logger: Logger;
  /** Heartbeat period (default 10 s): keeps the offset moving while captured tables are idle. */
  heartbeatIntervalMs?: number;
  /** Wait before restarting after a retryable failure (default 1 s, doubling to 30 s). */
  retryDelayMs?: number;
  /** Rows per snapshot chunk (default 10 000). */
  snapshotChunkRows?: number;
  /** Called when all events of a source transaction are acknowledged (commit time in micros; for metrics). */
  onTransactionAcked?: (commitMicros: bigint, events: number) => void;
  /** What retry waits sleep on (default the real clock; tests pass lib/clock.ts's ManualClock). */
  clock?: Clock;
}

export interface Connector {
  /**
   * Resolves once the connector runs (snapshot started or streaming); failures show in status(). Aborting
   * `signal` stops the connector as stop() does.
   */
  start(signal?: AbortSignal): Promise<void>;
  /** Drains: everything read is acknowledged and the offset confirmed before it resolves. */
  stop(): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Re-snapshots these tables while streaming goes on (incremental, resumable). */
  resnapshot(tables: string[]): Promise<void>;
  /**
   * Retries or skips an aggregate's parked domain events (outbox-router.ts); MESH_NOT_FOUND when it has none,
   * MESH_CONFLICT when the connector is not streaming.
   */
  resolveParked(topic: string, key: string, action: "retry" | "skip"): Promise<ParkedResolution>;
  status(): SourceStatus;
}

/** What a retry or skip of parked domain events did (outbox-router.ts ResolveResult). */
export interface ParkedResolution {
  published: number;
  skipped: number;
  stillParked: number;
  reason: { code: string; message: string } | null;
}
