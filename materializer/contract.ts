// The materializer's runtime contract (docs/contracts.md "Runtime contracts"): what the API role and
// `mesh materialize` call. Values in rows are the decoded representation of docs/contracts.md (bigint for
// long, exact strings for decimals and timestamps, Buffer for bytes); render them with lib/avro.ts
// toJsonValue using the column types given here.
import type { AvroSchemaJson } from "./sql/catalog.ts";

export type Row = Record<string, unknown>;

export interface ViewColumn {
  name: string;
  /** Avro type of the column (a nullable union), for lib/avro.ts `toJsonValue(avroType(type), value)`. */
  type: AvroSchemaJson;
}

export interface ViewStatus {
  state: "backfilling" | "ready" | "failed" | "stopped";
  progress: number;
  rows: number;
  lagMs: number;
  parked: { topic: string; partition: number; offset: string; key: string; reason: string }[];
  error: { code: string; message: string } | null;
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

/** A range/equality condition on one column; values in the decoded representation (or JSON text forms). */
export interface Filter {
  column: string;
  op: "eq" | "gt" | "gte" | "lt" | "lte" | "in";
  value: unknown;
}

export interface RowQuery {
  filters?: Filter[];
  /** Order by the key (default) or by an indexed column. */
  order?: string;
  desc?: boolean;
  /** Default 100, at most 10 000. */
  limit?: number;
  /** The `next` of the previous page. */
  cursor?: string;
  /** Answer while backfilling (otherwise MESH_VIEW_NOT_READY). */
  stale?: boolean;
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

export interface ViewEngine {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** `CREATE VIEW ...` (optionally followed by `CREATE INDEX ON view(col)`), or `CREATE INDEX` on an existing view. */
  createView(sql: string): Promise<ViewInfo>;
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
  /** Operator action on a parked key (see ViewStatus.parked). */
  resolveParked(
    name: string,
    topic: string,
    key: string,
    action: "retry" | "skip",
  ): Promise<{ applied: number; stillParked: number }>;
}
