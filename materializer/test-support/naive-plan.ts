// What a view with stages or GROUP BY must hold, computed from scratch (tests compare the incremental
// engine with it): stages are evaluated first and become tables of topic `view:<name>`; a GROUP BY view
// groups its input stage's rows and computes every aggregate over the whole group again (sums with
// decimal.ts's exact addition, extremes by sorting, AVG as Postgres divides), then HAVING and the columns.
import { encodeKey } from "../keys/encoding.ts";
import { addDec, decOfInt, divDec, formatDec, parseDec, type Dec } from "../sql/decimal.ts";
import { columnValue, compareValues, truth } from "../sql/eval.ts";
import { VIEW_TOPIC, type ViewPlan } from "../sql/plan.ts";
import { naiveRows, norm, type Row, type Tables } from "./naive-view.ts";

function stageTables(plan: ViewPlan, tables: Tables): Tables {
  const all: Tables = new Map(tables);
  for (const stage of plan.stages ?? []) {
    if (plan.aggregate) continue;
    const rows = new Map<string, { p: number; row: Row }>();
    for (const { k, v } of planRows(stage, tables)) {
      const row: Row = { ...v };
      stage.key.forEach((part, i) => {
        if (!(part.name in row)) row[part.name] = k[i] ?? null;
      });
      rows.set(k.map(norm).join("|"), { p: 0, row });
    }
    all.set(`${VIEW_TOPIC}${stage.name}`, rows);
  }
  return all;
}

function sumOf(values: unknown[]): Dec | null {
  if (values.length === 0) return null;
  let sum: Dec = { u: 0n, s: 0 };
  for (const v of values)
    sum = addDec(sum, typeof v === "string" ? parseDec(v) : decOfInt(v as number | bigint));
  return sum;
}

export function planRows(plan: ViewPlan, tables: Tables): { k: unknown[]; v: Row }[] {
  const all = stageTables(plan, tables);
  const agg = plan.aggregate;
  if (!agg) return naiveRows(plan, all);
  const input = plan.stages?.[0] as ViewPlan;
  const kinds = plan.key.map((k) => k.kind);
  const groups = new Map<string, Row[]>();
  for (const { v } of planRows(input, tables)) {
    const values = plan.key.map((_, i) => v[`g${i}`] ?? null);
    const id = encodeKey(values, kinds).toString("latin1");
    const list = groups.get(id) ?? [];
    list.push(v);
    groups.set(id, list);
  }
  const out: { k: unknown[]; v: Row }[] = [];
  for (const rows of groups.values()) {
    const first = rows[0] as Row;
    const groupRow: Row = {};
    plan.key.forEach((_, i) => (groupRow[`g${i}`] = first[`g${i}`] ?? null));
    agg.aggs.forEach((spec, j) => {
      const values =
        spec.arg === null ? rows : rows.map((r) => r[spec.arg as string] ?? null).filter((x) => x !== null);
      let value: unknown;
      if (spec.fn === "count") value = BigInt(values.length);
      else if (spec.fn === "min" || spec.fn === "max") {
        const sorted = [...values].sort((a, b) => compareValues(a, spec.kind, b, spec.kind));
        value = (spec.fn === "min" ? sorted[0] : sorted.at(-1)) ?? null;
      } else {
        const sum = sumOf(values);
        if (!sum) value = null;
        else {
          // The shown scale: the largest among the values (Postgres' sum); integers have none.
          const scale = Math.max(0, ...values.map((x) => (typeof x === "string" ? parseDec(x).s : 0)));
          const shown: Dec = { u: sum.u / 10n ** BigInt(sum.s - scale), s: scale };
          if (spec.fn === "avg") value = formatDec(divDec(shown, decOfInt(values.length)));
          else value = spec.t === "int" ? shown.u : formatDec(shown);
        }
      }
      groupRow[`a${j}`] = value;
    });
    if (agg.having && truth(agg.having, [groupRow]) !== true) continue;
    const v: Row = {};
    for (const c of plan.columns) v[c.name] = c.expr ? columnValue(c.expr, [groupRow]) : null;
    out.push({ k: plan.key.map((_, i) => groupRow[`g${i}`] ?? null), v });
  }
  return out;
}

/** The view's rows by their key (values joined by `|`, norm()'d). */
export function naivePlan(plan: ViewPlan, tables: Tables): Map<string, Row> {
  const out = new Map<string, Row>();
  for (const { k, v } of planRows(plan, tables)) out.set(k.map(norm).join("|"), v);
  return out;
}
