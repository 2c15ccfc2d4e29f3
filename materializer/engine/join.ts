// The two walks of incremental join maintenance, over either state (S0 or S1, see reader.ts):
// - drivingKeys: from a row of any relation up the join tree to the driving rows whose view rows may
//   include it (backward lookups);
// - recompute: from one driving row down the tree to all of its view rows (forward lookups), with LEFT
//   JOIN null extension, WHERE, projection and the view key.
// A change therefore touches only the view rows of the driving keys it reaches; nothing is rescanned.
import { encodeKey } from "../keys/encoding.ts";
import { evaluate } from "../sql/predicate.ts";
import type { Relation } from "../sql/plan.ts";
import type { Reader } from "./reader.ts";
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

/** Rows of step.rel matching a parent row (forward), or parent rows matching a row of step.rel (backward). */
async function follow(
  shape: JoinShape,
  reader: Reader,
  step: Step,
  from: Row,
  direction: "forward" | "backward",
): Promise<Row[]> {
  const rel = shape.plan.relations[step.rel] as Relation;
  const [fromRel, fromCols, toRel, toCols] =
    direction === "forward"
      ? [step.parent, rel.parentCols, step.rel, rel.childCols]
      : [step.rel, rel.childCols, step.parent, rel.parentCols];
  const vals = shape.values(fromRel, from, fromCols);
  if (!vals) return [];
  const lookup = direction === "forward" ? step.forward : step.backward;
  const found = await reader.find(lookup, vals, shape.kinds(fromRel, fromCols));
  const rows: Row[] = [];
  for (const f of found) {
    // A key lookup matched the key columns only; ON may equate more columns.
    if (lookup.by === "pk" && !sameValues(shape, fromRel, from, fromCols, toRel, f.row, toCols)) continue;
    rows.push(f.row);
  }
  return rows;
}

/** Driving-table keys (encoded) whose view rows may contain `row` of relation `rel`. */
export async function drivingKeys(
  shape: JoinShape,
  reader: Reader,
  rel: number,
  row: Row,
  out: Map<string, Buffer>,
): Promise<void> {
  if (rel === 0) {
    const pk = shape.pk(0, row);
    out.set(pk.toString("latin1"), pk);
    return;
  }
  const step = shape.steps.find((s) => s.rel === rel);
  if (!step) return;
  for (const parentRow of await follow(shape, reader, step, row, "backward")) {
    await drivingKeys(shape, reader, step.parent, parentRow, out);
  }
}

/** All view rows of one driving key, in the state the reader sees. */
export async function recompute(shape: JoinShape, reader: Reader, drivingPk: Buffer): Promise<ViewRow[]> {
  const plan = shape.plan;
  const driving = await reader.get(0, drivingPk);
  if (!driving) return [];
  let tuples: (Row | null)[][] = [[driving]];
  for (const step of shape.steps) {
    const rel = plan.relations[step.rel] as Relation;
    const next: (Row | null)[][] = [];
    for (const t of tuples) {
      const parentRow = t[step.parent] ?? null;
      const matches = parentRow ? await follow(shape, reader, step, parentRow, "forward") : [];
      if (matches.length === 0) {
        if (rel.join === "left") next.push([...t, null]);
      } else for (const m of matches) next.push([...t, m]);
    }
    tuples = next;
    if (tuples.length === 0) return [];
  }
  const out: ViewRow[] = [];
  for (const t of tuples) {
    if (plan.where && evaluate(plan.where, t) !== true) continue;
    const v: Row = {};
    for (const c of plan.columns) v[c.name] = t[c.rel]?.[c.column] ?? null;
    const k = plan.key.map((p) => t[p.rel]?.[p.column] ?? null);
    out.push({
      key: encodeKey(
        k,
        plan.key.map((p) => p.kind),
      ),
      k,
      v,
    });
  }
  return out;
}
