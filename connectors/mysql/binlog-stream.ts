// The binlog from a position, as the runtime's `ChangeStream`: @vlasky/zongji reads and decodes the
// replication stream (`dateStrings`, UTC, exact numbers), every event goes through one in-order worker
// (TABLE_MAP → the table version it was written under, DDL → re-read columns and announce the new version,
// rows → changes, commit markers → transaction ends; transactions.ts groups them), and the runtime pulls
// batches. Backpressure: the binlog connection is paused while too many events wait, and resumed when the
// runtime has taken them. Every connection has an 'error' listener; a lost connection ends the iteration
// with a retryable error, purged binlogs with MESH_SOURCE_POSITION_LOST.
import ZongJi, { type AnyBinlogEvent, type QueryEvent, type TableMapEvent } from "@vlasky/zongji";
import type { Logger } from "../../lib/logger.ts";
import type { ChangeStream, SourceTable, StreamEvent } from "../core/backend.ts";
import { serializePosition, type MysqlPosition } from "./binlog-position.ts";
import { connectionOptions } from "./connection.ts";
import { recognize, type Statement, type TableName } from "./ddl.ts";
import { positionLost, unreachable } from "./errors.ts";
import type { SchemaTracker } from "./schema-tracker.ts";
import { itemOf, tableMapFacts, type Target } from "./binlog-items.ts";
import type { DecoderColumnSchema } from "./table-version.ts";
import { TransactionGrouper, type BinlogItem } from "./transactions.ts";

/** Events waiting for the runtime above which the binlog connection pauses, and below which it resumes. */
const HIGH_WATER = 20_000;
const LOW_WATER = 5_000;
/** The most events one batch hands over. */
const MAX_BATCH = 8_192;

interface DecoderInternals {
  _isChecksumEnabled: (this: ZongJi, next: (err: Error | null, enabled?: boolean) => void) => void;
}

/**
 * zongji with two hooks: column metadata comes from the session's schema tracker (as of the binlog's place,
 * not information_schema's today), and the binlog connection asks the server for heartbeats while idle.
 */
class Decoder extends ZongJi {
  tableInfo: ((event: TableMapEvent) => Promise<readonly DecoderColumnSchema[]>) | null = null;
  heartbeatNs = 1_000_000_000n;

  _fetchTableInfo(event: TableMapEvent, next: () => void): void {
    const info = this.tableInfo;
    if (!info) return;
    info(event).then(
      (columnSchemas) => {
        this.tableMap[event.tableId] = {
          columnSchemas: columnSchemas as DecoderColumnSchema[],
          parentSchema: event.schemaName,
          tableName: event.tableName,
        };
        next();
      },
      (err: unknown) => this.emit("error", err as Error),
    );
  }

  _isChecksumEnabled(next: (err: Error | null, enabled?: boolean) => void): void {
    // The first statement on the binlog connection (it also opens it): MariaDB and MySQL send a HEARTBEAT
    // event after this many idle nanoseconds, which the stream turns into `progress`.
    const conn = this.connection;
    const base = (ZongJi.prototype as unknown as DecoderInternals)._isChecksumEnabled;
    if (!conn) return base.call(this, next);
    conn.query(`SET @master_heartbeat_period = ${this.heartbeatNs}`, (err) => {
      if (err) next(err);
      else base.call(this, next);
    });
  }
}

export interface BinlogStreamOptions {
  /** The source's name (its watermarks in the signal table carry it). */
  source: string;
  url: string;
  serverId: number;
  from: MysqlPosition;
  tracker: SchemaTracker;
  /** Idle time after which the server sends a heartbeat (a `progress` event). */
  heartbeatMs: number;
  logger: Logger;
}

export class BinlogStream implements ChangeStream<MysqlPosition> {
  private readonly options: BinlogStreamOptions;
  private readonly decoder: Decoder;
  private readonly grouper: TransactionGrouper;
  private input: AnyBinlogEvent[] = [];
  private inputHead = 0;
  private pending: StreamEvent<MysqlPosition>[] = [];
  private error: Error | null = null;
  private closed = false;
  private working = false;
  private fetching = 0;
  private file: string;
  private readonly idleWaiters: (() => void)[] = [];
  private wake: (() => void) | null = null;
  /** TABLE_MAP table id → what its rows are (absent: not resolved yet; null: not read). */
  private readonly targets = new Map<number, Target | null>();

  private constructor(options: BinlogStreamOptions) {
    this.options = options;
    this.file = options.from.file;
    this.grouper = new TransactionGrouper({
      start: options.from,
      truncated: (tables) => this.truncated(tables),
      source: options.source,
    });
    const decoder = new Decoder(connectionOptions(options.url));
    decoder.heartbeatNs = BigInt(Math.max(1, options.heartbeatMs)) * 1_000_000n;
    decoder.tableInfo = (event) => this.tableInfo(event);
    this.decoder = decoder;
  }

  /** Starts reading at `from` (a transaction boundary); resolves once the dump is requested. */
  static async open(options: BinlogStreamOptions): Promise<BinlogStream> {
    const stream = new BinlogStream(options);
    await stream.start();
    return stream;
  }

  private start(): Promise<void> {
    const d = this.decoder;
    return new Promise<void>((resolve, reject) => {
      let started = false;
      d.on("error", (err: Error) => {
        const e = this.classify(err);
        if (!started) {
          started = true;
          reject(e);
        }
        this.fail(e);
      });
      d.on("ready", () => {
        started = true;
        // A connection the server ends without an error (a KILL of the dump thread, a shutdown) must not
        // leave the stream waiting forever.
        d.connection?.once("end", () => this.fail(unreachable("the server ended the binlog connection")));
        resolve();
      });
      d.on("binlog", (event: AnyBinlogEvent) => this.onEvent(event));
      d.start({
        serverId: this.options.serverId,
        filename: this.options.from.file,
        position: this.options.from.pos,
        includeEvents: [
          "rotate",
          "gtid",
          "anonymousgtid",
          "mariadbgtid",
          "query",
          "tablemap",
          "writerows",
          "updaterows",
          "deleterows",
          "xid",
          "xaprepare",
          "heartbeat",
        ],
        includeSchema: this.options.tracker.includeSchema(),
      });
    });
  }

  private classify(err: Error): Error {
    const e = err as Error & { errno?: number; code?: string; fatal?: boolean };
    // ER_MASTER_FATAL_ERROR_READING_BINLOG: the file or position is not (or no longer) on the server.
    if (e.errno === 1236)
      return positionLost(
        `the server cannot stream from ${serializePosition(this.options.from)}: ${e.message}. ` +
          "Its binlog was purged past the connector's position (raise binlog_expire_logs_seconds); " +
          "re-snapshot the source (snapshot mode when_needed does it by itself)",
        { position: serializePosition(this.options.from) },
      );
    if ((e as { code?: string }).code === "MESH_SOURCE_POSITION_LOST" || e.name === "MeshError") return e;
    return unreachable(`the binlog connection failed: ${e.message}`, err);
  }

  // ---- the decoder's side (synchronous, in packet order) ----

  private onEvent(event: AnyBinlogEvent): void {
    if (this.closed) return;
    if (event.getEventName() === "query") {
      // Cached column metadata of tables a DDL statement names is stale from here on: the decoder must ask
      // again at their next TABLE_MAP, which waits until the worker has re-read them.
      const q = event as QueryEvent;
      const statement = recognize(q.query, q.schema);
      (q as QueryEvent & { statement?: Statement }).statement = statement;
      if (statement.kind === "ddl" || statement.kind === "truncate")
        this.forgetDecoderTables(statement.tables);
      else if (statement.kind === "drop-database") this.forgetDecoderDatabase(statement.db);
    }
    this.input.push(event);
    if (this.backlog() > HIGH_WATER) this.decoder.connection?.pause();
    if (!this.working) void this.work();
  }

  private forgetDecoderTables(tables: readonly TableName[]): void {
    const names = new Set(tables.map((t) => `${t.db}.${t.table}`));
    for (const [id, entry] of Object.entries(this.decoder.tableMap))
      if (names.has(`${entry.parentSchema}.${entry.tableName}`)) delete this.decoder.tableMap[Number(id)];
  }

  private forgetDecoderDatabase(db: string): void {
    for (const [id, entry] of Object.entries(this.decoder.tableMap))
      if (entry.parentSchema === db) delete this.decoder.tableMap[Number(id)];
  }

  /** The decoder needs a table's columns (a TABLE_MAP it has not cached): once the worker caught up. */
  private async tableInfo(event: TableMapEvent): Promise<readonly DecoderColumnSchema[]> {
    this.fetching++;
    try {
      await this.idle();
      const target = this.resolve(event);
      this.targets.set(event.tableId, target);
      if (target?.kind === "table") return target.version.decoderColumns.slice(0, event.columnCount);
      // The signal table, or a table whose version cannot be resolved (the error is already raised).
      const signal = this.options.tracker.current(`${event.schemaName}.${event.tableName}`);
      if (!signal)
        throw positionLost(
          `the binlog holds rows of ${event.schemaName}.${event.tableName}, which no longer exists`,
        );
      return signal.decoderColumns;
    } finally {
      this.fetching--;
    }
  }

  private idle(): Promise<void> {
    if (!this.working && this.inputHead >= this.input.length) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private backlog(): number {
    return this.input.length - this.inputHead + this.pending.length;
  }

  // ---- the worker (in order; awaits only DDL's catalogue reads) ----

  private async work(): Promise<void> {
    this.working = true;
    try {
      while (this.inputHead < this.input.length && !this.closed) {
        const event = this.input[this.inputHead++] as AnyBinlogEvent;
        if (this.inputHead > 1024 && this.inputHead * 2 > this.input.length) {
          this.input = this.input.slice(this.inputHead);
          this.inputHead = 0;
        }
        const step = this.process(event);
        if (step) await step;
      }
    } catch (err) {
      this.fail(err as Error);
    } finally {
      this.working = false;
      if (this.inputHead >= this.input.length) {
        this.input = [];
        this.inputHead = 0;
      }
      for (const w of this.idleWaiters.splice(0)) w();
      this.signal();
    }
  }

  private process(event: AnyBinlogEvent): Promise<void> | void {
    const name = event.getEventName();
    if (name === "query") return this.query(event as QueryEvent & { statement?: Statement });
    if (name === "tablemap") {
      const e = event as TableMapEvent;
      if (!this.targets.has(e.tableId)) this.targets.set(e.tableId, this.resolve(e));
      return;
    }
    const item = itemOf(event, this.file, (id) => this.targets.get(id));
    if (!item) return;
    if (item.t === "rotate") this.file = item.file;
    this.grouper.handle(item, this.pending);
    this.signal();
  }

  private async query(event: QueryEvent & { statement?: Statement }): Promise<void> {
    const statement = event.statement ?? recognize(event.query, event.schema);
    const tracker = this.options.tracker;
    let changed: SourceTable[] = [];
    if (statement.kind === "ddl") changed = await tracker.refresh(statement.tables);
    else if (statement.kind === "drop-database") changed = await tracker.refreshDatabase(statement.db);
    if (statement.kind === "ddl" || statement.kind === "drop-database") {
      // Table ids of the named tables map to old versions: forget them (the next TABLE_MAP resolves anew).
      for (const [id, target] of this.targets) {
        if (target?.kind !== "table") continue;
        const t = target.version.table;
        const named =
          statement.kind === "drop-database"
            ? t.schema === statement.db
            : statement.tables.some((n) => n.db === t.schema && n.table === t.table);
        if (named) this.targets.delete(id);
      }
    }
    const item: BinlogItem = { t: "query", statement, timestampMs: event.timestamp, end: event.nextPosition };
    for (const table of changed) this.grouper.handle({ t: "schema", table }, this.pending);
    this.grouper.handle(item, this.pending);
    this.signal();
  }

  private resolve(event: TableMapEvent): Target | null {
    const tracker = this.options.tracker;
    const role = tracker.role(event.schemaName, event.tableName);
    if (role === null) return null;
    if (role === "signal") return { kind: "signal" };
    return {
      kind: "table",
      version: tracker.resolve(tableMapFacts(event), `${this.file}:${event.nextPosition}`),
    };
  }

  private truncated(tables: readonly TableName[]): SourceTable[] {
    const out: SourceTable[] = [];
    for (const t of tables) {
      if (this.options.tracker.role(t.db, t.table) !== "captured") continue;
      const v = this.options.tracker.current(`${t.db}.${t.table}`);
      if (v) out.push(v.table);
    }
    return out;
  }

  // ---- the runtime's side ----

  private fail(err: Error): void {
    if (this.error || this.closed) return;
    this.error = err;
    this.options.logger.warn({ err: err.message }, "binlog stream failed");
    this.signal();
  }

  private signal(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<readonly StreamEvent<MysqlPosition>[]> {
    for (;;) {
      if (this.pending.length > 0) {
        let batch: StreamEvent<MysqlPosition>[];
        if (this.pending.length <= MAX_BATCH) {
          batch = this.pending;
          this.pending = [];
        } else batch = this.pending.splice(0, MAX_BATCH);
        if (this.backlog() < LOW_WATER && this.fetching === 0) this.decoder.connection?.resume();
        yield batch;
        continue;
      }
      if (this.error) throw this.error;
      if (this.closed) return;
      if (this.fetching === 0) this.decoder.connection?.resume();
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Nothing to release on the server: the connector's position lives in `_mesh_offsets`. */
  confirm(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.signal();
    for (const w of this.idleWaiters.splice(0)) w();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2_000);
      this.decoder.once("stopped", () => {
        clearTimeout(timer);
        resolve();
      });
      this.decoder.stop();
    });
  }

  /** The last transaction boundary handed out (for tests and logs). */
  get position(): MysqlPosition {
    return this.grouper.position;
  }
}
