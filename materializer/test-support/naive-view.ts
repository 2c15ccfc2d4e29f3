// The definition of what a view must hold: a from-scratch nested-loop evaluation of its plan over plain
// in-memory tables (SQL semantics: NULL never matches, LEFT JOIN null-extends, WHERE keeps only TRUE).
// Tests compare the incrementally maintained view with this after every step.
import { columnValue } from "../sql/eval.ts";
import { evaluate } from "../sql/predicate.ts";
import type { ViewPlan } from "../sql/plan.ts";

export type Row = Record<string, unknown>;

/** topic → key id → {partition, row}. */
export type Tables = Map<string, Map<string, { p: number; row: Row }>>;

/** A value's identity for comparison across Avro kinds (int 5, long 5n and decimal "5.00" are one number). */
export function norm(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "bigint" || typeof v === "number") return `n${Number(v)}`;
  if (typeof v === "string" && /^-?\d+\.\d+$/.test(v)) return `n${Number(v)}`;
  if (Buffer.isBuffer(v)) return `b${v.toString("hex")}`;
  return `s${typeof v === "string" ? v : JSON.stringify(v)}`;
}

export function naiveView(plan: ViewPlan, tables: Tables): Map<string, Row> {
  const out = new Map<string, Row>();
  for (const { k, v } of naiveRows(plan, tables)) {
    const key = k.map(norm).join("|");
    if (out.has(key)) throw new Error(`duplicate view key ${key}`);
    out.set(key, v);
  }
  return out;
}

/** The rows of a plan of its own relations (no stages, no GROUP BY: test-support/naive-plan.ts does those). */
export function naiveRows(plan: ViewPlan, tables: Tables): { k: unknown[]; v: Row }[] {
  const rowsOf = (topic: string): Row[] => [...(tables.get(topic)?.values() ?? [])].map((r) => r.row);
  let tuples: (Row | null)[][] = rowsOf(plan.relations[0]?.table.topic ?? "").map((r) => [r]);
  plan.relations.forEach((rel, j) => {
    if (j === 0 || rel.parent === null) return;
    const rows = rowsOf(rel.table.topic);
    const next: (Row | null)[][] = [];
    for (const t of tuples) {
      const parent = t[rel.parent];
      const matches = rows.filter(
        (r) =>
          parent &&
          rel.childCols.every((c, i) => {
            const a = r[c];
            const b = parent[rel.parentCols[i] ?? ""];
            return a !== null && a !== undefined && b !== null && b !== undefined && norm(a) === norm(b);
          }),
      );
      if (matches.length === 0 && rel.join === "left") next.push([...t, null]);
      for (const m of matches) next.push([...t, m]);
    }
    tuples = next;
  });
  const out: { k: unknown[]; v: Row }[] = [];
  for (const t of tuples) {
    if (plan.where && evaluate(plan.where, t) !== true) continue;
    const k = plan.key.map((p) => t[p.rel]?.[p.column] ?? null);
    const v: Row = {};
    for (const c of plan.columns)
      v[c.name] = c.expr ? columnValue(c.expr, t) : (t[c.rel]?.[c.column] ?? null);
    out.push({ k, v });
  }
  return out;
}
