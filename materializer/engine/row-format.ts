// How one view stores its rows: positional arrays in a fixed column order (the relation's needed columns,
// the view's output columns) encoded with engine/codec.ts, so no column name is written per row.
import type { Relation, ViewPlan } from "../sql/plan.ts";
import { decodeValue, encodeArray, encodeSpliced, encodeValue, lastArrayMarks } from "./codec.ts";
import type { Row } from "./shape.ts";

export interface StoredRow {
  /** Source partition: a truncate on partition p removes exactly the rows that came from p. */
  p: number;
  r: Row;
}

export interface StoredViewRow {
  k: unknown[];
  v: Row;
  /** Single-table views only: the source partition of the row (for truncates). */
  p: number;
}

export interface StoredChange {
  seq: number;
  /**
   * When the change was applied (ms since the epoch; never less than the view's previous entry, so a time
   * can be found by binary search over seq). Given: stored as is; absent: stamped by packChange. Entries
   * written before times were kept have none.
   */
  at?: number;
  op: "insert" | "update" | "delete";
  key: unknown[];
  before: Row | null;
  after: Row | null;
}

export class RowFormat {
  private readonly tableCols: string[][];
  private readonly viewCols: string[];
  private readonly replica: boolean;

  constructor(plan: ViewPlan) {
    this.tableCols = plan.relations.map((r: Relation) => r.needed);
    this.viewCols = plan.columns.map((c) => c.name);
    this.replica = plan.relations.length === 1;
  }

  private toArray(cols: string[], row: Row): unknown[] {
    return cols.map((c) => row[c] ?? null);
  }

  private toRow(cols: string[], values: unknown[], offset: number): Row {
    const row: Row = {};
    for (let i = 0; i < cols.length; i++) row[cols[i] as string] = values[i + offset] ?? null;
    return row;
  }

  packTable(rel: number, stored: StoredRow): Buffer {
    return encodeArray([stored.p], this.toArray(this.tableCols[rel] ?? [], stored.r));
  }

  unpackTable(rel: number, buf: Uint8Array): StoredRow {
    const a = decodeValue(buf) as unknown[];
    return { p: a[0] as number, r: this.toRow(this.tableCols[rel] ?? [], a, 1) };
  }

  /** The clock that stamps feed entries (the engine's `now` option in tests). */
  clock: () => number = () => Date.now();
  /** The newest stamp so far: a clock stepping back never makes the feed's times go down. */
  private lastAt = 0;

  /** The last packView result and its byte marks (codec.ts), which packChange reuses for the same row. */
  private lastView: Buffer | null = null;
  private lastMarks = { firstEnd: 0, valuesStart: 0 };

  packView(k: unknown[], v: Row, p = 0): Buffer {
    const values = this.toArray(this.viewCols, v);
    const out = encodeArray(this.replica ? [k, p] : [k], values);
    this.lastView = out;
    this.lastMarks = lastArrayMarks();
    return out;
  }

  unpackView(buf: Uint8Array): StoredViewRow {
    const a = decodeValue(buf) as unknown[];
    return this.replica
      ? { k: a[0] as unknown[], p: a[1] as number, v: this.toRow(this.viewCols, a, 2) }
      : { k: a[0] as unknown[], p: 0, v: this.toRow(this.viewCols, a, 1) };
  }

  /**
   * `afterView`: the packView bytes of (c.key, c.after), when the caller has them; if they are the last
   * packView result the entry copies the key and values from them instead of encoding them again.
   */
  packChange(c: StoredChange, afterView?: Buffer): Buffer {
    const img = (r: Row | null): unknown[] | null => (r ? this.toArray(this.viewCols, r) : null);
    // The entry's head is [seq, at] (it was a bare seq before times were kept: unpackChange reads both).
    const at = c.at ?? Math.max(this.clock(), this.lastAt);
    this.lastAt = Math.max(this.lastAt, at);
    const head = [c.seq, at];
    if (afterView && afterView === this.lastView)
      return encodeSpliced(head, c.op, afterView, this.lastMarks, this.viewCols.length, img(c.before));
    return encodeValue([head, c.op, c.key, img(c.before), img(c.after)]);
  }

  unpackChange(buf: Uint8Array): StoredChange {
    const [head, op, key, before, after] = decodeValue(buf) as [
      number | [number, number],
      StoredChange["op"],
      unknown[],
      unknown[] | null,
      unknown[] | null,
    ];
    const seq = Array.isArray(head) ? head[0] : head;
    const at = Array.isArray(head) ? head[1] : undefined;
    return {
      seq,
      ...(at === undefined ? {} : { at }),
      op,
      key,
      before: before ? this.toRow(this.viewCols, before, 0) : null,
      after: after ? this.toRow(this.viewCols, after, 0) : null,
    };
  }
}
