// What a source database backend implements (connectors/postgres, connectors/mysql): the database-specific
// half of a connector. The runtime (connectors/core) owns everything else: lifecycle, retries, checkpoints,
// heartbeats, status and lag, re-snapshots with watermarks, outbox routing, schema registration and the
// Kafka write path. A backend reads its database and says where it is in the log; it never writes to Kafka.
//
// Positions: `P` is the backend's own position type (Postgres: the LSN as a bigint; MySQL: binlog file/pos
// or a GTID set), described by `PositionCodec<P>` so the runtime can order, store and show them.
// Rows: plain objects keyed by the Avro field names of the table's `TableShape` (protocol/envelope.ts),
// values already in their Avro form (bigint for long, exact decimal strings, Buffers for bytes, ...).
// Errors: a backend throws MeshError (lib/errors.ts); `retryable` ones make the runtime retry with backoff,
// others stop the connector with the error in its status.
import type { Logger } from "../../lib/logger.ts";
import type { SourceBlock, TableShape } from "../../protocol/envelope.ts";
import type { Problem, SourceDefinition } from "./contract.ts";

/** A row by Avro field name (the table shape's column names). */
export type Row = Record<string, unknown>;

/** The envelope's source coordinates of an event (the fields that differ between databases). */
export type SourceCoordinates = Pick<SourceBlock, "lsn" | "file" | "pos" | "gtid">;

/** How the runtime handles a backend's positions without knowing what they are. */
export interface PositionCodec<P> {
  /** Negative, 0, positive: `a` is before, at, after `b` in the log. */
  compare(a: P, b: P): number;
  /** A stable text (stored in `_mesh_offsets`, shown as `status().offset`); `parse` reads it back. */
  serialize(p: P): string;
  parse(text: string): P;
  /** The envelope's `source.lsn` / `file` / `pos` / `gtid` of an event at `p`. */
  coordinates(p: P): SourceCoordinates;
}

/**
 * One version of a captured table's schema. A new object for each version: the backend yields a `schema`
 * event with it before the first change that uses it, and changes carry the version they were read with.
 */
export interface SourceTable {
  schema: string;
  table: string;
  /** `<schema>.<table>`, as in the source definition and the status. */
  qualified: string;
  /** Topic, Avro columns, key (empty for a keyless table). */
  shape: TableShape;
}

/**
 * What the change stream yields, in log order, in batches (no promise per event). A transaction is `begin`,
 * its `change`/`truncate`/transactional `message` events, `commit`. `schema` and non-transactional
 * `message`/`watermark`/`progress` events may come between transactions; `schema` may also come inside one.
 */
export type StreamEvent<P> =
  | {
      kind: "begin";
      /** The transaction's id in markers and `transaction.id` (Postgres `<xid>:<commit LSN>`). */
      id: string;
      /** The envelope's `source.txId` (Postgres xid; null when the database has none). */
      txId: bigint | null;
      /** Commit time, micros since the epoch (the events' `ts_ms`, so a replay is byte-identical). */
      commitMicros: bigint;
      position: P;
    }
  | {
      kind: "change";
      table: SourceTable;
      op: "c" | "u" | "d";
      /**
       * The old row as the envelope shows it (null when the database did not log it; on a delete at least
       * the key). An update whose before and after keys differ is written as delete + create by the runtime.
       */
      before: Row | null;
      /** The new row, complete (the backend fills values the log left out, e.g. unchanged TOAST). */
      after: Row | null;
      /** The change's own position (the envelope's coordinates). */
      position: P;
    }
  | { kind: "truncate"; tables: SourceTable[]; position: P }
  | {
      kind: "commit";
      /** Where to resume so that this transaction is not read again: confirmed once it is in Kafka. */
      position: P;
    }
  | { kind: "schema"; table: SourceTable }
  | {
      /** A logical message (Postgres `pg_logical_emit_message`): outbox events by prefix. */
      kind: "message";
      prefix: string;
      content: Buffer;
      transactional: boolean;
      position: P;
    }
  | {
      /** A watermark written by `writeWatermark`, read back at its place in the log. */
      kind: "watermark";
      chunk: string;
      edge: "low" | "high";
      position: P;
    }
  | {
      /**
       * Everything before `position` has been yielded (a keepalive, or the backend's own heartbeat record):
       * when nothing is waiting for Kafka, the runtime may confirm it.
       */
      kind: "progress";
      position: P;
    };

/** The log from a position on. Iterating ends only by `close()`; a lost connection throws. */
export interface ChangeStream<P> extends AsyncIterable<readonly StreamEvent<P>[]> {
  /** Everything before `position` is in Kafka: the server may release it (slot, binlog retention). */
  confirm(position: P): Promise<void>;
  close(): Promise<void>;
}

/** One table of an initial snapshot. */
export interface SnapshotTable {
  table: SourceTable;
  /** The catalogue's estimate, for progress. */
  estimatedRows: number;
}

/** A consistent read of the captured tables, and the log position just after it. */
export interface SnapshotRead<P> {
  /** Streaming from here continues the snapshot with no gap and no overlap. */
  position: P;
  tables: SnapshotTable[];
  /**
   * The rows of one table, each exactly once, in chunks of at most `chunkRows` (memory: a chunk per reader):
   * in key order, or, when the backend reads a large table with several readers in the same snapshot
   * (Postgres: block ranges), in the order the chunks arrive.
   */
  rows(table: SourceTable, chunkRows: number): AsyncIterable<Row[]>;
  /** Ends the consistent read (commits its transaction, closes its connections). */
  close(): Promise<void>;
}

/** A chunk of a re-snapshot, read between a low and a high watermark. */
export interface ChunkRead {
  /** The table's current version (a keyless table cannot be chunked: the runtime skips it). */
  table: SourceTable;
  rows: Row[];
  /** The cursor after the last row (JSON, stored in `_mesh_offsets`), or null when the table is done. */
  next: (string | null)[] | null;
  /**
   * Whether a transaction (its `begin.txId`) is visible to the read that produced `rows`, when the backend
   * knows (Postgres: `pg_current_snapshot()`). Then a streamed change replaces a chunk row exactly when its
   * transaction is invisible to the read, wherever it came in the log before the high watermark. Without it
   * the runtime uses the window rule: a change streamed between the chunk's two watermarks replaces it.
   */
  visible?: (txId: bigint) => boolean;
}

/** What the runtime gives a session. */
export interface SessionContext {
  /** Aborted when the connector stops or pauses, or the session fails. */
  signal: AbortSignal;
  logger: Logger;
  /** The session cannot go on (e.g. a connection used between calls was lost): the runtime restarts it. */
  fail(err: Error): void;
}

/** One run of a backend against its database, from open() to close(). */
export interface BackendSession<P> {
  /** The database name (the envelope's `source.db`). */
  readonly db: string;
  /** Captured tables (`schema.table`), outbox tables excluded. */
  readonly tables: readonly string[];
  /** Outbox tables: captured too, their inserted rows routed as outbox events. */
  readonly outboxTables: readonly string[];
  /**
   * Where the server would resume this source (Postgres: the slot's confirmed LSN), or null when it holds
   * nothing for it (no slot yet, or no stored position to check: MySQL passes the runtime's own).
   */
  storedPosition(): Promise<P | null>;
  /**
   * A consistent read of the captured tables and the position after it (Postgres: re-creates the slot with
   * an exported snapshot, so whatever the slot held before is dropped).
   */
  snapshot(): Promise<SnapshotRead<P>>;
  /**
   * The log from `from` (null: from now; Postgres creates the slot if there is none). Throws a MeshError
   * with code MESH_SOURCE_POSITION_LOST (not retryable) when the server no longer has `from`, naming what
   * is gone and what to do; the runtime then re-snapshots or fails, per the source's snapshot mode.
   */
  stream(from: P | null): Promise<ChangeStream<P>>;
  /** Writes a record into the log that the stream yields back as `progress` (keeps idle sources moving). */
  heartbeat(): Promise<void>;
  /** Bytes of log between the server's head and `confirmed` (null when unknown). */
  lag(confirmed: P | null): Promise<number | null>;
  /** Writes a watermark the stream yields back as a `watermark` event (logical message, signal table). */
  writeWatermark(chunk: string, edge: "low" | "high"): Promise<void>;
  /** Reads up to `limit` rows of `table` after the cursor `after` (null: from the start), in key order. */
  readChunk(table: string, after: (string | null)[] | null, limit: number): Promise<ChunkRead>;
  /** Closes every connection of the session (an open stream included). */
  close(): Promise<void>;
}

/** A source database kind. Registered with `registerConnectorBackend(kind, backend)`. */
export interface SourceBackend<P> {
  readonly kind: SourceDefinition["kind"];
  /** The envelope's `source.connector`. */
  readonly connector: SourceBlock["connector"];
  readonly positions: PositionCodec<P>;
  /**
   * What stands in the way of capturing `def`, each problem with the SQL or setting that fixes it; creates
   * nothing. `transient` problems (unreachable, slot still held by a dying predecessor) are retried.
   */
  checkPrerequisites(def: SourceDefinition): Promise<Problem[]>;
  /** Connects and resolves the tables; creates what streaming needs but does not start reading. */
  open(def: SourceDefinition, ctx: SessionContext): Promise<BackendSession<P>>;
  /**
   * Removes what the source holds on the server (Postgres: slot and publication), with no session running.
   * Throws a MeshError naming what is left and the SQL to remove it by hand (details `sql`).
   */
  teardown(def: SourceDefinition): Promise<void>;
}
