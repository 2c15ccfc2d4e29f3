// Compiles a GROUP BY view: COUNT(*), COUNT(x), SUM, AVG, MIN, MAX over the joined tuples that pass WHERE,
// grouped by expressions (GROUP BY items may also be select-list positions or output names), with HAVING.
// The plan has one stage, `input`: a join view (same FROM and WHERE, keyed by the join's key) whose columns
// are the group values g0.. and the aggregates' arguments x0..; the engine turns that stage's row changes
// into group updates (engine/aggregate-apply.ts). The view's columns and HAVING are expressions over the
// group row {g0.., a0..}: a select item equal to a GROUP BY expression is that group value, an aggregate
// call is its a<j>; any other column reference is refused, as Postgres refuses it.
import { isMeshError } from "../../lib/errors.ts";
import {
  compilePredicate,
  compileValue,
  figureName,
  typeName,
  type ExprContext,
  type Node,
  type Resolver,
  type Typed,
} from "./compile-expr.ts";
import { convertLiteral } from "./compile-literal.ts";
import type { AggregateSpec, Expr, KeyPart, OutputColumn, Relation, ViewPlan } from "./plan.ts";
import { bad, locate, locOf, type SqlText } from "./sql-error.ts";
import { avroOfType, kindOfType, type SqlType } from "./types.ts";

export interface AggregateInput {
  text: SqlText;
  name: string;
  select: Node;
  relations: Relation[];
  resolver: Resolver;
  where: Expr | null;
  stages: ViewPlan[];
  /** The join key of a plan with these columns (compile.ts: driving key, then one-to-many keys). */
  joinKey: (columns: OutputColumn[]) => KeyPart[];
}

const FNS = ["COUNT", "SUM", "AVG", "MIN", "MAX"] as const;

/** Whether a select list or HAVING holds an aggregate call (then the view is an aggregate view). */
export function hasAggregate(n: unknown): boolean {
  if (Array.isArray(n)) return n.some(hasAggregate);
  if (n === null || typeof n !== "object") return false;
  const node = n as Node;
  if (node.type === "aggr_func") return true;
  return Object.entries(node).some(([k, v]) => k !== "loc" && typeof v === "object" && hasAggregate(v));
}

const json = (e: Expr): string => JSON.stringify(e);

function leaf(column: string, type: SqlType): Typed {
  return { e: { col: { rel: 0, column }, kind: kindOfType(type), t: type.t }, type };
}

/**
 * The result type of an aggregate over an argument of type `arg`, as Postgres types it: count is bigint,
 * sum of integer bigint, other sums and averages numeric; MIN and MAX keep the argument's type but a
 * numeric's declared precision and scale (Postgres' aggregates drop type modifiers).
 */
function resultOf(fn: AggregateSpec["fn"], arg: SqlType): SqlType {
  if (fn === "count") return { t: "long" };
  if (fn === "sum") return arg.t === "int" ? { t: "long" } : { t: "decimal" };
  if (fn === "avg") return { t: "decimal" };
  return arg.t === "decimal" ? { t: "decimal" } : arg;
}

/** A plain column leaf as a plain output column; anything else computed. */
function inputColumn(name: string, v: Typed, relations: Relation[]): OutputColumn {
  const e = v.e;
  if (!("op" in e) && "col" in e) {
    const rel = relations[e.col.rel] as Relation;
    const type = rel.table.columns.find((c) => c.name === e.col.column)?.type ?? avroOfType(v.type);
    return { name, rel: e.col.rel, column: e.col.column, type };
  }
  return { name, rel: -1, column: "", type: avroOfType(v.type), expr: e, kind: kindOfType(v.type) };
}

export function compileAggregate(input: AggregateInput): ViewPlan {
  const { text, select, relations, resolver } = input;
  const tuple: ExprContext = { text, resolver, upTo: relations.length };
  const items = ((select.columns as Node[] | null) ?? []).map((item) => ({
    expr: item.expr as Node,
    as: typeof item.as === "string" && item.as !== "" ? item.as : null,
  }));
  const groupNodes = ((select.groupby as Node | null)?.columns as Node[] | null) ?? [];
  if (groupNodes.length === 0)
    throw bad(
      text,
      "an aggregate without GROUP BY (a view of one global row is not served: add GROUP BY)",
      locate(text.sql, /\b(count|sum|avg|min|max)\s*\(/gi),
    );

  // GROUP BY items: expressions over the tuple, or a select item by position or by output name.
  const groupSources = groupNodes.map((n) => {
    if (n.type === "number" && typeof n.value === "number") {
      const item = items[n.value - 1];
      if (!item)
        throw bad(text, `GROUP BY position ${n.value}, which the select list does not have`, locOf(n));
      return item.expr;
    }
    if (n.type === "column_ref" && !n.table) {
      const alias = items.find((i) => i.as === figureName(n));
      if (alias) {
        try {
          resolver.resolve(n, relations.length);
        } catch (err) {
          if (isMeshError(err)) return alias.expr;
          throw err;
        }
      }
    }
    return n;
  });
  const groups = groupSources.map((n) => {
    const g = compileValue(tuple, n);
    return g.type.t === "unknown" || g.type.t === "null" ? convertLiteral(tuple, g, { t: "string" }, n) : g;
  });
  const groupJson = groups.map((g) => json(g.e));

  const args: Typed[] = [];
  const specs: AggregateSpec[] = [];
  const results: SqlType[] = [];
  const aggregate = (n: Node): Typed => {
    const name = String(n.name).toUpperCase();
    const where = locOf(n) ?? locate(text.sql, new RegExp(`\\b${name}\\s*\\(`, "gi"));
    if (!(FNS as readonly string[]).includes(name))
      throw bad(text, `the aggregate ${name} (only COUNT, SUM, AVG, MIN, MAX)`, where);
    if (n.over) throw bad(text, `the window function ${name}`, where);
    const a = (n.args as Node | null) ?? {};
    if (a.distinct) throw bad(text, `${name}(DISTINCT ...)`, where);
    if (a.orderby || a.filter || n.filter) throw bad(text, `${name} with ORDER BY or FILTER`, where);
    const fn = name.toLowerCase() as AggregateSpec["fn"];
    const argNode = a.expr as Node | undefined;
    let arg: Typed | null = null;
    if (argNode?.type === "star") {
      if (fn !== "count") throw bad(text, `${name}(*)`, where);
    } else if (argNode) {
      arg = compileValue(tuple, argNode);
      const t = arg.type.t;
      const ok =
        fn === "count" ||
        ((fn === "sum" || fn === "avg") && (t === "int" || t === "long" || t === "decimal")) ||
        ((fn === "min" || fn === "max") && !["boolean", "bytes", "unknown", "null"].includes(t));
      if (!ok)
        throw bad(
          text,
          `${name} of ${typeName(arg.type)}${t === "double" ? " (sums of floats are inexact under deletes)" : ""}`,
          where,
        );
    } else throw bad(text, `${name} without an argument`, where);
    let argColumn: string | null = null;
    if (arg) {
      let k = args.findIndex((x) => json(x.e) === json(arg.e));
      if (k < 0) {
        k = args.length;
        args.push(arg);
      }
      argColumn = `x${k}`;
    }
    let j = specs.findIndex((s) => s.fn === fn && s.arg === argColumn);
    if (j < 0) {
      j = specs.length;
      const argType = arg?.type ?? { t: "long" };
      specs.push({ fn, arg: argColumn, t: argType.t, kind: kindOfType(argType) });
      results.push(resultOf(fn, argType));
    }
    return leaf(`a${j}`, results[j] as SqlType);
  };

  const group: ExprContext = {
    text,
    resolver,
    upTo: relations.length,
    grouped: (n) => {
      if (n.type === "aggr_func") return aggregate(n);
      let c: Typed | null = null;
      try {
        c = compileValue(tuple, n);
      } catch (err) {
        if (!isMeshError(err)) throw err;
      }
      const i = c ? groupJson.indexOf(json(c.e)) : -1;
      if (i >= 0) return leaf(`g${i}`, (groups[i] as Typed).type);
      if (n.type === "column_ref")
        throw bad(
          text,
          `the column ${figureName(n)} outside GROUP BY and aggregates (it must appear in the GROUP BY clause or be used in an aggregate function)`,
          locate(text.sql, new RegExp(`\\b${figureName(n)}\\b`, "g")),
        );
      return undefined;
    },
  };

  const columns: OutputColumn[] = [];
  for (const item of items) {
    if (item.expr.type === "column_ref" && figureName(item.expr) === "*")
      throw bad(text, "* in a GROUP BY view (name the columns)", locate(text.sql, /\*/g));
    let v = compileValue(group, item.expr);
    if (v.type.t === "unknown" || v.type.t === "null")
      v = convertLiteral(group, v, { t: "string" }, item.expr);
    const name = item.as ?? figureName(item.expr, v.type.t);
    if (columns.some((c) => c.name === name))
      throw bad(
        text,
        `the output column ${name}, specified more than once (use AS)`,
        locate(text.sql, new RegExp(`\\b${name.replace(/\W/g, "")}\\b`, "g")),
      );
    columns.push({
      name,
      rel: -1,
      column: "",
      type: avroOfType(v.type),
      expr: v.e,
      kind: kindOfType(v.type),
    });
  }
  const having = select.having ? compilePredicate(group, select.having as Node) : null;

  const key: KeyPart[] = groups.map((g, i) => {
    const own = json(leaf(`g${i}`, g.type).e);
    const shown = columns.find((c) => c.expr && json(c.expr) === own);
    let name = shown?.name ?? figureName(groupSources[i] as Node, g.type.t);
    if (!shown && (columns.some((c) => c.name === name) || name === "?column?")) name = `group_${i + 1}`;
    return { name, rel: -1, column: `g${i}`, type: avroOfType(g.type), kind: kindOfType(g.type) };
  });
  if (new Set(key.map((k) => k.name)).size < key.length)
    throw bad(text, "GROUP BY the same expression twice", locate(text.sql, /group\s+by/gi));

  const inputColumns = [
    ...groups.map((g, i) => inputColumn(`g${i}`, g, relations)),
    ...args.map((a, k) => inputColumn(`x${k}`, a, relations)),
  ];
  const stage: ViewPlan = {
    name: "input",
    sql: text.sql,
    relations,
    columns: inputColumns,
    key: input.joinKey(inputColumns),
    where: input.where,
    indexes: [],
    ...(input.stages.length > 0 ? { stages: input.stages } : {}),
  };
  return {
    name: input.name,
    sql: text.sql,
    relations: [],
    columns,
    key,
    where: null,
    indexes: [],
    stages: [stage],
    aggregate: { groups: groups.length, aggs: specs, having },
  };
}
