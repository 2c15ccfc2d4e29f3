// The two walks of incremental join maintenance, over either state (S0 or S1, see reader.ts):
// - drivingKeys: from changed rows of any relation up the join tree to the driving rows whose view rows may
//   include them (backward lookups);
// - recompute: from driving rows down the tree to all of their view rows (forward lookups), with LEFT JOIN
//   null extension, WHERE, projection and the view key.
// A change therefore touches only the view rows of the driving keys it reaches; nothing is rescanned. Both
// walks go level by level over the whole batch so key lookups become one LevelDB getMany per level, and
// index scans of a level run concurrently.
import { encodeKey } from "../keys/encoding.ts";
import { columnValue } from "../sql/eval.ts";
import { evaluate } from "../sql/predicate.ts";
import type { Relation } from "../sql/plan.ts";
import { Pending, Reader } from "./reader.ts";
import type { JoinShape, Row, Step } from "./shape.ts";

export interface ViewRow {
  key: Buffer;
  /** Key values, in plan.key order. */
  k: unknown[];
  /** Output record, by output column name. */
  v: Row;
}

function sameValues(
  shape: JoinShape,
  a: number,
  aRow: Row,
  aCols: string[],
  b: number,
  bRow: Row,
  bCols: string[],
): boolean {
  const av = shape.values(a, aRow, aCols);
  const bv = shape.values(b, bRow, bCols);
  if (!av || !bv) return false;
  return encodeKey(av, shape.kinds(a, aCols)).equals(encodeKey(bv, shape.kinds(b, bCols)));
}

type Direction = "forward" | "backward";

function ends(
  shape: JoinShape,
  step: Step,
  direction: Direction,
): { fromRel: number; fromCols: string[]; toRel: number; toCols: string[] } {
  const rel = shape.plan.relations[step.rel] as Relation;
  return direction === "forward"
    ? { fromRel: step.parent, fromCols: rel.parentCols, toRel: step.rel, toCols: rel.childCols }
    : { fromRel: step.rel, fromCols: rel.childCols, toRel: step.parent, toCols: rel.parentCols };
}

/** For each `from` row, the matching rows across `step` (forward: children of a parent row; backward: parents). */
async function followMany(
  shape: JoinShape,
  reader: Reader,
  step: Step,
  froms: Row[],
  direction: Direction,
): Promise<Row[][]> {
  const { fromRel, fromCols, toRel, toCols } = ends(shape, step, direction);
  const lookup = direction === "forward" ? step.forward : step.backward;
  const kinds = shape.kinds(fromRel, fromCols);
  const vals = froms.map((f) => shape.values(fromRel, f, fromCols));
  if (lookup.by === "index") {
    const found = await reader.findMany(lookup, vals, kinds);
    return found.map((list) => list.map((f) => f.row));
  }
  const pks = vals.map((v) => (v ? (Reader.lookupPk(lookup, v, kinds) as Buffer) : null));
  const ids = pks.map((pk) => (pk ? Pending.id(lookup.rel, pk) : ""));
  await reader.prefetch(
    lookup.rel,
    pks.filter((pk) => pk !== null),
    ids.filter((id) => id !== ""),
  );
  // A key lookup matches the key columns only; when ON equates more columns, they are compared too.
  const onlyKey = lookup.by === "pk" && lookup.order.length === fromCols.length;
  // Every row is held now (prefetched, pending or warm): a get is only the fallback.
  const out: Row[][] = [];
  for (let i = 0; i < froms.length; i++) {
    const pk = pks[i];
    if (!pk) {
      out.push([]);
      continue;
    }
    const id = ids[i] as string;
    const hit = reader.peek(lookup.rel, pk, id);
    const row = hit !== undefined ? hit : await reader.get(lookup.rel, pk, id);
    if (!row) out.push([]);
    else
      out.push(
        onlyKey || sameValues(shape, fromRel, froms[i] as Row, fromCols, toRel, row, toCols) ? [row] : [],
      );
  }
  return out;
}

/** Adds to `out` the driving keys (encoded) whose view rows may contain any of `rows` (all of relation `rel`). */
export async function drivingKeys(
  shape: JoinShape,
  reader: Reader,
  items: { rel: number; row: Row; pk?: Buffer; key?: string }[],
  out: Map<string, Buffer>,
): Promise<void> {
  let frontier = items;
  while (frontier.length > 0) {
    const next: { rel: number; row: Row }[] = [];
    const byRel = new Map<number, Row[]>();
    for (const it of frontier) {
      if (it.rel === 0) {
        // A changed input row brings its encoded key; rows found by the walk are encoded here.
        const pk = it.pk ?? shape.pk(0, it.row);
        out.set(it.key ?? pk.toString("latin1"), pk);
      } else {
        const list = byRel.get(it.rel);
        if (list) list.push(it.row);
        else byRel.set(it.rel, [it.row]);
      }
    }
    for (const [rel, rows] of byRel) {
      const step = shape.steps.find((s) => s.rel === rel);
      if (!step) continue;
      const parents = await followMany(shape, reader, step, rows, "backward");
      for (const list of parents) for (const row of list) next.push({ rel: step.parent, row });
    }
    frontier = next;
  }
}

/**
 * All view rows of each driving key, in the state the reader sees (keyed by the driving key's latin1 id).
 * `keys`: the driving keys' latin1 ids when the caller has them (in `drivingPks` order).
 */
export async function recompute(
  shape: JoinShape,
  reader: Reader,
  drivingPks: Buffer[],
  keys: readonly string[] = drivingPks.map((pk) => pk.toString("latin1")),
): Promise<Map<string, ViewRow[]>> {
  const plan = shape.plan;
  const ids = keys.map((key) => Pending.idOfKey(0, key));
  // Rows the overlay or cache already holds (all of them for a single-table view) need no prefetch.
  const hits = drivingPks.map((pk, i) => reader.peek(0, pk, ids[i]));
  const misses = drivingPks.filter((_, i) => hits[i] === undefined);
  if (misses.length > 0)
    await reader.prefetch(
      0,
      misses,
      ids.filter((_, i) => hits[i] === undefined),
    );
  // One tuple list per driving key; tuple[i] is relation i's row (null when LEFT JOIN found none).
  const tuples: { id: string; t: (Row | null)[] }[] = [];
  const out = new Map<string, ViewRow[]>();
  for (let i = 0; i < drivingPks.length; i++) {
    const pk = drivingPks[i] as Buffer;
    const hit = hits[i];
    const row = hit !== undefined ? hit : await reader.get(0, pk, ids[i]);
    const id = keys[i] as string;
    out.set(id, []);
    if (row) tuples.push({ id, t: [row] });
  }
  let current = tuples;
  for (const step of shape.steps) {
    const rel = plan.relations[step.rel] as Relation;
    const withParent = current.filter((x) => x.t[step.parent]);
    const matches = await followMany(
      shape,
      reader,
      step,
      withParent.map((x) => x.t[step.parent] as Row),
      "forward",
    );
    const found = new Map(withParent.map((x, i) => [x, matches[i] ?? []]));
    const next: typeof current = [];
    for (const x of current) {
      const m = found.get(x) ?? [];
      if (m.length === 0) {
        if (rel.join === "left") next.push({ id: x.id, t: [...x.t, null] });
      } else for (const row of m) next.push({ id: x.id, t: [...x.t, row] });
    }
    current = next;
  }
  const keyKinds = plan.key.map((p) => p.kind);
  for (const { id, t } of current) {
    if (plan.where && evaluate(plan.where, t) !== true) continue;
    const v: Row = {};
    for (const c of plan.columns)
      v[c.name] = c.expr ? columnValue(c.expr, t) : (t[c.rel]?.[c.column] ?? null);
    const k = plan.key.map((p) => t[p.rel]?.[p.column] ?? null);
    out.get(id)?.push({ key: encodeKey(k, keyKinds), k, v });
  }
  return out;
}
