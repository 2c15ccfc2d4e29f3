// What compiling an expression works with (compile-expr.ts, compile-literal.ts, compile-aggregate.ts): the
// AST node shape, the column resolver, the context, a compiled expression with its SQL type.
import type { KeyKind } from "../keys/encoding.ts";
import type { AvroSchemaJson } from "./catalog.ts";
import type { Expr } from "./plan.ts";
import type { SqlText } from "./sql-error.ts";
import type { SqlType, T } from "./types.ts";

export type Node = Record<string, unknown>;

export interface Resolver {
  /** Resolves a column_ref among relations [0, upTo); throws MESH_BAD_SQL if unknown or ambiguous. */
  resolve(ref: Node, upTo: number): { rel: number; column: string; kind: KeyKind; type: AvroSchemaJson };
}

export interface Typed {
  e: Expr;
  type: SqlType;
}

export interface ExprContext {
  text: SqlText;
  resolver: Resolver;
  /** Relations [0, upTo) are in scope. */
  upTo: number;
  /**
   * Aggregate views: what a node means at the group level (a GROUP BY expression or an aggregate call),
   * or undefined to compile it as usual; column references outside both are refused by it.
   */
  grouped?: (n: Node) => Typed | undefined;
}

const TYPE_NAMES: Record<T, string> = {
  int: "integer",
  long: "bigint",
  decimal: "numeric",
  double: "double precision",
  string: "text",
  boolean: "boolean",
  bytes: "bytea",
  other: "a non-computable type",
  unknown: "text",
  null: "NULL",
};

export const typeName = (st: SqlType): string => TYPE_NAMES[st.t];

/** A parser field that should be text, as text ("" when it is not). */
export const textOf = (v: unknown): string =>
  typeof v === "string" ? v : typeof v === "number" ? String(v) : "";
