// One view's state in LevelDB and the apply step: a list of input-row changes (a whole source transaction,
// or several) becomes ONE LevelDB batch holding the input rows, their join indexes, the view rows that
// changed, the view's secondary indexes, the change feed and whatever the caller adds (consumed offsets).
// Readers never see half a batch, and a crash before the batch leaves the previous state and offsets.
import type { AbstractBatchOperation } from "abstract-level";
import { encodeKey } from "../keys/encoding.ts";
import type { Relation, ViewPlan } from "../sql/plan.ts";
import { evaluate } from "../sql/predicate.ts";
import { drivingKeys, recompute } from "./join.ts";
import { sameValue } from "./codec.ts";
import { Layout, pack, unpack } from "./layout.ts";
import {
  joinEntries,
  Pending,
  Reader,
  type Db,
  type PendingRow,
  type RowCache,
  type ScanCache,
} from "./reader.ts";
import { RowFormat } from "./row-format.ts";
import { JoinShape, type Row } from "./shape.ts";
import { KeyCeiling } from "./key-ceiling.ts";
import { WARM_ROWS, WarmCache, WarmScans } from "./warm-cache.ts";
import {
  commitBatch,
  storedRows,
  truncateReplica,
  viewRows,
  type ReplicaImage,
  type StoredBytes,
} from "./batch-io.ts";

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
  /** Only many-to-one joins (or none): a driving key has exactly one view row, keyed by it. */
  private readonly single: boolean;
  /** Joined relations' input rows (by Pending.id) of recent batches: see warm-cache.ts. */
  private readonly warmRows: WarmCache<Row | null>;
  /** Index scans' results (input keys per join value) of recent batches, kept exact by each batch's delta. */
  private readonly warmScans: WarmScans;
  /** Per relation, the largest stored input key (key-ceiling.ts): a key above it needs no stored-row read. */
  private readonly tableCeilings: KeyCeiling[];
  /** The same for a single-table view's rows (its only stored state). */
  private readonly viewCeiling: KeyCeiling;

  /** `warmRows`: the budget of each warm cache (warm-cache.ts; 0 turns them off). */
  constructor(db: Db, plan: ViewPlan, options: { warmRows?: number } = {}) {
    const warm = options.warmRows ?? WARM_ROWS;
    this.warmRows = new WarmCache(warm);
    this.warmScans = new WarmScans(warm);
    this.db = db;
    this.plan = plan;
    this.layout = new Layout(plan.name);
    this.shape = new JoinShape(plan);
    this.format = new RowFormat(plan);
    this.replica = plan.relations.length === 1;
    this.single = plan.relations.every((r, i) => i === 0 || r.manyToOne);
    this.tableCeilings = plan.relations.map(
      (_, rel) => new KeyCeiling(db, this.layout.tableRow(rel, Buffer.alloc(0))),
    );
    this.viewCeiling = new KeyCeiling(db, this.layout.viewRow(Buffer.alloc(0)));
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
    if (this.replica) return this.applyReplica(changes, extra, feed);
    const pending = new Pending();
    await Promise.all(this.tableCeilings.map((c) => c.load()));
    await this.collect(changes, pending);
    pending.indexRows(this.shape);
    const cache: RowCache = new Map();
    const scans: ScanCache = new Map();
    const warm = { rows: this.warmRows, scans: this.warmScans };
    const s0 = new Reader(this.db, this.layout, this.format, null, cache, scans, warm);
    const s1 = new Reader(this.db, this.layout, this.format, pending, cache, scans, warm);

    const ops: BatchOp[] = [];
    const affected = new Map<string, Buffer>();
    const touched = [...pending.rows.values()];
    // A key above its relation's stored keys (key-ceiling.ts) is known absent without a read: recorded in
    // the batch cache as LevelDB's state, as a read would have. A driving key with no stored input row has
    // no view row either (view rows are derived from it).
    const knownViews = new Map<string, Buffer | null>();
    const stored: PendingRow[] = [];
    for (const p of touched) {
      if (!(this.tableCeilings[p.rel] as KeyCeiling).above(p.pk)) stored.push(p);
      else {
        cache.set(p.id, null);
        if (p.rel === 0 && this.single) knownViews.set(p.key, null);
      }
    }
    // One getMany per relation, concurrently (each is a thread-pool round trip). A changed driving row of
    // a many-to-one view is certain to be recomputed: its stored view row is read in the same round.
    const drivingChanged = this.single ? stored.filter((p) => p.rel === 0) : [];
    const [early] = await Promise.all([
      viewRows(
        this.db,
        this.layout,
        drivingChanged.map((p) => p.pk),
      ),
      ...this.plan.relations.map((_, rel) =>
        s0.prefetch(
          rel,
          stored.filter((p) => p.rel === rel).map((p) => p.pk),
        ),
      ),
    ]);
    drivingChanged.forEach((p, i) => knownViews.set(p.key, early[i] ?? null));
    // Changed rows carry their encoded key and its latin1 id, so the walk builds neither again.
    const olds: { rel: number; row: Row; pk: Buffer; key: string }[] = [];
    const news: { rel: number; row: Row; pk: Buffer; key: string }[] = [];
    // Join index entries added and removed by this batch, to keep the warm index scans exact.
    const indexDelta: { id: string; pk: Buffer; add: boolean }[] = [];
    for (const p of touched) {
      const hit = s0.peek(p.rel, p.pk, p.id);
      const old = hit !== undefined ? hit : await s0.get(p.rel, p.pk, p.id);
      // An input row whose kept columns did not change (an update of columns the view does not use, or a
      // re-sent row) changes no view row: it is stored again (its partition may differ) but not followed.
      const unchanged = old !== null && p.row !== null && sameValue(old, p.row.r);
      if (old && !unchanged) olds.push({ rel: p.rel, row: old, pk: p.pk, key: p.key });
      const newKeys = p.joins ?? [];
      // An index entry whose key stays (join columns unchanged) is overwritten by its put: no del needed.
      if (old)
        for (const entry of joinEntries(this.shape, p.rel, old))
          if (!newKeys.some((k) => k.set === entry.set && k.vals.equals(entry.vals))) {
            ops.push({ type: "del", key: this.layout.joinIndex(p.rel, entry.set, entry.vals, p.pk) });
            indexDelta.push({ id: entry.id, pk: p.pk, add: false });
          }
      if (p.row) {
        if (!unchanged) news.push({ rel: p.rel, row: p.row.r, pk: p.pk, key: p.key });
        const packed = this.format.packTable(p.rel, p.row);
        ops.push({ type: "put", key: this.layout.tableRow(p.rel, p.pk), value: packed });
        // Join index entries carry a copy of the stored input row (same bytes as the T entry), so an index
        // scan yields the rows without a second LevelDB read (entries with an empty value, written by older
        // versions, make the reader fall back to a get).
        for (const entry of newKeys) {
          ops.push({
            type: "put",
            key: this.layout.joinIndex(p.rel, entry.set, entry.vals, p.pk),
            value: packed,
          });
          indexDelta.push({ id: entry.id, pk: p.pk, add: true });
        }
      } else if (old) ops.push({ type: "del", key: this.layout.tableRow(p.rel, p.pk) });
    }
    await drivingKeys(this.shape, s0, olds, affected);
    await drivingKeys(this.shape, s1, news, affected);

    const out: ViewChange[] = [];
    const drivers = [...affected.values()];
    // The stored view rows and the recomputed ones are independent reads: overlap their round trips.
    const [views, computed] = await Promise.all([
      storedRows(this.db, this.layout, this.single, drivers, knownViews),
      recompute(this.shape, s1, drivers),
    ]);
    for (const dpk of drivers) {
      const id = dpk.toString("latin1");
      const before = views.get(id) ?? new Map<string, StoredBytes>();
      for (const row of computed.get(id) ?? []) {
        const rid = row.key.toString("latin1");
        const prev = before.get(rid);
        before.delete(rid);
        // Unchanged bytes: nothing to decode or write.
        const packed = this.format.packView(row.k, row.v);
        if (prev && prev.buf.equals(packed)) continue;
        const old = prev ? { key: prev.key, ...this.format.unpackView(prev.buf) } : null;
        if (old && sameRow(old.v, row.v)) continue;
        ops.push({ type: "put", key: this.layout.viewRow(row.key), value: packed });
        if (old) this.viewIndex(old.key, old.v, "del", ops);
        this.viewIndex(row.key, row.v, "put", ops);
        if (feed) out.push(this.change(old ? "update" : "insert", row.k, old?.v ?? null, row.v, ops, packed));
        if (!old) this.meta.rows++;
      }
      for (const prev of before.values()) {
        const old = this.format.unpackView(prev.buf);
        ops.push({ type: "del", key: this.layout.viewRow(prev.key) });
        this.viewIndex(prev.key, old.v, "del", ops);
        if (feed) out.push(this.change("delete", old.k, old.v, null, ops));
        this.meta.rows--;
      }
    }
    ops.push({ type: "put", key: this.layout.meta(), value: pack(this.meta) }, ...extra);
    await commitBatch(this.db, ops);
    for (const p of touched) if (p.row) (this.tableCeilings[p.rel] as KeyCeiling).raise(p.pk);
    // Committed: the joined relations' rows this batch read from LevelDB (S0), then those it wrote, become
    // warm. Driving rows are not kept: other rows reach them through index entries, which carry them.
    for (const [id, row] of cache) if (!Pending.isDriving(id)) this.warmRows.set(id, row);
    for (const [id, p] of pending.rows) if (p.rel !== 0) this.warmRows.set(id, p.row?.r ?? null);
    for (const d of indexDelta) this.warmScans.update(d.id, d.pk, d.add);
    return out;
  }

  /**
   * apply() for a single-table view, whose view rows are its whole state: fold the changes into a final
   * image per key, read the stored view rows with one getMany and write only the rows whose stored bytes
   * differ (an unchanged row is neither decoded nor rewritten). Same results as the join path, without
   * its input rows, overlays and join walks.
   */
  private async applyReplica(
    changes: readonly TableChange[],
    extra: BatchOp[],
    feed: boolean,
  ): Promise<ViewChange[]> {
    const relation = this.plan.relations[0] as Relation;
    const keyKinds = this.shape.keyKinds[0];
    const finals = new Map<string, ReplicaImage>();
    await this.viewCeiling.load();
    for (const c of changes) {
      if (c.op === "truncate") {
        if (!this.relsByTopic.has(c.topic)) continue;
        await truncateReplica(this.db, this.layout, this.format, c.partition, finals);
        continue;
      }
      if (!this.relsByTopic.has(c.topic)) continue;
      const pk = encodeKey(c.key, keyKinds);
      const id = pk.toString("latin1");
      if (c.op === "delete") {
        finals.set(id, { pk, row: null, p: c.partition });
        continue;
      }
      const r: Row = {};
      for (const col of relation.needed) r[col] = c.row[col] ?? null;
      relation.table.key.forEach((col, i) => (r[col] = c.key[i] ?? null));
      finals.set(id, { pk, row: r, p: c.partition });
    }
    const images = [...finals.values()];
    // Keys above every stored view key (key-ceiling.ts) are known absent: only the others are read.
    const maybe = images.filter((x) => !this.viewCeiling.above(x.pk));
    const found = await viewRows(
      this.db,
      this.layout,
      maybe.map((x) => x.pk),
    );
    let next = 0; // `maybe` is in `images` order: walk both together
    const ops: BatchOp[] = [];
    const out: ViewChange[] = [];
    const where = this.plan.where;
    for (let i = 0; i < images.length; i++) {
      const x = images[i] as ReplicaImage;
      const buf = maybe[next] === x ? (found[next++] ?? null) : null;
      const row = x.row && (!where || evaluate(where, [x.row]) === true) ? x.row : null;
      if (!row) {
        if (!buf) continue;
        const old = this.format.unpackView(buf);
        ops.push({ type: "del", key: this.layout.viewRow(x.pk) });
        this.viewIndex(x.pk, old.v, "del", ops);
        if (feed) out.push(this.change("delete", old.k, old.v, null, ops));
        this.meta.rows--;
        continue;
      }
      const v: Row = {};
      for (const c of this.plan.columns) v[c.name] = row[c.column] ?? null;
      const k = this.plan.key.map((part) => row[part.column] ?? null);
      const packed = this.format.packView(k, v, x.p);
      if (buf && buf.equals(packed)) continue;
      const old = buf ? this.format.unpackView(buf) : null;
      ops.push({ type: "put", key: this.layout.viewRow(x.pk), value: packed });
      // Same values from another source partition: store the partition (for truncates), report nothing.
      if (old && sameRow(old.v, v)) continue;
      if (old) this.viewIndex(x.pk, old.v, "del", ops);
      this.viewIndex(x.pk, v, "put", ops);
      if (feed) out.push(this.change(old ? "update" : "insert", k, old?.v ?? null, v, ops, packed));
      if (!old) this.meta.rows++;
    }
    ops.push({ type: "put", key: this.layout.meta(), value: pack(this.meta) }, ...extra);
    await commitBatch(this.db, ops);
    for (const x of images) if (x.row) this.viewCeiling.raise(x.pk);
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
    afterView?: Buffer,
  ): ViewChange {
    const change: ViewChange = { seq: ++this.meta.seq, op, key, before, after };
    const value = this.format.packChange(change, afterView);
    ops.push({ type: "put", key: this.layout.change(change.seq), value });
    return change;
  }
}

function sameRow(a: Row, b: Row): boolean {
  return sameValue(a, b);
}
