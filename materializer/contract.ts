// The materializer's runtime contract (docs/contracts.md "Runtime contracts"): what the API role and
// `mesh materialize` call, and the one definition of a view's info, status, rows, pages and changes that
// every other folder imports (the row query is lib/http's: every view server parses it from a URL).
// Values in engine rows are the decoded representation of docs/contracts.md (bigint for long, exact
// strings for decimals and timestamps, Buffer for bytes); JSON rows are those rendered with lib/avro.ts
// toJsonValue using the column types given here (engine-views.ts).
import type { Filter, RowQuery } from "../lib/http/row-query.ts";
import type { AvroSchemaJson } from "./sql/catalog.ts";

export type { Filter, RowQuery };

export type Row = Record<string, unknown>;

export interface ViewColumn {
  name: string;
  /** Avro type of the column (a nullable union), for lib/avro.ts `toJsonValue(avroType(type), value)`. */
  type: AvroSchemaJson;
}

/** An input record the view could not apply; it holds back its key's later records until retried or skipped. */
export interface ParkedInfo {
  topic: string;
  partition: number;
  offset: string;
  /** The record's Kafka key (hex): what retry and skip name. */
  key: string;
  reason: string;
}

export interface ViewStatus {
  /** `waiting`: declared before its inputs exist (docs/views.md); it backfills once they do. */
  state: "waiting" | "backfilling" | "ready" | "failed" | "stopped";
  /** Fraction (0..1) of the input that existed at start which has been applied. */
  progress: number;
  rows: number;
  lagMs: number;
  /** Every parked record, oldest first per key. */
  parked: ParkedInfo[];
  error: { code: string; message: string } | null;
  /**
   * State `waiting`: the topics whose schemas are not in the registry yet, and the topics not in Kafka yet
   * (schemas registered, topic not created).
   */
  waitingFor?: { schemas: string[]; topics: string[] };
}

export interface ViewInfo {
  name: string;
  sql: string;
  /** Names of the key columns, in key order (driving key, then one-to-many keys). */
  key: string[];
  keyColumns: ViewColumn[];
  columns: ViewColumn[];
  /** Declared secondary indexes (lists of column names). */
  indexes: string[][];
  /** Input topics. */
  topics: string[];
  status: ViewStatus;
}

export interface ViewRow {
  /** Key values in ViewInfo.key order. */
  key: unknown[];
  row: Row;
}

export interface RowPage {
  rows: ViewRow[];
  next: string | null;
  /** True when the view is still backfilling (only with `stale`). */
  stale: boolean;
}

export interface ViewChangeEvent {
  seq: number;
  /** When it was applied (ms since the epoch); absent on entries stored before times were kept. */
  at?: number;
  op: "insert" | "update" | "delete";
  key: unknown[];
  before: Row | null;
  after: Row | null;
}

/** A member of a split view's group (docs/views.md "Split views"). */
export interface ViewMember {
  memberId: string;
  /** Where it answers `GET /v1/views/{name}/rows` for its partitions. */
  url: string;
  partitions: number[];
}

/** A page with each row's sort position (hex), and the scan path its cursor belongs to. */
export interface PositionedRowPage extends RowPage {
  path: string;
  positions: string[];
}

/** A view column's type as GET /v1/views/{name} shows it: Postgres' name for it, and the exact Avro type. */
export interface ViewColumnType {
  name: string;
  /** `bigint`, `integer`, `numeric`, `numeric(12,2)`, `text`, `boolean`, `timestamptz`, ... (sql/types.ts). */
  type: string;
  avro: AvroSchemaJson;
}

/**
 * A view as servers list it (a member's GET /v1/views entries, the API's view runtimes): ViewInfo with its
 * columns by name.
 */
export interface ViewSummary extends Pick<ViewInfo, "name" | "key" | "status"> {
  columns: string[];
  /** Each column's type (computed columns' types are derived from their expressions); absent when unknown. */
  columnTypes?: ViewColumnType[];
  /** How each key column compares (keys/encoding.ts KeyKind), in key order; absent when not known here. */
  keyKinds?: ("number" | "decimal" | "string" | "bytes" | "boolean" | "any")[];
}

/** A page of JSON rows: what GET /v1/views/{name}/rows answers. */
export interface JsonRowPage {
  rows: Row[];
  next: string | null;
}

/**
 * A member's answer to GET /v1/views/{name}/rows with `x-mesh-local: 1` (lib/http member-answers.ts): its
 * own JSON rows with their sort positions, merged by the asker (split-query.ts).
 */
export interface MemberPage extends JsonRowPage {
  path: string;
  positions: string[];
  stale: boolean;
  /** The driving partitions the member owns, and those it answered for (caught up). */
  owned?: number[];
  served?: number[];
  /**
   * A consistent page's part (a request under a hold, split-query.ts): the transactions it shows, per source
   * the offset after the last END marker applied.
   */
  position?: Record<string, string>;
}

/** A consistent page's hold on a member (docs/views.md "Consistent pages"): its id, and where to move to. */
export interface RowsHold {
  id: string;
  /** Move up to exactly this position first (null: hold where it is). */
  at: Record<string, string> | null;
}

/** A view change as served over SSE (GET /v1/views/{name}/changes): JSON rows, resumable by id. */
export interface ViewChange {
  /** SSE id, resumable with Last-Event-ID */
  id: string;
  /** The SSE event name (default `change`; `notice` for a stream-level remark, docs/api.md). */
  event?: "change" | "notice";
  data: unknown;
}

export interface CreateViewOptions {
  expected?: readonly string[];
}

export interface ViewEngine {
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * `CREATE VIEW ...` (optionally followed by `CREATE INDEX ON view(col)`), or `CREATE INDEX` on an existing
   * view. `expected`: the tables (topic names) of registered sources: a view naming one the registry has no
   * schema for yet is created `waiting` (pending-views.ts) instead of refused.
   */
  createView(sql: string, options?: CreateViewOptions): Promise<ViewInfo>;
  dropView(name: string): Promise<void>;
  listViews(): ViewInfo[];
  getView(name: string): ViewInfo;
  getRow(name: string, key: unknown[], options?: { stale?: boolean }): Promise<ViewRow | null>;
  queryRows(name: string, query?: RowQuery): Promise<RowPage>;
  /** Change feed from seq `from` (exclusive; 0 = from the oldest retained), then live. Ends when `signal` aborts. */
  changes(name: string, from: number, signal?: AbortSignal): AsyncIterable<ViewChangeEvent>;
  /**
   * Where a change stream starting at a time (ms) begins: `after` is the `from` to pass to changes();
   * `trimmed` is set when the time is older than the oldest change kept and older ones were trimmed.
   */
  changeStart?(
    name: string,
    time: number,
  ): Promise<{ after: number; trimmed: { oldest: number; oldestAt: number | null } | null }>;
  /** Split mode: the view's consumer group, driving topic and its partition count (null: not split). */
  split?(name: string): { groupId: string; topic: string; partitions: number } | null;
  /** Split mode: the driving partitions this process owns, and those it serves (caught up). */
  ownership?(name: string): { owned: number[]; served: number[] } | null;
  /** Split mode: who owns which driving partitions, and where they answer. */
  members?(name: string): Promise<ViewMember[]>;
  /** queryRows with sort positions, for merging members' pages (split mode: only this process's rows). */
  queryRowsPositioned?(name: string, query?: RowQuery): Promise<PositionedRowPage>;
  /** Split mode: queryRowsPositioned under a hold (a consistent page's part), with the position it shows. */
  heldRows?(
    name: string,
    query: RowQuery,
    hold: RowsHold,
  ): Promise<PositionedRowPage & { position: Record<string, string> }>;
  /** Split mode: ends a hold (it also expires on its own). */
  releaseHold?(name: string, id: string): void;
  /** Operator action on a parked key (see ViewStatus.parked). */
  resolveParked(
    name: string,
    topic: string,
    key: string,
    action: "retry" | "skip",
  ): Promise<{ applied: number; stillParked: number }>;
}
