// One view's state in LevelDB and the apply step: a list of input-row changes (a whole source transaction,
// or several) becomes ONE LevelDB batch holding the input rows, their join indexes, the view rows that
// changed, the view's secondary indexes, the change feed and whatever the caller adds (consumed offsets).
// Readers never see half a batch, and a crash before the batch leaves the previous state and offsets.
import type { AbstractBatchOperation } from "abstract-level";
import { encodeKey } from "../keys/encoding.ts";
import type { Relation, ViewPlan } from "../sql/plan.ts";
import { drivingKeys, recompute, type ViewRow } from "./join.ts";
import { Layout, pack, unpack } from "./layout.ts";
import { Pending, Reader, type Db, type StoredRow } from "./reader.ts";
import { JoinShape, type Row } from "./shape.ts";

export type BatchOp = AbstractBatchOperation<Db, Buffer, Buffer>;

/** One change to an input table, already decoded (kafka/decode.ts makes these from envelopes). */
export type TableChange =
  | { op: "upsert"; topic: string; partition: number; key: unknown[]; row: Row }
  | { op: "delete"; topic: string; partition: number; key: unknown[] }
  | { op: "truncate"; topic: string; partition: number };

export interface ViewChange {
  seq: number;
  op: "insert" | "update" | "delete";
  key: unknown[];
  before: Row | null;
  after: Row | null;
}

export interface Meta {
  seq: number;
  rows: number;
}

interface StoredViewRow {
  k: unknown[];
  v: Row;
}

export class ViewState {
  readonly plan: ViewPlan;
  readonly layout: Layout;
  readonly shape: JoinShape;
  private readonly db: Db;
  private meta: Meta = { seq: 0, rows: 0 };
  private readonly relsByTopic = new Map<string, number[]>();

  constructor(db: Db, plan: ViewPlan) {
    this.db = db;
    this.plan = plan;
    this.layout = new Layout(plan.name);
    this.shape = new JoinShape(plan);
    plan.relations.forEach((r, i) => {
      const list = this.relsByTopic.get(r.table.topic) ?? [];
      list.push(i);
      this.relsByTopic.set(r.table.topic, list);
    });
  }

  async load(): Promise<Meta> {
    const buf = await this.db.get(this.layout.meta());
    if (buf) this.meta = unpack<Meta>(buf);
    return { ...this.meta };
  }

  get stats(): Meta {
    return { ...this.meta };
  }

  topics(): string[] {
    return [...this.relsByTopic.keys()];
  }

  /** Applies changes in order as one atomic batch (plus `extra` ops); returns the view's changes. */
  async apply(changes: readonly TableChange[], extra: BatchOp[] = []): Promise<ViewChange[]> {
    const pending = new Pending();
    await this.collect(changes, pending);
    pending.indexRows(this.shape);
    const s0 = new Reader(this.db, this.layout, null);
    const s1 = new Reader(this.db, this.layout, pending);

    const ops: BatchOp[] = [];
    const affected = new Map<string, Buffer>();
    for (const p of pending.rows.values()) {
      const old = await s0.get(p.rel, p.pk);
      if (old) {
        await drivingKeys(this.shape, s0, p.rel, old, affected);
        this.unindexRow(p.rel, p.pk, old, ops);
      }
      if (p.row) {
        await drivingKeys(this.shape, s1, p.rel, p.row.r, affected);
        ops.push({ type: "put", key: this.layout.tableRow(p.rel, p.pk), value: pack(p.row) });
        this.indexRow(p.rel, p.pk, p.row.r, ops);
      } else if (old) ops.push({ type: "del", key: this.layout.tableRow(p.rel, p.pk) });
    }

    const out: ViewChange[] = [];
    for (const dpk of affected.values()) {
      const before = await this.storedRows(dpk);
      const after = await recompute(this.shape, s1, dpk);
      for (const row of after) {
        const id = row.key.toString("latin1");
        const old = before.get(id);
        before.delete(id);
        if (old && sameRow(old.v, row.v)) continue;
        ops.push({
          type: "put",
          key: this.layout.viewRow(row.key),
          value: pack({ k: row.k, v: row.v } satisfies StoredViewRow),
        });
        if (old) this.viewIndex(old.key, old.v, "del", ops);
        this.viewIndex(row.key, row.v, "put", ops);
        out.push(this.change(old ? "update" : "insert", row.k, old?.v ?? null, row.v, ops));
        if (!old) this.meta.rows++;
      }
      for (const old of before.values()) {
        ops.push({ type: "del", key: this.layout.viewRow(old.key) });
        this.viewIndex(old.key, old.v, "del", ops);
        out.push(this.change("delete", old.k, old.v, null, ops));
        this.meta.rows--;
      }
    }
    ops.push({ type: "put", key: this.layout.meta(), value: pack(this.meta) }, ...extra);
    await this.db.batch(ops);
    return out;
  }

  /** Folds the changes into final images per (relation, key); a truncate clears its partition's rows. */
  private async collect(changes: readonly TableChange[], pending: Pending): Promise<void> {
    for (const c of changes) {
      for (const rel of this.relsByTopic.get(c.topic) ?? []) {
        const relation = this.plan.relations[rel] as Relation;
        if (c.op === "truncate") {
          for await (const [key, value] of this.db.iterator(Layout.range(this.layout.section(0x54, rel)))) {
            const pk = Buffer.from(key.subarray(this.layout.tableRow(rel, Buffer.alloc(0)).length));
            if (unpack<StoredRow>(value).p === c.partition && !pending.get(rel, pk))
              pending.set(rel, pk, null);
          }
          for (const p of pending.rows.values()) if (p.rel === rel && p.row?.p === c.partition) p.row = null;
          continue;
        }
        const pk = encodeKey(c.key, this.shape.keyKinds[rel]);
        if (c.op === "delete") pending.set(rel, pk, null);
        else {
          const r: Row = {};
          for (const col of relation.needed) r[col] = c.row[col] ?? null;
          relation.table.key.forEach((col, i) => (r[col] = c.key[i] ?? null));
          pending.set(rel, pk, { p: c.partition, r });
        }
      }
    }
  }

  private indexRow(rel: number, pk: Buffer, row: Row, ops: BatchOp[]): void {
    (this.shape.sets[rel] ?? []).forEach((set, s) => {
      const vals = this.shape.values(rel, row, set.cols);
      if (vals)
        ops.push({
          type: "put",
          key: this.layout.joinIndex(rel, s, encodeKey(vals, set.kinds), pk),
          value: EMPTY,
        });
    });
  }

  private unindexRow(rel: number, pk: Buffer, row: Row, ops: BatchOp[]): void {
    (this.shape.sets[rel] ?? []).forEach((set, s) => {
      const vals = this.shape.values(rel, row, set.cols);
      if (vals) ops.push({ type: "del", key: this.layout.joinIndex(rel, s, encodeKey(vals, set.kinds), pk) });
    });
  }

  private viewIndex(viewKey: Buffer, v: Row, type: "put" | "del", ops: BatchOp[]): void {
    this.plan.indexes.forEach((cols, i) => {
      const kinds = cols.map((c) => this.columnKind(c));
      const key = this.layout.viewIndex(
        i,
        encodeKey(
          cols.map((c) => v[c] ?? null),
          kinds,
        ),
        viewKey,
      );
      // The value repeats the view key so an index scan needs no decoding of the entry's key.
      ops.push(type === "put" ? { type, key, value: viewKey } : { type, key });
    });
  }

  columnKind(name: string): ReturnType<JoinShape["kinds"]>[number] {
    const c = this.plan.columns.find((o) => o.name === name);
    if (!c) return "any";
    return (this.plan.relations[c.rel] as Relation).kinds[c.column] ?? "any";
  }

  private change(
    op: ViewChange["op"],
    key: unknown[],
    before: Row | null,
    after: Row | null,
    ops: BatchOp[],
  ): ViewChange {
    const change: ViewChange = { seq: ++this.meta.seq, op, key, before, after };
    ops.push({ type: "put", key: this.layout.change(change.seq), value: pack(change) });
    return change;
  }

  /** The view rows currently stored for one driving key (its key is a prefix of theirs). */
  private async storedRows(drivingPk: Buffer): Promise<Map<string, ViewRow>> {
    const rows = new Map<string, ViewRow>();
    const prefix = this.layout.viewRow(drivingPk);
    const base = this.layout.viewRow(Buffer.alloc(0)).length;
    const single = this.shape.steps.every((s) => (this.plan.relations[s.rel] as Relation).manyToOne);
    if (single) {
      // Only many-to-one joins: the view key is the driving key, so a get beats an iterator.
      const buf = await this.db.get(prefix);
      if (buf) rows.set(drivingPk.toString("latin1"), { key: drivingPk, ...unpack<StoredViewRow>(buf) });
      return rows;
    }
    for await (const [key, value] of this.db.iterator(Layout.range(prefix))) {
      const viewKey = Buffer.from(key.subarray(base));
      rows.set(viewKey.toString("latin1"), { key: viewKey, ...unpack<StoredViewRow>(value) });
    }
    return rows;
  }
}

const EMPTY = Buffer.alloc(0);

function sameRow(a: Row, b: Row): boolean {
  return pack(a).equals(pack(b));
}
