// The compiled form of a view: what the apply engine and the query engine execute. Plain JSON (it is
// stored with the view definition), produced only by sql/compile.ts.
import type { KeyKind } from "../keys/encoding.ts";
import type { AvroSchemaJson, TableInfo } from "./catalog.ts";
import type { T } from "./types.ts";

/** One table occurrence in FROM, in FROM order; relation 0 is the driving table. */
export interface Relation {
  alias: string;
  table: TableInfo;
  /** Joined relations: the earlier relation the ON clause equates this one with; null for relation 0. */
  parent: number | null;
  join: "inner" | "left" | null;
  /** ON equalities, pairwise: parent.parentCols[i] = this.childCols[i]. */
  parentCols: string[];
  childCols: string[];
  /** Kinds used to encode join values (the parent's and child's columns compare by value across kinds). */
  joinKinds: KeyKind[];
  /** ON covers this table's whole primary key: at most one match per parent row (no view-key part). */
  manyToOne: boolean;
  /** Columns kept in state: projected, joined on, filtered on, and the key. */
  needed: string[];
  kinds: Record<string, KeyKind>;
}

export interface OutputColumn {
  name: string;
  /** A plain column: its relation and column. A computed one (`expr`): rel -1, column "". */
  rel: number;
  column: string;
  type: AvroSchemaJson;
  /** A computed column: its expression over the joined tuple (an aggregate view's: over its group row). */
  expr?: Ex;
  /** A computed column's key kind (how it compares, encodes and is indexed). */
  kind?: KeyKind;
}

/**
 * One part of the view key: the driving table's key columns, then each one-to-many relation's key columns.
 * An aggregate view's key is its GROUP BY expressions: rel -1, column `g<i>` of its group row.
 */
export interface KeyPart {
  name: string;
  rel: number;
  column: string;
  type: AvroSchemaJson;
  kind: KeyKind;
}

/**
 * A leaf: a column of the tuple's relation `rel`, or a literal. `t` (the SQL type, sql/types.ts) is absent
 * in plans compiled before expressions existed, whose leaves only compare.
 */
export type Operand =
  { col: { rel: number; column: string }; kind: KeyKind; t?: T } | { lit: unknown; kind: KeyKind; t?: T };

export type Cmp = "=" | "<>" | "<" | "<=" | ">" | ">=";

/**
 * An expression (sql/eval.ts evaluates it with SQL's NULL logic). Every node but and/or/not/isnull/like
 * carries its result `kind`, and value nodes their type `t`. Plans of older versions hold only leaves,
 * and/or/not, cmp, in and isnull over leaves: a subset of this.
 */
export type Expr =
  | Operand
  | { op: "and" | "or"; args: Expr[] }
  | { op: "not"; arg: Expr }
  | { op: "cmp"; cmp: Cmp; left: Expr; right: Expr }
  | { op: "in"; negated: boolean; left: Expr; list: Expr[] }
  | { op: "isnull"; negated: boolean; arg: Expr }
  | { op: "like"; negated: boolean; arg: Expr; pattern: Expr }
  | { op: "arith"; fn: "+" | "-" | "*" | "/" | "%"; t: T; kind: KeyKind; args: [Expr, Expr] }
  | { op: "neg"; t: T; kind: KeyKind; arg: Expr }
  | { op: "concat"; t: T; kind: KeyKind; args: Expr[] }
  | { op: "case"; t: T; kind: KeyKind; whens: { when: Expr; then: Expr }[]; else: Expr | null }
  | { op: "coalesce"; t: T; kind: KeyKind; args: Expr[] }
  | { op: "nullif"; t: T; kind: KeyKind; args: [Expr, Expr] }
  | { op: "cast"; t: T; kind: KeyKind; arg: Expr; precision?: number; scale?: number; length?: number };

/** Any expression: WHERE predicates and computed columns share one form. */
export type Ex = Expr;

/** One aggregate of an aggregate view, over a column of its input stage (sql/compile-aggregate.ts). */
export interface AggregateSpec {
  fn: "count" | "sum" | "avg" | "min" | "max";
  /** The input stage's column holding the argument; null for COUNT(*). */
  arg: string | null;
  /** The argument's type and kind: how sums add and how MIN/MAX order. */
  t: T;
  kind: KeyKind;
}

/**
 * GROUP BY: the view's only stage (stages[0]) computes, per joined tuple that passes WHERE, the group
 * values (columns g0..) and the aggregates' arguments; the engine keeps per group the aggregate states
 * (engine/aggregate-apply.ts). Output columns and HAVING are expressions over the group row
 * {g0.., a0..} (relation 0), a<j> being aggregate j's value.
 */
export interface AggregatePlan {
  groups: number;
  aggs: AggregateSpec[];
  having: Expr | null;
}

export interface ViewPlan {
  name: string;
  sql: string;
  relations: Relation[];
  columns: OutputColumn[];
  key: KeyPart[];
  where: Expr | null;
  /** Declared secondary indexes: each a list of output column names. */
  indexes: string[][];
  /**
   * Views this one is computed from, compiled into it and maintained with it in the same LevelDB batch:
   * each view read in FROM (a relation whose topic is `view:<name>`), or an aggregate view's input.
   */
  stages?: ViewPlan[];
  /** GROUP BY (with `stages[0]` its input); relations is then empty. */
  aggregate?: AggregatePlan;
}

/** The topic prefix of a relation that reads another view (a stage of the plan). */
export const VIEW_TOPIC = "view:";

/** The relations of a plan and of all its stages that read Kafka topics: what its runner reads and decodes. */
export function baseRelations(plan: ViewPlan): Relation[] {
  return [
    ...(plan.stages ?? []).flatMap(baseRelations),
    ...plan.relations.filter((r) => !r.table.topic.startsWith(VIEW_TOPIC)),
  ];
}

/** The topic that drives a plan: its first relation's, or that of the stage it reads first. */
export function drivingTopic(plan: ViewPlan): string {
  const first = plan.relations[0]?.table.topic;
  const stage = plan.aggregate
    ? plan.stages?.[0]
    : first?.startsWith(VIEW_TOPIC)
      ? plan.stages?.find((s) => s.name === first.slice(VIEW_TOPIC.length))
      : undefined;
  return stage ? drivingTopic(stage) : (first ?? "");
}

export interface IndexStatement {
  view: string;
  columns: string[];
}

/** A plan and every stage in it, stages first. */
export function allPlans(plan: ViewPlan): ViewPlan[] {
  return [...(plan.stages ?? []).flatMap(allPlans), plan];
}

/** The columns an expression reads. */
export function exprColumns(e: Expr | null | undefined): { rel: number; column: string }[] {
  if (!e) return [];
  if (!("op" in e)) return "col" in e ? [e.col] : [];
  switch (e.op) {
    case "and":
    case "or":
    case "concat":
    case "coalesce":
    case "nullif":
    case "arith":
      return (e.args as Expr[]).flatMap(exprColumns);
    case "not":
    case "isnull":
    case "neg":
    case "cast":
      return exprColumns(e.arg);
    case "cmp":
      return [...exprColumns(e.left), ...exprColumns(e.right)];
    case "in":
      return [e.left, ...e.list].flatMap(exprColumns);
    case "like":
      return [...exprColumns(e.arg), ...exprColumns(e.pattern)];
    case "case":
      return [
        ...e.whens.flatMap((w) => [...exprColumns(w.when), ...exprColumns(w.then)]),
        ...exprColumns(e.else),
      ];
  }
}
