// Owns where a view's columns come from, traced through its compiled plan (materializer/sql/plan.ts): for
// each column the view shows, the base table columns (topic, column) it is computed from and whether any
// expression lies on the way; and the base columns that decide which rows exist or what identifies them
// (WHERE, JOIN ... ON, keys, GROUP BY, HAVING, at every stage of views over views). The access decision
// (decide.ts) masks the first kind and refuses a view whose second kind is masked for the reader. Pure.
import { exprColumns, VIEW_TOPIC, type ViewPlan } from "../../materializer/sql/plan.ts";

export interface BaseColumn {
  topic: string;
  column: string;
}

export interface ColumnOrigin {
  columns: BaseColumn[];
  /** An expression (computed column, aggregate) lies between the base columns and the view's column. */
  computed: boolean;
}

export interface ViewLineage {
  /** The base (Kafka) topics the view reads, at every stage. */
  topics: string[];
  /** Each column the view serves (its columns, then key columns it does not show) → where it comes from. */
  outputs: Map<string, ColumnOrigin>;
  /** Base columns that filter, join, key or group the view's rows. */
  constraining: BaseColumn[];
}

const none: ColumnOrigin = { columns: [], computed: false };

function merge(parts: ColumnOrigin[], computed: boolean): ColumnOrigin {
  return { columns: parts.flatMap((p) => p.columns), computed: computed || parts.some((p) => p.computed) };
}

/** A column of relation `rel` of `plan` (of an aggregate plan: `g<i>`/`a<j>` of its group row). */
function resolveColumn(plan: ViewPlan, rel: number, column: string): ColumnOrigin {
  if (plan.aggregate) {
    const stage = plan.stages?.[0];
    if (!stage) return none;
    if (/^g\d+$/.test(column)) return resolveOutput(stage, column);
    const agg = /^a(\d+)$/.exec(column);
    const spec = agg ? plan.aggregate.aggs[Number(agg[1])] : undefined;
    if (spec) return merge([spec.arg === null ? none : resolveOutput(stage, spec.arg)], true);
    return none;
  }
  const relation = plan.relations[rel];
  if (!relation) return none;
  const topic = relation.table.topic;
  if (!topic.startsWith(VIEW_TOPIC)) return { columns: [{ topic, column }], computed: false };
  const stage = plan.stages?.find((s) => s.name === topic.slice(VIEW_TOPIC.length));
  return stage ? resolveOutput(stage, column) : none;
}

/** A column (or key column) `name` that `plan` serves. */
function resolveOutput(plan: ViewPlan, name: string): ColumnOrigin {
  const out = plan.columns.find((c) => c.name === name) ?? plan.key.find((k) => k.name === name);
  if (!out) return none;
  if ("expr" in out && out.expr)
    return merge(
      exprColumns(out.expr).map((c) => resolveColumn(plan, c.rel, c.column)),
      true,
    );
  return resolveColumn(plan, out.rel, out.column);
}

function constraining(plan: ViewPlan): BaseColumn[] {
  const at = (rel: number, column: string): BaseColumn[] => resolveColumn(plan, rel, column).columns;
  const own: BaseColumn[] = [
    ...exprColumns(plan.where).flatMap((c) => at(c.rel, c.column)),
    ...plan.relations.flatMap((r, i) =>
      r.parent === null
        ? []
        : [...r.parentCols.flatMap((c) => at(r.parent ?? 0, c)), ...r.childCols.flatMap((c) => at(i, c))],
    ),
    ...plan.key.flatMap((k) => resolveOutput(plan, k.name).columns),
  ];
  if (plan.aggregate) {
    own.push(...exprColumns(plan.aggregate.having).flatMap((c) => at(c.rel, c.column)));
    for (let i = 0; i < plan.aggregate.groups; i++) own.push(...at(0, `g${i}`));
  }
  return [...own, ...(plan.stages ?? []).flatMap(constraining)];
}

function baseTopics(plan: ViewPlan): string[] {
  return [
    ...plan.relations.map((r) => r.table.topic).filter((t) => !t.startsWith(VIEW_TOPIC)),
    ...(plan.stages ?? []).flatMap(baseTopics),
  ];
}

export function viewLineage(plan: ViewPlan): ViewLineage {
  const outputs = new Map<string, ColumnOrigin>();
  for (const c of plan.columns) outputs.set(c.name, resolveOutput(plan, c.name));
  for (const k of plan.key) if (!outputs.has(k.name)) outputs.set(k.name, resolveOutput(plan, k.name));
  const seen = new Set<string>();
  const unique = constraining(plan).filter((c) => {
    const id = `${c.topic}\u0000${c.column}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  return { topics: [...new Set(baseTopics(plan))].sort(), outputs, constraining: unique };
}
