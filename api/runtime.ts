// What the HTTP API needs from the roles it controls, as small interfaces of its own: the connector
// (connectors/), the view engine (materializer/), the topic reader (Kafka + registry) and health checks.
// api/adapters/ binds them to the real modules; route tests bind them to fakes.
import type { SourceRecord, ViewRecord } from "../protocol/catalog.ts";

export interface SourceProblem {
  /** unreachable → 422 MESH_SOURCE_UNREACHABLE, auth → MESH_SOURCE_AUTH, anything else → MESH_SOURCE_PREREQUISITE */
  kind: "unreachable" | "auth" | "prerequisite" | "table";
  message: string;
  /** The SQL or setting that fixes it, when there is one. */
  fix?: string;
}

export interface SourceStatus {
  state: "starting" | "snapshotting" | "streaming" | "paused" | "stopped" | "failed";
  error: { code: string; message: string } | null;
  /** Snapshot progress (initial or incremental re-snapshot), null when none runs. */
  progress: {
    phase: "initial" | "incremental";
    rowsDone: number;
    rowsEstimated: number;
    table: string | null;
  } | null;
  /** Bytes of WAL/binlog between the source's position and the confirmed offset. */
  lagBytes: number | null;
  /** Seconds since the commit of the last acknowledged transaction (0 when idle). */
  lagSeconds: number | null;
  /** The last offset acknowledged by Kafka and confirmed to the source (Postgres LSN, binlog position). */
  offset: string | null;
  /** Events written per table since the connector process started. */
  events: Record<string, number>;
  /** Tables stopped on their own (e.g. an incompatible schema change). */
  tables: Record<string, { state: "streaming" | "failed"; error: { code: string; message: string } | null }>;
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
  status(name: string): SourceStatus | undefined;
}

export interface ViewStatus {
  state: "backfilling" | "ready" | "failed";
  error: string | null;
  /** 0..1 while backfilling */
  progress: number | null;
  rows: number;
  lagMs: number | null;
  /**
   * Input records the view could not apply (undecodable, or a value of a type the view cannot use), with
   * the reason; each holds back its key's later records until retried or skipped. At most PARKED_LISTED,
   * oldest first per key.
   */
  parked: ParkedInfo[];
  /** How many records are parked in all (the list above may be cut short). */
  parkedCount: number;
}

export interface ParkedInfo {
  topic: string;
  partition: number;
  offset: string;
  /** The record's Kafka key (hex): what retry and skip name. */
  key: string;
  reason: string;
}

/** How many parked records a view's status lists. */
export const PARKED_LISTED = 100;

export interface ViewInfo {
  name: string;
  key: string[];
  columns: string[];
  status: ViewStatus;
}

export type FilterOp = "eq" | "gt" | "gte" | "lt" | "lte";

export interface RowQuery {
  filters: { column: string; op: FilterOp; value: string }[];
  order: { column: string; desc: boolean } | null;
  limit: number;
  cursor: string | null;
}

export interface ViewChange {
  /** SSE id, resumable with Last-Event-ID */
  id: string;
  /** The SSE event name (default `change`; `notice` for a stream-level remark, docs/api.md). */
  event?: "change" | "notice";
  data: unknown;
}

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
  info(name: string): ViewInfo | undefined;
  getRow(name: string, key: unknown[]): Promise<Record<string, unknown> | undefined>;
  queryRows(name: string, query: RowQuery): Promise<{ rows: Record<string, unknown>[]; next: string | null }>;
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
