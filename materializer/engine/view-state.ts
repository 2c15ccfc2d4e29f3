// One view's state in LevelDB and the apply step: a list of input-row changes (a whole source transaction,
// or several) becomes ONE LevelDB batch holding the input rows, their join indexes, the view rows that
// changed, the view's secondary indexes, the change feed and whatever the caller adds (consumed offsets).
// Readers never see half a batch, and a crash before the batch leaves the previous state and offsets.
import type { AbstractBatchOperation } from "abstract-level";
import { encodeKey } from "../keys/encoding.ts";
import type { Relation, ViewPlan } from "../sql/plan.ts";
import { drivingKeys, recompute, type ViewRow } from "./join.ts";
import { sameValue } from "./codec.ts";
import { Layout, pack, unpack } from "./layout.ts";
import { Pending, Reader, type Db, type RowCache, type ScanCache } from "./reader.ts";
import { RowFormat } from "./row-format.ts";
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
  /** Set once the view first caught up: from then on every batch writes change-feed entries. */
  live?: boolean;
}

export class ViewState {
  readonly plan: ViewPlan;
  readonly layout: Layout;
  readonly shape: JoinShape;
  readonly format: RowFormat;
  /** One relation, no joins: no input rows are kept (see apply). */
  readonly replica: boolean;
  private readonly db: Db;
  private meta: Meta = { seq: 0, rows: 0 };
  private readonly relsByTopic = new Map<string, number[]>();
  /** Key kinds of each declared index's columns (computed once: viewIndex runs per changed row). */
  private readonly indexKinds: ReturnType<JoinShape["kinds"]>[] = [];

  constructor(db: Db, plan: ViewPlan) {
    this.db = db;
    this.plan = plan;
    this.layout = new Layout(plan.name);
    this.shape = new JoinShape(plan);
    this.format = new RowFormat(plan);
    this.replica = plan.relations.length === 1;
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

  /** The view caught up for the first time: start the change feed (persisted, so restarts keep feeding). */
  async markLive(): Promise<void> {
    if (this.meta.live) return;
    this.meta.live = true;
    await this.db.put(this.layout.meta(), pack(this.meta));
  }

  get stats(): Meta {
    return { ...this.meta };
  }

  topics(): string[] {
    return [...this.relsByTopic.keys()];
  }

  /**
   * Applies changes in order as one atomic batch (plus `extra` ops); returns the view's changes. With
   * `feed: false` (backfill) no change-feed entries are written: a feed reader starts from the rows.
   */
  async apply(
    changes: readonly TableChange[],
    extra: BatchOp[] = [],
    options: { feed?: boolean } = {},
  ): Promise<ViewChange[]> {
    const feed = options.feed ?? this.meta.live === true;
    const pending = new Pending();
    await this.collect(changes, pending);
    pending.indexRows(this.shape);
    const cache: RowCache = new Map();
    const scans: ScanCache = new Map();
    const s0 = new Reader(this.db, this.layout, this.format, null, cache, scans);
    const s1 = new Reader(this.db, this.layout, this.format, pending, cache, scans);

    const ops: BatchOp[] = [];
    const affected = new Map<string, Buffer>();
    // Single-table views: the source partition of each driving row (stored in the view row for truncates).
    const partitions = new Map<string, number>();
    const touched = [...pending.rows.values()];
    if (this.replica) {
      // A single-table view keeps no input rows: its view rows are the state, keyed by the table's key.
      for (const p of touched) {
        const id = p.pk.toString("latin1");
        affected.set(id, p.pk);
        partitions.set(id, p.row?.p ?? 0);
      }
    } else
      // One getMany per relation, concurrently (each is a thread-pool round trip).
      await Promise.all(
        this.plan.relations.map((_, rel) =>
          s0.prefetch(
            rel,
            touched.filter((p) => p.rel === rel).map((p) => p.pk),
          ),
        ),
      );
    const olds: { rel: number; row: Row }[] = [];
    const news: { rel: number; row: Row }[] = [];
    for (const p of this.replica ? [] : touched) {
      const hit = s0.peek(p.rel, p.pk);
      const old = hit !== undefined ? hit : await s0.get(p.rel, p.pk);
      if (old) olds.push({ rel: p.rel, row: old });
      const newKeys = p.row ? this.joinKeys(p.rel, p.pk, p.row.r) : [];
      // An index entry whose key stays (join columns unchanged) is overwritten by its put: no del needed.
      if (old)
        for (const key of this.joinKeys(p.rel, p.pk, old))
          if (!newKeys.some((k) => k.equals(key))) ops.push({ type: "del", key });
      if (p.row) {
        news.push({ rel: p.rel, row: p.row.r });
        const packed = this.format.packTable(p.rel, p.row);
        ops.push({ type: "put", key: this.layout.tableRow(p.rel, p.pk), value: packed });
        // Join index entries carry a copy of the stored input row (same bytes as the T entry), so an index
        // scan yields the rows without a second LevelDB read (entries with an empty value, written by older
        // versions, make the reader fall back to a get).
        for (const key of newKeys) ops.push({ type: "put", key, value: packed });
      } else if (old) ops.push({ type: "del", key: this.layout.tableRow(p.rel, p.pk) });
    }
    await drivingKeys(this.shape, s0, olds, affected);
    await drivingKeys(this.shape, s1, news, affected);

    const out: ViewChange[] = [];
    const drivers = [...affected.values()];
    // The stored view rows and the recomputed ones are independent reads: overlap their round trips.
    const [stored, computed] = await Promise.all([
      this.storedRows(drivers),
      recompute(this.shape, s1, drivers),
    ]);
    for (const dpk of drivers) {
      const id = dpk.toString("latin1");
      const before = stored.get(id) ?? new Map<string, ViewRow>();
      for (const row of computed.get(id) ?? []) {
        const rid = row.key.toString("latin1");
        const old = before.get(rid);
        before.delete(rid);
        if (old && sameRow(old.v, row.v)) continue;
        const partition = partitions.get(id) ?? 0;
        ops.push({
          type: "put",
          key: this.layout.viewRow(row.key),
          value: this.format.packView(row.k, row.v, partition),
        });
        if (old) this.viewIndex(old.key, old.v, "del", ops);
        this.viewIndex(row.key, row.v, "put", ops);
        if (feed) out.push(this.change(old ? "update" : "insert", row.k, old?.v ?? null, row.v, ops));
        if (!old) this.meta.rows++;
      }
      for (const old of before.values()) {
        ops.push({ type: "del", key: this.layout.viewRow(old.key) });
        this.viewIndex(old.key, old.v, "del", ops);
        if (feed) out.push(this.change("delete", old.k, old.v, null, ops));
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
        if (c.op === "truncate" && this.replica) {
          for await (const [key, value] of this.db.iterator(
            Layout.range(this.layout.viewRow(Buffer.alloc(0))),
          )) {
            const pk = Buffer.from(key.subarray(this.layout.viewRow(Buffer.alloc(0)).length));
            if (this.format.unpackView(value).p === c.partition && !pending.get(rel, pk))
              pending.set(rel, pk, null);
          }
          for (const p of pending.rows.values()) if (p.row?.p === c.partition) p.row = null;
          continue;
        }
        if (c.op === "truncate") {
          for await (const [key, value] of this.db.iterator(Layout.range(this.layout.section(0x54, rel)))) {
            const pk = Buffer.from(key.subarray(this.layout.tableRow(rel, Buffer.alloc(0)).length));
            if (this.format.unpackTable(rel, value).p === c.partition && !pending.get(rel, pk))
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

  /** The join index keys (layout J) of a row of `rel`: one per index set whose columns are all non-NULL. */
  private joinKeys(rel: number, pk: Buffer, row: Row): Buffer[] {
    const out: Buffer[] = [];
    (this.shape.sets[rel] ?? []).forEach((set, s) => {
      const vals = this.shape.values(rel, row, set.cols);
      if (vals) out.push(this.layout.joinIndex(rel, s, encodeKey(vals, set.kinds), pk));
    });
    return out;
  }

  private viewIndex(viewKey: Buffer, v: Row, type: "put" | "del", ops: BatchOp[]): void {
    this.plan.indexes.forEach((cols, i) => {
      const kinds = (this.indexKinds[i] ??= cols.map((c) => this.columnKind(c)));
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
    ops.push({ type: "put", key: this.layout.change(change.seq), value: this.format.packChange(change) });
    return change;
  }

  /** The view rows currently stored for each driving key (a driving key is a prefix of its view rows' keys). */
  private async storedRows(drivingPks: Buffer[]): Promise<Map<string, Map<string, ViewRow>>> {
    const out = new Map<string, Map<string, ViewRow>>();
    const base = this.layout.viewRow(Buffer.alloc(0)).length;
    const single = this.shape.steps.every((s) => (this.plan.relations[s.rel] as Relation).manyToOne);
    if (single) {
      // Only many-to-one joins: the view key is the driving key, so one getMany serves the whole batch.
      const values =
        drivingPks.length > 0 ? await this.db.getMany(drivingPks.map((pk) => this.layout.viewRow(pk))) : [];
      drivingPks.forEach((pk, i) => {
        const buf = values[i];
        const id = pk.toString("latin1");
        out.set(id, buf ? new Map([[id, { key: pk, ...this.format.unpackView(buf) }]]) : new Map());
      });
      return out;
    }
    await Promise.all(
      drivingPks.map(async (pk) => {
        const rows = new Map<string, ViewRow>();
        for await (const [key, value] of this.db.iterator(Layout.range(this.layout.viewRow(pk)))) {
          const viewKey = Buffer.from(key.subarray(base));
          rows.set(viewKey.toString("latin1"), { key: viewKey, ...this.format.unpackView(value) });
        }
        out.set(pk.toString("latin1"), rows);
      }),
    );
    return out;
  }
}

function sameRow(a: Row, b: Row): boolean {
  return sameValue(a, b);
}
