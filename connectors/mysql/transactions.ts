// Groups the binlog's events into source transactions, in log order: a GTID event (MariaDB's, MySQL's or an
// anonymous one) or a BEGIN opens a group; XID, COMMIT, ROLLBACK (non-transactional engines) or XA PREPARE
// closes it; a statement outside BEGIN (DDL, TRUNCATE) is a group of its own. A group's `begin` is yielded
// at its first captured change, so groups that touch no captured table (other databases, DDL, the
// connector's own signal rows) become one `progress` instead of empty transactions. Positions advance at
// group ends only: a stored position never points inside a transaction. Pure: the shell (binlog-stream.ts)
// decodes the events and resolves each row event's table version.
import type { Row, SourceTable, StreamEvent } from "../core/backend.ts";
import type { MysqlPosition } from "./binlog-position.ts";
import type { Statement, TableName } from "./ddl.ts";
import { advanceGtidState, gtidSequence, parseGtidState, type GtidState } from "./gtid.ts";
import { convertRow, type TableVersion } from "./table-version.ts";

/** A decoded binlog event, reduced to what grouping needs. `end`: its end offset in the current file. */
export type BinlogItem =
  | { t: "rotate"; file: string; pos: number }
  /** Group start. `gtid` null: anonymous (MySQL without GTIDs). `standalone`: MariaDB's flag (DDL). */
  | { t: "gtid"; gtid: string | null; standalone: boolean; timestampMs: number; end: number }
  | { t: "query"; statement: Statement; timestampMs: number; end: number }
  | {
      t: "rows";
      op: "c" | "u" | "d";
      /** Where the rows go: a captured (or outbox) table's version, or the signal table. */
      target: { kind: "table"; version: TableVersion } | { kind: "signal" };
      /** Inserts and deletes: rows; updates: {before, after}; decoded by column name. */
      rows: readonly Record<string, unknown>[];
      timestampMs: number;
      end: number;
    }
  | { t: "xid"; end: number }
  | { t: "xa-prepare"; end: number }
  /** The server's keepalive while idle: everything before `pos` of `file` was sent. */
  | { t: "heartbeat"; file: string; pos: number }
  /** A table version to announce now (after DDL), before any change under it. */
  | { t: "schema"; table: SourceTable };

interface Group {
  gtid: string | null;
  /** An explicit transaction (BEGIN, or MariaDB's non-standalone GTID): it ends at XID/COMMIT. */
  open: boolean;
  begun: boolean;
  timestampMs: number;
  startPos: number;
  watermarks: { chunk: string; edge: "low" | "high" }[];
}

export interface GrouperOptions {
  /** Where the stream starts (a group boundary). */
  start: MysqlPosition;
  /** Truncated tables that are captured (their current versions), in statement order. */
  truncated: (tables: readonly TableName[]) => SourceTable[];
  /** Signal-table rows are watermarks of this source only (several sources may share the table). */
  source: string;
}

export class TransactionGrouper {
  private readonly options: GrouperOptions;
  private file: string;
  private pos: number;
  private readonly gtids: GtidState | null;
  private group: Group | null = null;
  /** The last version announced per table: a change under another one announces it first. */
  private readonly announced = new Map<string, SourceTable>();
  private resumable: MysqlPosition;

  constructor(options: GrouperOptions) {
    this.options = options;
    this.file = options.start.file;
    this.pos = options.start.pos;
    this.gtids = options.start.gtids === null ? null : parseGtidState(options.start.gtids);
    this.resumable = options.start;
  }

  /** The last group boundary handled (where a restart would resume). */
  get position(): MysqlPosition {
    return this.resumable;
  }

  /** True between a group's start and end (a stop now would replay the group from its start). */
  get inTransaction(): boolean {
    return this.group !== null;
  }

  handle(item: BinlogItem, out: StreamEvent<MysqlPosition>[]): void {
    switch (item.t) {
      case "rotate":
        this.file = item.file;
        this.pos = item.pos;
        return;
      case "gtid":
        // A group start implies the previous group ended (a commit marker filtered or lost is no reason to
        // run two transactions together).
        if (this.group) this.end(this.pos, out);
        this.group = this.newGroup(item.gtid, !item.standalone, item.timestampMs);
        this.advance(item.end);
        return;
      case "query":
        return this.query(item, out);
      case "rows":
        return this.rows(item, out);
      case "xid":
      case "xa-prepare":
        this.advance(item.end);
        if (this.group) this.end(this.pos, out);
        return;
      case "heartbeat":
        if (this.group) return;
        if (item.file !== this.file) {
          this.file = item.file;
          this.pos = 0;
        }
        this.advance(item.pos);
        this.progress(out);
        return;
      case "schema":
        this.announce(item.table, out);
        return;
    }
  }

  private newGroup(gtid: string | null, open: boolean, timestampMs: number): Group {
    return { gtid, open, begun: false, timestampMs, startPos: this.pos, watermarks: [] };
  }

  private advance(end: number): void {
    // MariaDB leaves end_log_pos 0 on events inside a transaction; only boundaries carry it.
    if (end > 0) this.pos = end;
  }

  private query(item: Extract<BinlogItem, { t: "query" }>, out: StreamEvent<MysqlPosition>[]): void {
    const s = item.statement;
    if (s.kind === "begin") {
      if (this.group) this.group.open = true;
      else this.group = this.newGroup(null, true, item.timestampMs);
      this.advance(item.end);
      return;
    }
    this.advance(item.end);
    if (this.group?.open && s.kind !== "commit" && s.kind !== "rollback") return;
    // Outside an explicit transaction a statement is its own group (DDL and TRUNCATE commit implicitly).
    const group = this.group ?? (this.group = this.newGroup(null, false, item.timestampMs));
    if (s.kind === "truncate") {
      const tables = this.options.truncated(s.tables);
      if (tables.length > 0) {
        for (const table of tables) this.announce(table, out);
        this.begin(group, out);
        out.push({ kind: "truncate", tables, position: this.here(group) });
      }
    }
    this.end(this.pos, out);
  }

  private rows(item: Extract<BinlogItem, { t: "rows" }>, out: StreamEvent<MysqlPosition>[]): void {
    // Row events outside any group (a stream that started mid-transaction cannot happen: positions are
    // boundaries) still get one of their own, so nothing is dropped.
    const group = this.group ?? (this.group = this.newGroup(null, true, item.timestampMs));
    if (item.target.kind === "signal") {
      for (const raw of item.rows) {
        const row = item.op === "u" ? (raw as { after: Record<string, unknown> }).after : raw;
        const edge = row.edge;
        if (item.op !== "c" || row.source !== this.options.source) continue;
        if (typeof row.chunk === "string" && (edge === "low" || edge === "high"))
          group.watermarks.push({ chunk: row.chunk, edge });
      }
      return;
    }
    const version = item.target.version;
    const table = version.table;
    this.announce(table, out);
    this.begin(group, out);
    const position: MysqlPosition = {
      file: this.file,
      pos: item.end || this.pos,
      gtids: null,
      gtid: group.gtid,
    };
    for (const raw of item.rows) {
      if (item.op === "u") {
        const pair = raw as { before: Record<string, unknown>; after: Record<string, unknown> };
        out.push({
          kind: "change",
          table,
          op: "u",
          before: convertRow(version, pair.before),
          after: convertRow(version, pair.after),
          position,
        });
      } else {
        const row: Row = convertRow(version, raw);
        out.push({
          kind: "change",
          table,
          op: item.op,
          before: item.op === "d" ? row : null,
          after: item.op === "c" ? row : null,
          position,
        });
      }
    }
  }

  private announce(table: SourceTable, out: StreamEvent<MysqlPosition>[]): void {
    if (this.announced.get(table.qualified) === table) return;
    this.announced.set(table.qualified, table);
    out.push({ kind: "schema", table });
  }

  private begin(group: Group, out: StreamEvent<MysqlPosition>[]): void {
    if (group.begun) return;
    group.begun = true;
    const position: MysqlPosition = { file: this.file, pos: group.startPos, gtids: null, gtid: group.gtid };
    out.push({
      kind: "begin",
      id: group.gtid ?? `${this.file}:${group.startPos}`,
      txId: group.gtid === null ? null : gtidSequence(group.gtid),
      commitMicros: BigInt(group.timestampMs) * 1000n,
      position,
    });
  }

  private here(group: Group): MysqlPosition {
    return { file: this.file, pos: this.pos, gtids: null, gtid: group.gtid };
  }

  /** Ends the current group at `pos`: its commit (or a progress when it changed nothing captured). */
  private end(pos: number, out: StreamEvent<MysqlPosition>[]): void {
    const group = this.group;
    this.group = null;
    if (!group) return;
    if (group.gtid !== null && this.gtids) advanceGtidState(this.gtids, group.gtid);
    const position: MysqlPosition = {
      file: this.file,
      pos,
      gtids: this.gtids ? this.gtids.toString() : null,
      gtid: group.gtid,
    };
    this.resumable = position;
    if (group.begun) out.push({ kind: "commit", position });
    for (const w of group.watermarks) out.push({ kind: "watermark", chunk: w.chunk, edge: w.edge, position });
    if (!group.begun && group.watermarks.length === 0) this.pushProgress(position, out);
  }

  private progress(out: StreamEvent<MysqlPosition>[]): void {
    const position: MysqlPosition = {
      file: this.file,
      pos: this.pos,
      gtids: this.gtids ? this.gtids.toString() : null,
      gtid: null,
    };
    this.resumable = position;
    this.pushProgress(position, out);
  }

  private pushProgress(position: MysqlPosition, out: StreamEvent<MysqlPosition>[]): void {
    // Consecutive progress events (a busy server's other databases) collapse into the last one.
    const last = out[out.length - 1];
    if (last?.kind === "progress") last.position = position;
    else out.push({ kind: "progress", position });
  }
}
