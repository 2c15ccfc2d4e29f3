// An aggregate view's apply step (plan.aggregate): its input stage's row changes of one batch (each input
// row's old and new group values and aggregate arguments) become group updates in the same LevelDB batch.
// Per touched group: one getMany of the group states (G) and the shown rows (R), every row's values moved
// out of and into its groups (aggregate-state.ts), the MIN/MAX multiset entries (N: group, argument slot,
// value in key order, input row key) deleted and put, and where a leaving value was a group's extreme the
// next one read from N (the first entry not deleted by this batch, or a better value the batch adds). A
// group whose count reaches 0 is deleted with its row; a group failing HAVING keeps its state but shows no
// row. Changed rows write their index and feed entries like any view row (view-writes.ts). Groups' stored
// state and row bytes of recent batches stay in memory (warm-cache.ts: exact, this is their only writer),
// so a hot group costs no read.
import { encodeValue } from "./codec.ts";
import { encodeKey, type KeyKind } from "../keys/encoding.ts";
import { columnValue, truth } from "../sql/eval.ts";
import type { AggregateSpec, ViewPlan } from "../sql/plan.ts";
import {
  aggregateValue,
  better,
  emptyGroup,
  moveAggregate,
  packGroup,
  unpackGroup,
  type GroupState,
} from "./aggregate-state.ts";
import { viewRows, type BatchSink } from "./batch-io.ts";
import { sameValue } from "./codec.ts";
import { Layout, pack, unpack } from "./layout.ts";
import type { Db } from "./reader.ts";
import type { RowFormat } from "./row-format.ts";
import type { Row } from "./shape.ts";
import type { BatchOp, Meta, ViewChange } from "./view-state.ts";
import type { ViewWrites } from "./view-writes.ts";
import { WarmCache } from "./warm-cache.ts";

const EMPTY = Buffer.alloc(0);

interface Touched {
  key: Buffer;
  /** key as latin1: the warm cache's id. */
  id: string;
  values: unknown[];
  /** Input rows leaving (-1) and entering (1), with their row keys; `same`: the row stays in the group. */
  moves: { sign: 1 | -1; row: Row; rowKey: Buffer; other: Row | null }[];
}

export class Aggregator {
  readonly #db: Db;
  readonly #plan: ViewPlan;
  readonly #layout: Layout;
  readonly #format: RowFormat;
  readonly #writes: ViewWrites;
  readonly #specs: AggregateSpec[];
  readonly #groupKinds: KeyKind[];
  readonly #inputKinds: KeyKind[];
  /** Input slots (x<k>) that a MIN or MAX reads: each keeps its ordered multiset in N. */
  readonly #slots: { slot: number; column: string; kind: KeyKind; specs: number[] }[] = [];
  /** Stored group state and row bytes of recent batches (null: none stored). */
  readonly #warm: WarmCache<{ state: Buffer | null; row: Buffer | null }>;

  constructor(
    db: Db,
    plan: ViewPlan,
    layout: Layout,
    format: RowFormat,
    writes: ViewWrites,
    warmRows?: number,
  ) {
    this.#warm = new WarmCache(warmRows);
    this.#db = db;
    this.#plan = plan;
    this.#layout = layout;
    this.#format = format;
    this.#writes = writes;
    this.#specs = plan.aggregate?.aggs ?? [];
    this.#groupKinds = plan.key.map((k) => k.kind);
    this.#inputKinds = (plan.stages?.[0]?.key ?? []).map((k) => k.kind);
    this.#specs.forEach((spec, i) => {
      if ((spec.fn !== "min" && spec.fn !== "max") || spec.arg === null) return;
      const slot = Number(spec.arg.slice(1));
      const known = this.#slots.find((s) => s.slot === slot);
      if (known) known.specs.push(i);
      else this.#slots.push({ slot, column: spec.arg, kind: spec.kind, specs: [i] });
    });
  }

  /**
   * Applies the input stage's changes into the sink's batch (its warm groups are updated once that is
   * written). Changes are returned when `feed` or `collect`.
   */
  async apply(
    input: readonly ViewChange[],
    meta: Meta,
    feed: boolean,
    collect: boolean,
    sink: BatchSink,
  ): Promise<ViewChange[]> {
    const ops = sink.ops;
    const groups = this.#touch(input);
    const list = [...groups.values()];
    const { states, shown } = await this.#read(list);
    const out: ViewChange[] = [];
    const deleted = new Set<string>();
    const pending: { g: Touched; state: GroupState; dirty: Map<number, unknown> }[] = [];
    list.forEach((g, i) => {
      const buf = states[i];
      const state = buf ? unpackGroup(this.#specs, unpack<unknown[]>(buf)) : emptyGroup(this.#specs);
      // Per MIN/MAX aggregate whose extreme left: the best value this batch adds (the scan competes with it).
      const dirty = new Map<number, unknown>();
      const added = new Map<number, unknown>();
      for (const m of g.moves) {
        state.count += m.sign;
        this.#specs.forEach((spec, j) => {
          if (spec.arg === null) return;
          const v = m.row[spec.arg] ?? null;
          // A row staying in the group with the same MIN/MAX value moves nothing in N.
          if (this.#isExtreme(spec) && m.other && sameValue(m.other[spec.arg] ?? null, v)) return;
          if (moveAggregate(spec, state.aggs[j] ?? null, v, m.sign)) dirty.set(j, null);
          if (m.sign > 0 && v !== null && this.#isExtreme(spec) && better(spec, v, added.get(j) ?? null))
            added.set(j, v);
        });
        this.#moveEntries(g.key, m, ops, deleted);
      }
      for (const j of dirty.keys()) dirty.set(j, added.get(j) ?? null);
      pending.push({ g, state, dirty });
    });
    // Extremes that left: the first remaining entry of the group's multiset, against what the batch adds.
    await Promise.all(
      pending.flatMap(({ g, state, dirty }) =>
        [...dirty].map(async ([j, addedBest]) => {
          const spec = this.#specs[j] as AggregateSpec;
          const slot = this.#slots.find((s) => s.column === spec.arg);
          const agg = state.aggs[j];
          if (!slot || !agg || !("v" in agg)) return;
          const stored = await this.#firstEntry(g.key, slot.slot, spec.fn === "max", deleted);
          agg.v = stored !== undefined && better(spec, stored, addedBest) ? stored : addedBest;
        }),
      ),
    );
    const written: [string, { state: Buffer | null; row: Buffer | null }][] = [];
    pending.forEach(({ g, state }, i) => {
      const old = shown[i] ?? null;
      let packed: Buffer | null = null;
      if (state.count <= 0) ops.push({ type: "del", key: this.#layout.groupState(g.key) });
      else {
        packed = pack(packGroup(state));
        ops.push({ type: "put", key: this.#layout.groupState(g.key), value: packed });
      }
      const row = this.#show(
        g,
        state.count > 0 ? this.#row(g, state) : null,
        old,
        meta,
        feed,
        collect,
        ops,
        out,
      );
      written.push([g.id, { state: packed, row }]);
    });
    sink.after.push(() => {
      for (const [id, entry] of written) this.#warm.set(id, entry);
    });
    return out;
  }

  /** The groups' stored states and rows: from the warm cache, the rest with one getMany each. */
  async #read(list: Touched[]): Promise<{ states: (Buffer | null)[]; shown: (Buffer | null)[] }> {
    const states: (Buffer | null)[] = [];
    const shown: (Buffer | null)[] = [];
    const missing: number[] = [];
    list.forEach((g, i) => {
      const hit = this.#warm.get(g.id);
      if (hit) {
        states[i] = hit.state;
        shown[i] = hit.row;
      } else missing.push(i);
    });
    if (missing.length === 0) return { states, shown };
    const keys = missing.map((i) => (list[i] as Touched).key);
    const [s, r] = await Promise.all([
      this.#db.getMany(keys.map((k) => this.#layout.groupState(k))),
      viewRows(this.#db, this.#layout, keys),
    ]);
    missing.forEach((i, j) => {
      states[i] = s[j] ?? null;
      shown[i] = r[j] ?? null;
    });
    return { states, shown };
  }

  #isExtreme(spec: AggregateSpec): boolean {
    return spec.fn === "min" || spec.fn === "max";
  }

  /** Groups touched by the changes, each with its rows leaving and entering. */
  #touch(input: readonly ViewChange[]): Map<string, Touched> {
    const groups = new Map<string, Touched>();
    const n = this.#groupKinds.length;
    const groupOf = (row: Row): Touched => {
      const values: unknown[] = [];
      for (let i = 0; i < n; i++) values.push(row[`g${i}`] ?? null);
      const key = encodeKey(values, this.#groupKinds);
      const id = key.toString("latin1");
      let g = groups.get(id);
      if (!g) groups.set(id, (g = { key, id, values, moves: [] }));
      return g;
    };
    for (const c of input) {
      // Only MIN/MAX entries name their input row.
      const rowKey = this.#slots.length > 0 ? encodeKey(c.key, this.#inputKinds) : EMPTY;
      const from = c.before ? groupOf(c.before) : null;
      const to = c.after ? groupOf(c.after) : null;
      const same = from !== null && from === to;
      if (from && c.before)
        from.moves.push({ sign: -1, row: c.before, rowKey, other: same ? c.after : null });
      if (to && c.after) to.moves.push({ sign: 1, row: c.after, rowKey, other: same ? c.before : null });
    }
    return groups;
  }

  /** The N entries of one row's MIN/MAX arguments: deleted when it leaves, put when it enters. */
  #moveEntries(group: Buffer, m: Touched["moves"][number], ops: BatchOp[], deleted: Set<string>): void {
    for (const s of this.#slots) {
      const v = m.row[s.column] ?? null;
      if (v === null || (m.other && sameValue(m.other[s.column] ?? null, v))) continue;
      const key = this.#layout.extreme(group, s.slot, encodeKey([v], [s.kind]), m.rowKey);
      if (m.sign < 0) {
        ops.push({ type: "del", key });
        deleted.add(key.toString("latin1"));
      } else {
        ops.push({ type: "put", key, value: encodeValue(v) });
        deleted.delete(key.toString("latin1"));
      }
    }
  }

  /** The smallest (or, `reverse`, largest) value of a group's slot in LevelDB, skipping this batch's deletes. */
  async #firstEntry(group: Buffer, slot: number, reverse: boolean, deleted: Set<string>): Promise<unknown> {
    const range = Layout.range(this.#layout.extreme(group, slot));
    for await (const [key, value] of this.#db.iterator({ ...range, reverse })) {
      if (deleted.has(key.toString("latin1"))) continue;
      return unpack(value);
    }
    return undefined;
  }

  /** The group's row as the view shows it, or null when HAVING is not true. */
  #row(g: Touched, state: GroupState): { k: unknown[]; v: Row } | null {
    const groupRow: Row = {};
    g.values.forEach((v, i) => (groupRow[`g${i}`] = v));
    this.#specs.forEach(
      (spec, j) => (groupRow[`a${j}`] = aggregateValue(spec, state, state.aggs[j] ?? null)),
    );
    const having = this.#plan.aggregate?.having;
    if (having && truth(having, [groupRow]) !== true) return null;
    const v: Row = {};
    for (const c of this.#plan.columns) v[c.name] = c.expr ? columnValue(c.expr, [groupRow]) : null;
    return { k: g.values, v };
  }

  /**
   * Writes the group's row (index and feed entries too) when it changed; deletes it when it went. Returns
   * the row's bytes as stored after the batch (null: none).
   */
  #show(
    g: Touched,
    row: { k: unknown[]; v: Row } | null,
    old: Buffer | null,
    meta: Meta,
    feed: boolean,
    collect: boolean,
    ops: BatchOp[],
    out: ViewChange[],
  ): Buffer | null {
    if (!row) {
      if (!old) return null;
      const was = this.#format.unpackView(old);
      ops.push({ type: "del", key: this.#layout.viewRow(g.key) });
      this.#writes.index(g.key, was.v, "del", ops);
      if (feed || collect)
        out.push(this.#writes.change(meta, "delete", was.k, was.v, null, ops, undefined, feed));
      meta.rows--;
      return null;
    }
    const packed = this.#format.packView(row.k, row.v);
    if (old && old.equals(packed)) return old;
    const was = old ? this.#format.unpackView(old) : null;
    ops.push({ type: "put", key: this.#layout.viewRow(g.key), value: packed });
    if (was && sameValue(was.v, row.v) && sameValue(was.k, row.k)) return packed;
    if (was) this.#writes.index(g.key, was.v, "del", ops);
    this.#writes.index(g.key, row.v, "put", ops);
    if (feed || collect)
      out.push(
        this.#writes.change(meta, was ? "update" : "insert", row.k, was?.v ?? null, row.v, ops, packed, feed),
      );
    if (!was) meta.rows++;
    return packed;
  }
}
