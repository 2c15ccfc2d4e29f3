// Compiles a WHERE clause (node-sql-parser AST) into a plan Expr: =, <>, <, <=, >, >=, IN, IS [NOT] NULL,
// AND, OR, NOT over columns and literals. Numeric literals stay exact decimal text; a string literal
// compared with a numeric column is read as a number (as Postgres coerces it).
import type { KeyKind } from "../keys/encoding.ts";
import type { Expr, Operand } from "./plan.ts";
import { bad, locate, locOf, type SqlText } from "./sql-error.ts";

export type Node = Record<string, unknown>;

export interface Resolver {
  /** Resolves a column_ref among relations [0, upTo); throws MESH_BAD_SQL if unknown or ambiguous. */
  resolve(ref: Node, upTo: number): { rel: number; column: string; kind: KeyKind };
}

const COMPARISONS: Record<string, "=" | "<>" | "<" | "<=" | ">" | ">="> = {
  "=": "=",
  "<>": "<>",
  "!=": "<>",
  "<": "<",
  "<=": "<=",
  ">": ">",
  ">=": ">=",
};

const numeric = (k: KeyKind): boolean => k === "number" || k === "decimal";

function operand(text: SqlText, n: Node, resolver: Resolver, upTo: number): Operand {
  switch (n.type) {
    case "column_ref": {
      const r = resolver.resolve(n, upTo);
      return { col: { rel: r.rel, column: r.column }, kind: r.kind };
    }
    case "number":
    case "bigint":
      return { lit: String(n.value), kind: "decimal" };
    case "single_quote_string":
    case "string":
      return { lit: String(n.value), kind: "string" };
    case "bool":
      return { lit: Boolean(n.value), kind: "boolean" };
    case "null":
      return { lit: null, kind: "any" };
    default:
      throw bad(
        text,
        `the expression ${String(n.type)} (only columns and literals)`,
        locOf(n) ?? locate(text.sql, /\bwhere\b/gi),
      );
  }
}

/** Makes two operands comparable: a string literal against a number column becomes a number; refuses mixes. */
function unify(text: SqlText, l: Operand, r: Operand, at: Node): [Operand, Operand] {
  const fix = (lit: Operand, other: Operand): Operand => {
    if ("lit" in lit && typeof lit.lit === "string" && lit.kind === "string" && numeric(other.kind)) {
      if (!/^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(lit.lit))
        throw bad(text, `comparing a number with the text '${lit.lit}'`, locOf(at));
      return { lit: lit.lit.trim(), kind: "decimal" };
    }
    return lit;
  };
  const a = fix(l, r);
  const b = fix(r, l);
  const ok =
    a.kind === "any" || b.kind === "any" || a.kind === b.kind || (numeric(a.kind) && numeric(b.kind));
  if (!ok) throw bad(text, `comparing ${a.kind} with ${b.kind}`, locOf(at));
  return [a, b];
}

export function compileExpr(text: SqlText, n: Node, resolver: Resolver, upTo: number): Expr {
  if (n.type === "unary_expr" && String(n.operator).toUpperCase() === "NOT") {
    return { op: "not", arg: compileExpr(text, n.expr as Node, resolver, upTo) };
  }
  // node-sql-parser reads `NOT (x)` as a call of a function named NOT with one argument.
  const notArg = notCallArgument(n);
  if (notArg) return { op: "not", arg: compileExpr(text, notArg, resolver, upTo) };
  if (n.type !== "binary_expr")
    throw bad(text, `the predicate ${String(n.type)}`, locOf(n) ?? locate(text.sql, /\bwhere\b/gi));
  const operator = String(n.operator).toUpperCase();
  if (operator === "AND" || operator === "OR") {
    return {
      op: operator === "AND" ? "and" : "or",
      args: [
        compileExpr(text, n.left as Node, resolver, upTo),
        compileExpr(text, n.right as Node, resolver, upTo),
      ],
    };
  }
  const cmp = COMPARISONS[operator];
  if (cmp) {
    const [left, right] = unify(
      text,
      operand(text, n.left as Node, resolver, upTo),
      operand(text, n.right as Node, resolver, upTo),
      n,
    );
    return { op: "cmp", cmp, left, right };
  }
  if (operator === "IN" || operator === "NOT IN") {
    const list = n.right as Node;
    if (list.type !== "expr_list") throw bad(text, "IN with a subquery (only a list of literals)", locOf(n));
    const left = operand(text, n.left as Node, resolver, upTo);
    const items = (list.value as Node[]).map(
      (item) => unify(text, left, operand(text, item, resolver, upTo), n)[1],
    );
    return { op: "in", negated: operator === "NOT IN", left, list: items };
  }
  if ((operator === "IS" || operator === "IS NOT") && (n.right as Node).type === "null") {
    return {
      op: "isnull",
      negated: operator === "IS NOT",
      arg: operand(text, n.left as Node, resolver, upTo),
    };
  }
  throw bad(text, `the operator ${operator}`, locOf(n));
}

/** The argument of `NOT (x)` as node-sql-parser parses it (a function named NOT), else null. */
function notCallArgument(n: Node): Node | null {
  if (n.type !== "function") return null;
  const parts = ((n.name as Node | undefined)?.name ?? []) as Node[];
  const args = ((n.args as Node | undefined)?.value ?? []) as Node[];
  if (parts.length !== 1 || String(parts[0]?.value).toUpperCase() !== "NOT" || args.length !== 1) return null;
  return args[0] as Node;
}
