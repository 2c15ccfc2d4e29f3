// One view's state in LevelDB and the apply step: a list of input-row changes (a whole source transaction,
// or several) becomes ONE LevelDB batch holding the input rows, their join indexes, the view rows that
// changed, the view's secondary indexes, the change feed and whatever the caller adds (consumed offsets).
// Readers never see half a batch, and a crash before the batch leaves the previous state and offsets.
// Here the join path; a single-table view takes replica-apply.ts's; view-writes.ts writes a changed view
// row's index and feed entries for both.
import type { AbstractBatchOperation } from "abstract-level";
import { encodeKey } from "../keys/encoding.ts";
import { baseRelations, type Relation, type ViewPlan } from "../sql/plan.ts";
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
import { applyReplica } from "./replica-apply.ts";
import { RowFormat } from "./row-format.ts";
import { JoinShape, type Row } from "./shape.ts";
import { KeyCeiling } from "./key-ceiling.ts";
import { WARM_ROWS, WarmCache, WarmScans } from "./warm-cache.ts";
import {
  commitBatch,
  commitOrDefer,
  storedRows,
  viewRows,
  type BatchSink,
  type StoredBytes,
} from "./batch-io.ts";
import { Aggregator } from "./aggregate-apply.ts";
import { stageChange } from "./stage-changes.ts";
import { ViewWrites, type ColumnKind } from "./view-writes.ts";

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

export interface ApplyOptions {
  /** Write change-feed entries (default: once the view is live). */
  feed?: boolean;
  /** Return the view's changes even without the feed. */
  collect?: boolean;
  /** Leave the batch (ops and after-commit steps) to this sink instead of writing it. */
  into?: BatchSink;
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
  /** A changed view row's index and change-feed entries. */
  private readonly writes: ViewWrites;
  /** Only many-to-one joins (or none): a driving key has exactly one view row, keyed by it. */
  private readonly single: boolean;
  /** Joined relations' input rows (by Pending.id) of recent batches: see warm-cache.ts. */
  private readonly warmRows: WarmCache<Row | null>;
  /** The driving relation's (a budget of their own: inserted driving rows must not evict hot joined rows). */
  private readonly warmDriving: WarmCache<Row | null>;
  /** Stored view rows (latin1 view key → bytes, null: none) of recent batches, where the view key is the driving key. */
  private readonly warmViews: WarmCache<Buffer | null>;
  /** Index scans' results (input keys per join value) of recent batches, kept exact by each batch's delta. */
  private readonly warmScans: WarmScans;
  /** Per relation, the largest stored input key (key-ceiling.ts): a key above it needs no stored-row read. */
  private readonly tableCeilings: KeyCeiling[];
  /** The same for a single-table view's rows (its only stored state). */
  private readonly viewCeiling: KeyCeiling;
  /** Stages compiled into the view (views it reads, an aggregate's input), applied in its batches. */
  private readonly stages: ViewState[];
  /** An aggregate view's group maintenance (aggregate-apply.ts). */
  private readonly aggregator: Aggregator | null;

  /**
   * `warmRows`: the budget of each warm cache (warm-cache.ts; 0 turns them off). `within`: the layout of
   * the view this one is a stage of (its keys nest under that view's prefix).
   */
  constructor(db: Db, plan: ViewPlan, options: { warmRows?: number } = {}, within?: Layout) {
    const warm = options.warmRows ?? WARM_ROWS;
    this.warmRows = new WarmCache(warm);
    this.warmDriving = new WarmCache(warm);
    this.warmViews = new WarmCache(warm);
    this.warmScans = new WarmScans(warm);
    this.db = db;
    this.plan = plan;
    this.layout = new Layout(plan.name, within);
    this.shape = new JoinShape(plan);
    this.format = new RowFormat(plan);
    this.writes = new ViewWrites(plan, this.layout, this.format);
    this.stages = (plan.stages ?? []).map((s) => new ViewState(db, s, options, this.layout));
    this.aggregator = plan.aggregate
      ? new Aggregator(db, plan, this.layout, this.format, this.writes, warm)
      : null;
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
    for (const stage of this.stages) await stage.load();
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

  /** The key kind of a view column (that of the input column it shows). */
  columnKind(name: string): ColumnKind {
    return this.writes.columnKind(name);
  }

  /** The Kafka topics the view reads (those of its stages too). */
  topics(): string[] {
    return [...new Set(baseRelations(this.plan).map((r) => r.table.topic))];
  }

  /**
   * Applies changes in order as one atomic batch (plus `extra` ops); returns the view's changes. With
   * `feed: false` (backfill) no change-feed entries are written: a feed reader starts from the rows.
   * `collect`: return the changes even without the feed. `into`: leave the batch to that sink.
   * A view with stages (plan.ts) applies them first, in the same batch: each stage's changes are input
   * changes of this view (a view read in FROM) or its groups' updates (an aggregate view's input).
   */
  async apply(
    changes: readonly TableChange[],
    extra: BatchOp[] = [],
    options: ApplyOptions = {},
  ): Promise<ViewChange[]> {
    const feed = options.feed ?? this.meta.live === true;
    const keep = options.collect === true;
    if (this.stages.length === 0) return this.applyOwn(changes, extra, feed, keep, options.into);
    const sink: BatchSink = options.into ?? { ops: [], after: [] };
    const fromStages: TableChange[] = [];
    let input: ViewChange[] = [];
    for (const stage of this.stages) {
      const out = await stage.apply(changes, [], { feed: false, collect: true, into: sink });
      if (this.aggregator) input = out;
      else for (const c of out) fromStages.push(stageChange(stage.plan, c));
    }
    let out: ViewChange[];
    if (this.aggregator) {
      out = await this.aggregator.apply(input, this.meta, feed, keep, sink);
      sink.ops.push({ type: "put", key: this.layout.meta(), value: pack(this.meta) }, ...extra);
    } else out = await this.applyOwn([...changes, ...fromStages], extra, feed, keep, sink);
    if (!options.into) {
      await commitBatch(this.db, sink.ops);
      for (const done of sink.after) done();
    }
    return out;
  }

  /** apply() of this view's own relations (the join path, or replica-apply.ts's). */
  private async applyOwn(
    changes: readonly TableChange[],
    extra: BatchOp[],
    feed: boolean,
    keep: boolean,
    into: BatchSink | undefined,
  ): Promise<ViewChange[]> {
    if (this.replica) {
      return applyReplica(
        {
          db: this.db,
          plan: this.plan,
          layout: this.layout,
          format: this.format,
          keyKinds: this.shape.keyKinds[0],
          ceiling: this.viewCeiling,
          topics: this.relsByTopic,
          writes: this.writes,
          meta: this.meta,
          warm: this.warmViews,
          collect: keep,
          ...(into ? { into } : {}),
        },
        changes,
        extra,
        feed,
      );
    }
    const pending = new Pending();
    await Promise.all(this.tableCeilings.map((c) => c.load()));
    await this.collect(changes, pending);
    pending.indexRows(this.shape);
    const cache: RowCache = new Map();
    const scans: ScanCache = new Map();
    const warm = { rows: this.warmRows, driving: this.warmDriving, scans: this.warmScans, used: new Map() };
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
      if (!(this.tableCeilings[p.rel] as KeyCeiling).above(p.pk)) {
        stored.push(p);
        const warmView = p.rel === 0 && this.single ? this.warmViews.get(p.key) : undefined;
        if (warmView !== undefined) knownViews.set(p.key, warmView);
      } else {
        cache.set(p.id, null);
        if (p.rel === 0 && this.single) knownViews.set(p.key, null);
      }
    }
    // One getMany per relation, concurrently (each is a thread-pool round trip). A changed driving row of
    // a many-to-one view is certain to be recomputed: its stored view row is read in the same round.
    const drivingChanged = this.single ? stored.filter((p) => p.rel === 0 && !knownViews.has(p.key)) : [];
    const [early] = await Promise.all([
      viewRows(
        this.db,
        this.layout,
        drivingChanged.map((p) => p.pk),
      ),
      ...this.plan.relations.map((_, rel) => {
        const mine = stored.filter((p) => p.rel === rel);
        return s0.prefetch(
          rel,
          mine.map((p) => p.pk),
          mine.map((p) => p.id),
        );
      }),
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
    // View rows this batch writes (null: deleted), as [latin1 key, bytes] pairs: warm once committed.
    const viewWrites: (string | Buffer | null)[] = [];
    const drivers = [...affected.values()];
    const driverKeys = [...affected.keys()];
    // The stored view rows and the recomputed ones are independent reads: overlap their round trips.
    const [views, computed] = await Promise.all([
      storedRows(this.db, this.layout, this.single, drivers, knownViews, this.warmViews, driverKeys),
      recompute(this.shape, s1, drivers, driverKeys),
    ]);
    for (let d = 0; d < drivers.length; d++) {
      const id = driverKeys[d] as string;
      const before = views.get(id) ?? new Map<string, StoredBytes>();
      for (const row of computed.get(id) ?? []) {
        const rid = row.key.toString("latin1");
        const prev = before.get(rid);
        before.delete(rid);
        // Unchanged bytes: nothing to decode or write.
        const packed = this.format.packView(row.k, row.v);
        if (prev && prev.buf.equals(packed)) continue;
        const old = prev ? { key: prev.key, ...this.format.unpackView(prev.buf) } : null;
        if (old && sameValue(old.v, row.v)) continue;
        ops.push({ type: "put", key: this.layout.viewRow(row.key), value: packed });
        if (this.single) viewWrites.push(rid, packed);
        if (old) this.writes.index(old.key, old.v, "del", ops);
        this.writes.index(row.key, row.v, "put", ops);
        if (feed || keep)
          out.push(
            this.writes.change(
              this.meta,
              old ? "update" : "insert",
              row.k,
              old?.v ?? null,
              row.v,
              ops,
              packed,
              feed,
            ),
          );
        if (!old) this.meta.rows++;
      }
      for (const prev of before.values()) {
        const old = this.format.unpackView(prev.buf);
        ops.push({ type: "del", key: this.layout.viewRow(prev.key) });
        if (this.single) viewWrites.push(prev.key.toString("latin1"), null);
        this.writes.index(prev.key, old.v, "del", ops);
        if (feed || keep)
          out.push(this.writes.change(this.meta, "delete", old.k, old.v, null, ops, undefined, feed));
        this.meta.rows--;
      }
    }
    ops.push({ type: "put", key: this.layout.meta(), value: pack(this.meta) }, ...extra);
    const committed = (): void => {
      for (const p of touched) if (p.row) (this.tableCeilings[p.rel] as KeyCeiling).raise(p.pk);
      // Committed: the input rows this batch read from LevelDB (S0), then those it wrote, and its view rows
      // (where the view key is the driving key) become warm, so a row updated again costs no read.
      for (const [id, row] of cache)
        if (!pending.byId(id)) (Pending.isDriving(id) ? this.warmDriving : this.warmRows).set(id, row);
      for (const [id, p] of pending.rows)
        (p.rel === 0 ? this.warmDriving : this.warmRows).set(id, p.row?.r ?? null);
      for (let i = 0; i < viewWrites.length; i += 2)
        this.warmViews.set(viewWrites[i] as string, viewWrites[i + 1] as Buffer | null);
      for (const d of indexDelta) this.warmScans.update(d.id, d.pk, d.add);
    };
    await commitOrDefer(this.db, ops, committed, into);
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
}
