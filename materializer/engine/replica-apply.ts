// apply() for a single-table view (ViewState.apply picks it), whose view rows are its whole state: fold the
// changes into a final image per key, read the stored view rows with one getMany and write only the rows
// whose stored bytes differ (an unchanged row is neither decoded nor rewritten). Same results as the join
// path, without its input rows, overlays and join walks; the batch is as atomic.
import { encodeKey } from "../keys/encoding.ts";
import type { Relation, ViewPlan } from "../sql/plan.ts";
import { columnValue } from "../sql/eval.ts";
import { evaluate } from "../sql/predicate.ts";
import { commitOrDefer, truncateReplica, viewRows, type BatchSink, type ReplicaImage } from "./batch-io.ts";
import { sameValue } from "./codec.ts";
import type { KeyCeiling } from "./key-ceiling.ts";
import type { WarmCache } from "./warm-cache.ts";
import { pack, type Layout } from "./layout.ts";
import type { Db } from "./reader.ts";
import type { RowFormat } from "./row-format.ts";
import type { JoinShape, Row } from "./shape.ts";
import type { BatchOp, Meta, TableChange, ViewChange } from "./view-state.ts";
import type { ViewWrites } from "./view-writes.ts";

/** What the single-table path works with (the view's, held by its ViewState). */
export interface Replica {
  db: Db;
  plan: ViewPlan;
  layout: Layout;
  format: RowFormat;
  /** Key kinds of the table's primary key. */
  keyKinds: JoinShape["keyKinds"][number] | undefined;
  /** The largest stored view key (key-ceiling.ts). */
  ceiling: KeyCeiling;
  /** The view's input topic(s). */
  topics: { has(topic: string): boolean };
  writes: ViewWrites;
  /** The view's counters: rows and feed seq move with the batch. */
  meta: Meta;
  /** Stored view rows of recent batches (latin1 view key → bytes, null: none): see warm-cache.ts. */
  warm?: WarmCache<Buffer | null>;
  /** Return the view's changes even without `feed` (a stage's changes feed the view it is in). */
  collect?: boolean;
  /** Leave the batch to this sink (a view with stages writes one batch for all). */
  into?: BatchSink;
}

/** Applies `changes` (plus `extra` ops) as one batch; feed entries only with `feed`. */
export async function applyReplica(
  view: Replica,
  changes: readonly TableChange[],
  extra: BatchOp[],
  feed: boolean,
): Promise<ViewChange[]> {
  const relation = view.plan.relations[0] as Relation;
  const keyKinds = view.keyKinds;
  const finals = new Map<string, ReplicaImage>();
  await view.ceiling.load();
  for (const c of changes) {
    if (c.op === "truncate") {
      if (!view.topics.has(c.topic)) continue;
      await truncateReplica(view.db, view.layout, view.format, c.partition, finals);
      continue;
    }
    if (!view.topics.has(c.topic)) continue;
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
  const images: ReplicaImage[] = [];
  const ids: string[] = [];
  // Keys above every stored view key (key-ceiling.ts) are known absent, warm ones known: the others are read.
  const known: (Buffer | null | undefined)[] = [];
  const maybe: ReplicaImage[] = [];
  for (const [id, x] of finals) {
    images.push(x);
    ids.push(id);
    const hit = view.ceiling.above(x.pk) ? null : view.warm?.get(id);
    known.push(hit);
    if (hit === undefined) maybe.push(x);
  }
  const found = await viewRows(
    view.db,
    view.layout,
    maybe.map((x) => x.pk),
  );
  let next = 0; // `maybe` is in `images` order: walk both together
  const ops: BatchOp[] = [];
  const out: ViewChange[] = [];
  // [image index, stored bytes or null] of the view rows written: warm once committed.
  const written: (number | Buffer | null)[] = [];
  const where = view.plan.where;
  for (let i = 0; i < images.length; i++) {
    const x = images[i] as ReplicaImage;
    const hit = known[i];
    const buf = hit !== undefined ? hit : maybe[next] === x ? (found[next++] ?? null) : null;
    const row = x.row && (!where || evaluate(where, [x.row]) === true) ? x.row : null;
    if (!row) {
      if (!buf) continue;
      const old = view.format.unpackView(buf);
      ops.push({ type: "del", key: view.layout.viewRow(x.pk) });
      written.push(i, null);
      view.writes.index(x.pk, old.v, "del", ops);
      if (feed || view.collect)
        out.push(view.writes.change(view.meta, "delete", old.k, old.v, null, ops, undefined, feed));
      view.meta.rows--;
      continue;
    }
    const v: Row = {};
    for (const c of view.plan.columns)
      v[c.name] = c.expr ? columnValue(c.expr, [row]) : (row[c.column] ?? null);
    const k = view.plan.key.map((part) => row[part.column] ?? null);
    const packed = view.format.packView(k, v, x.p);
    if (buf && buf.equals(packed)) continue;
    const old = buf ? view.format.unpackView(buf) : null;
    ops.push({ type: "put", key: view.layout.viewRow(x.pk), value: packed });
    written.push(i, packed);
    // Same values from another source partition: store the partition (for truncates), report nothing.
    if (old && sameValue(old.v, v)) continue;
    if (old) view.writes.index(x.pk, old.v, "del", ops);
    view.writes.index(x.pk, v, "put", ops);
    if (feed || view.collect)
      out.push(
        view.writes.change(view.meta, old ? "update" : "insert", k, old?.v ?? null, v, ops, packed, feed),
      );
    if (!old) view.meta.rows++;
  }
  ops.push({ type: "put", key: view.layout.meta(), value: pack(view.meta) }, ...extra);
  await commitOrDefer(
    view.db,
    ops,
    () => {
      for (const x of images) if (x.row) view.ceiling.raise(x.pk);
      for (let i = 0; i < written.length; i += 2)
        view.warm?.set(ids[written[i] as number] as string, written[i + 1] as Buffer | null);
    },
    view.into,
  );
  return out;
}
