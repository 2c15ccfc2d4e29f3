// What the HTTP API needs from the roles it controls, as small interfaces of its own: the connector
// (connectors/), the view engine (materializer/), the topic reader (Kafka + registry) and health checks.
// The values they pass are the roles' own types (a source's status is connectors/core's, a view's info,
// rows and changes materializer/contract.ts's); api/adapters/ binds the interfaces to the real modules,
// route tests to fakes.
import type { ParkedResolution, SourceStatus } from "../connectors/core/change-source.ts";
import type { JsonRowPage, Row, RowQuery, ViewChange, ViewSummary } from "../materializer/contract.ts";
import type { SourceRecord, ViewRecord } from "../protocol/catalog.ts";

export interface SourceProblem {
  /** unreachable → 422 MESH_SOURCE_UNREACHABLE, auth → MESH_SOURCE_AUTH, anything else → MESH_SOURCE_PREREQUISITE */
  kind: "unreachable" | "auth" | "prerequisite" | "table";
  message: string;
  /** The SQL or setting that fixes it, when there is one. */
  fix?: string;
}

/**
 * A source's status as the API shows it: its connector's (connectors/core SourceStatus), with the
 * re-snapshot still pending and the API process running the connector.
 */
export interface PlacedSourceStatus extends SourceStatus {
  /** A requested re-snapshot (POST /v1/sources/{name}/snapshot) not finished yet: the tables still to do,
   * the current one first; null (or absent) when none is pending. */
  resnapshot?: { pending: string[] } | null;
  /** The API process running the connector and when it reported this status (stale: it stopped reporting). */
  holder?: { url: string; reportedAt: string; stale: boolean } | null;
}

/** Marks a request one API process forwarded to another (never forwarded again). */
export const FORWARDED_HEADER = "x-mesh-forwarded";

export interface SourceRuntime {
  /** Every problem that would stop the connector (unreachable, credentials, wal_level, missing tables...). */
  check(def: SourceRecord): Promise<SourceProblem[]>;
  /** Idempotent: starts, pauses or resumes the connector to match the record. */
  ensure(def: SourceRecord): Promise<void>;
  /** Stops the connector; dropSlot also removes its slot/publication in the source database. */
  remove(def: SourceRecord, options: { dropSlot: boolean }): Promise<void>;
  /** Re-snapshots the tables while streaming continues (forwarded: the request came from another process). */
  snapshot(name: string, tables: string[], options?: { forwarded?: boolean }): Promise<void>;
  /**
   * Retries or skips an aggregate's parked domain events, on the process running the source's connector
   * (forwarded there when it is another one).
   */
  resolveParked?(
    name: string,
    target: { topic: string; key: string },
    action: "retry" | "skip",
    options?: { forwarded?: boolean },
  ): Promise<ParkedResolution>;
  status(name: string): PlacedSourceStatus | undefined;
}

/** How many parked records a view's status lists (GET /v1/views/{name}). */
export const PARKED_LISTED = 100;

/** What one member did with a forwarded parked retry/skip (error: it failed or did not hold the key). */
export interface ParkedMemberResult {
  member: string;
  applied: number;
  stillParked: number;
  error?: { code: string; message: string };
}

export interface ViewRuntime {
  /** A cheap syntax check that finds the view's name (MeshError MESH_BAD_SQL when there is none). */
  parse(sql: string): { name: string };
  /**
   * Idempotent: creates the view (compiling its SQL: MESH_BAD_SQL names the construct and position) unless
   * it exists with this SQL. POST /v1/views calls it before writing the catalog, so bad SQL is never stored.
   */
  ensure(view: ViewRecord): Promise<void>;
  drop(name: string): Promise<void>;
  info(name: string): ViewSummary | undefined;
  getRow(name: string, key: unknown[]): Promise<Row | undefined>;
  queryRows(name: string, query: RowQuery): Promise<JsonRowPage>;
  /**
   * Changes from `from` ("latest", "earliest", a change id, an ISO-8601 time or a Last-Event-ID), ending
   * when the signal aborts.
   */
  changes(name: string, from: string, signal: AbortSignal): AsyncIterable<ViewChange>;
  /**
   * changes(), its start checked (and, for views in other processes, the upstream answered) before the
   * stream is answered, so a bad start is an error status rather than an error event.
   */
  openChanges?(
    name: string,
    from: string,
    signal: AbortSignal,
  ): Promise<{ events: AsyncIterable<ViewChange> }>;
  /**
   * Operator action on a parked key (docs/api.md): retry re-reads its parked records in order, skip drops
   * the oldest first; MESH_NOT_FOUND if the key has none. Views in other processes: forwarded to the
   * members, `members` saying what each did.
   */
  resolveParked?(
    name: string,
    target: { topic: string; key: string },
    action: "retry" | "skip",
  ): Promise<{ applied: number; stillParked: number; members?: ParkedMemberResult[] }>;
}

export interface TopicInfo {
  topic: string;
  owner: string;
  source: string;
  table: string;
  partitions: number;
  keySubject: string;
  valueSubject: string;
  /** Latest registered version of the value subject; null before the first event. */
  latestVersion: number | null;
}

export type TopicStart =
  | { kind: "earliest" }
  | { kind: "latest" }
  | { kind: "offset"; offset: bigint }
  | { kind: "time"; ms: number }
  /** Last-Event-ID resume: the next offset per partition; unnamed partitions start at `otherwise`. */
  | { kind: "resume"; next: Map<number, bigint>; otherwise: "earliest" | "latest" };

export interface TopicEvent {
  partition: number;
  offset: string;
  timestamp: string;
  key: unknown;
  /** The decoded envelope as lossless JSON (null for a tombstone). */
  value: unknown;
  /** A domain event's headers (`id`, `type`, `aggregatetype`); absent on CDC topics. */
  headers?: Record<string, string>;
}

/**
 * Events read together, and where the stream stood on every partition just before them (the next offset to
 * read), so each event's SSE id can carry the whole position and a Last-Event-ID resume loses nothing.
 */
export interface TopicBatch {
  from: ReadonlyMap<number, bigint>;
  events: TopicEvent[];
}

export interface TopicRuntime {
  topics(): Promise<TopicInfo[]>;
  /** Whether the topic belongs to a registered source (no Kafka or registry call). */
  known(topic: string): boolean;
  /**
   * Events in offset order per partition, in the groups they arrived in (one socket write per group). Ends
   * when the signal aborts; a full consumer is paused until the reader pulls again. The first batch comes as
   * soon as the reader is positioned, empty (`from` is where it reads): every event written after it arrives.
   */
  events(topic: string, start: TopicStart, signal: AbortSignal): AsyncIterable<TopicBatch>;
}

export interface DependencyCheck {
  name: string;
  ok: boolean;
  error?: string;
}

export interface HealthRuntime {
  checks(): Promise<DependencyCheck[]>;
}
