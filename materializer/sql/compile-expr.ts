// Compiles expressions (node-sql-parser AST) into plan Exprs with their SQL types (types.ts): columns and
// literals, + - * / % (integers and exact decimals; double only with double), unary minus, ||, CASE (both
// forms), COALESCE, NULLIF, CAST/:: between the lossless types, comparisons, IN, BETWEEN, LIKE,
// IS [NOT] NULL, AND/OR/NOT. Types resolve as Postgres resolves them for these types: numbers widen
// (int < bigint < numeric < double), a quoted literal takes the type of what it meets, and an integer
// literal is int, or bigint when it does not fit, or numeric. Anything else is MESH_BAD_SQL with its
// position. Aggregate views hook in through `ExprContext.grouped` (compile-aggregate.ts).
import { formatDec, parseDec } from "./decimal.ts";
import { convertLiteral, castTarget, castAllowed } from "./compile-literal.ts";
import { textOf, typeName, type ExprContext, type Node, type Typed } from "./expr-context.ts";
import type { Cmp, Expr } from "./plan.ts";
import { bad, locate, locOf, type Position } from "./sql-error.ts";
import {
  arithmeticType,
  commonType,
  isNumeric,
  kindOfType,
  typeOfAvro,
  type SqlType,
  type T,
} from "./types.ts";

export { textOf, typeName };
export type { ExprContext, Node, Resolver, Typed } from "./expr-context.ts";

const COMPARISONS: Record<string, Cmp> = {
  "=": "=",
  "<>": "<>",
  "!=": "<>",
  "<": "<",
  "<=": "<=",
  ">": ">",
  ">=": ">=",
};

const BOOL: SqlType = { t: "boolean" };

export function at(ctx: ExprContext, n: Node, fallback?: RegExp): Position | null {
  return locOf(n) ?? (fallback ? locate(ctx.text.sql, fallback) : null);
}

function leafOf(e: Expr): e is Extract<Expr, { lit: unknown }> {
  return !("op" in e) && "lit" in e;
}

/** A value expression: its Expr and SQL type. */
export function compileValue(ctx: ExprContext, n: Node): Typed {
  const g = ctx.grouped?.(n);
  if (g) return g;
  switch (n.type) {
    case "column_ref": {
      const r = ctx.resolver.resolve(n, ctx.upTo);
      const type = typeOfAvro(r.type);
      return { e: { col: { rel: r.rel, column: r.column }, kind: r.kind, t: type.t }, type };
    }
    case "number":
    case "bigint":
      return numberLiteral(ctx, n);
    case "single_quote_string":
    case "string": {
      const value = String(n.value).replace(/''/g, "'");
      return { e: { lit: value, kind: "string", t: "unknown" }, type: { t: "unknown" } };
    }
    case "bool":
      return { e: { lit: Boolean(n.value), kind: "boolean", t: "boolean" }, type: BOOL };
    case "null":
      return { e: { lit: null, kind: "any", t: "null" }, type: { t: "null" } };
    case "unary_expr":
      return unary(ctx, n);
    case "binary_expr":
      return binary(ctx, n);
    case "case":
      return caseExpr(ctx, n);
    case "function":
      return call(ctx, n);
    case "cast":
      return castExpr(ctx, n);
    case "aggr_func":
      throw bad(
        ctx.text,
        `the aggregate ${String(n.name)} here (aggregates go in the select list or HAVING of a GROUP BY view)`,
        at(ctx, n, new RegExp(`\\b${String(n.name)}\\s*\\(`, "gi")),
      );
    default:
      throw bad(ctx.text, `the expression ${String(n.type)}`, at(ctx, n, /\b(select|where)\b/gi));
  }
}

/** A predicate: a boolean expression (a WHERE, HAVING, ON-less condition, CASE WHEN). */
export function compilePredicate(ctx: ExprContext, n: Node): Expr {
  const v = compileValue(ctx, n);
  if (v.type.t === "boolean" || v.type.t === "null") return v.e;
  if (v.type.t === "unknown" && leafOf(v.e)) return convertLiteral(ctx, v, BOOL, n).e;
  throw bad(ctx.text, `a condition of type ${typeName(v.type)} (a condition must be boolean)`, at(ctx, n));
}

function numberLiteral(ctx: ExprContext, n: Node): Typed {
  const raw = n.value;
  if (typeof raw === "number" && Number.isInteger(raw)) {
    if (raw >= -0x80000000 && raw <= 0x7fffffff)
      return { e: { lit: raw, kind: "number", t: "int" }, type: { t: "int" } };
    return { e: { lit: BigInt(raw), kind: "number", t: "long" }, type: { t: "long" } };
  }
  const text = String(raw);
  if (/^[+-]?\d+$/.test(text)) {
    const v = BigInt(text);
    if (v >= -(2n ** 63n) && v < 2n ** 63n)
      return { e: { lit: v, kind: "number", t: "long" }, type: { t: "long" } };
  }
  let canonical: string;
  try {
    canonical = formatDec(parseDec(text));
  } catch {
    throw bad(ctx.text, `the number ${text}`, at(ctx, n));
  }
  return { e: { lit: canonical, kind: "decimal", t: "decimal" }, type: { t: "decimal" } };
}

function unary(ctx: ExprContext, n: Node): Typed {
  const op = String(n.operator).toUpperCase();
  const arg = n.expr as Node;
  if (op === "NOT") return { e: { op: "not", arg: compilePredicate(ctx, arg) }, type: BOOL };
  const v = compileValue(ctx, arg);
  if (op === "+" && isNumeric(v.type.t)) return v;
  if (op === "-" && isNumeric(v.type.t)) {
    if (leafOf(v.e) && v.type.t === "decimal") {
      const d = parseDec(v.e.lit as string);
      return { e: { ...v.e, lit: formatDec({ u: -d.u, s: d.s }) }, type: v.type };
    }
    const type = { t: v.type.t };
    return { e: { op: "neg", t: type.t, kind: kindOfType(type), arg: v.e }, type };
  }
  throw bad(ctx.text, `the operator ${op} on ${typeName(v.type)}`, at(ctx, n, /[-+]/g));
}

/** Brings two operands to the type they meet in (literals converted), or refuses the pair. */
export function unify(ctx: ExprContext, a: Typed, b: Typed, n: Node, what: string): [Typed, Typed, SqlType] {
  const common = commonType(a.type, b.type);
  if (!common) throw bad(ctx.text, `${what} ${typeName(a.type)} with ${typeName(b.type)}`, at(ctx, n));
  return [convertLiteral(ctx, a, common, n), convertLiteral(ctx, b, common, n), common];
}

function binary(ctx: ExprContext, n: Node): Typed {
  const op = String(n.operator).toUpperCase();
  const left = n.left as Node;
  const right = n.right as Node;
  if (op === "AND" || op === "OR") {
    const args = [compilePredicate(ctx, left), compilePredicate(ctx, right)];
    return { e: { op: op === "AND" ? "and" : "or", args }, type: BOOL };
  }
  const cmp = COMPARISONS[op];
  if (cmp) {
    const [l, r] = unify(ctx, compileValue(ctx, left), compileValue(ctx, right), n, "comparing");
    return { e: { op: "cmp", cmp, left: l.e, right: r.e }, type: BOOL };
  }
  if (op === "IN" || op === "NOT IN") {
    if (right.type !== "expr_list") throw bad(ctx.text, "IN with a subquery (only a list)", at(ctx, n));
    let l = compileValue(ctx, left);
    const items = (right.value as Node[]).map((item) => compileValue(ctx, item));
    let common = l.type;
    for (const item of items) {
      const c = commonType(common, item.type);
      if (!c) throw bad(ctx.text, `comparing ${typeName(l.type)} with ${typeName(item.type)}`, at(ctx, n));
      common = c;
    }
    l = convertLiteral(ctx, l, common, n);
    const list = items.map((item) => convertLiteral(ctx, item, common, n).e);
    return { e: { op: "in", negated: op === "NOT IN", left: l.e, list }, type: BOOL };
  }
  if (op === "IS" || op === "IS NOT") {
    if (right.type !== "null")
      throw bad(
        ctx.text,
        `${op} ${String(right.value ?? right.type).toUpperCase()} (only IS [NOT] NULL)`,
        at(ctx, n),
      );
    return { e: { op: "isnull", negated: op === "IS NOT", arg: compileValue(ctx, left).e }, type: BOOL };
  }
  if (op === "BETWEEN" || op === "NOT BETWEEN") {
    const [lo, hi] = (right.value as Node[] | undefined) ?? [];
    if (!lo || !hi) throw bad(ctx.text, "BETWEEN without two bounds", at(ctx, n));
    const x = compileValue(ctx, left);
    const [a, l] = unify(ctx, x, compileValue(ctx, lo), n, "comparing");
    const [b, h] = unify(ctx, x, compileValue(ctx, hi), n, "comparing");
    const range: Expr = {
      op: "and",
      args: [
        { op: "cmp", cmp: ">=", left: a.e, right: l.e },
        { op: "cmp", cmp: "<=", left: b.e, right: h.e },
      ],
    };
    return { e: op === "BETWEEN" ? range : { op: "not", arg: range }, type: BOOL };
  }
  if (op === "LIKE" || op === "NOT LIKE") {
    const a = compileValue(ctx, left);
    const p = compileValue(ctx, right);
    const texty = (t: T): boolean => t === "string" || t === "unknown" || t === "null";
    if (!texty(a.type.t) || !texty(p.type.t))
      throw bad(ctx.text, `LIKE on ${typeName(a.type)} and ${typeName(p.type)} (only text)`, at(ctx, n));
    return { e: { op: "like", negated: op === "NOT LIKE", arg: a.e, pattern: p.e }, type: BOOL };
  }
  // node-sql-parser gives || the precedence of + and -; Postgres binds + and - tighter. Refuse the mix
  // rather than compute something Postgres would not.
  const mixed = (x: Node, ops: string[]): boolean =>
    x.type === "binary_expr" && !x.parentheses && ops.includes(String(x.operator));
  if (
    (op === "||" && (mixed(left, ["+", "-"]) || mixed(right, ["+", "-"]))) ||
    ((op === "+" || op === "-") && (mixed(left, ["||"]) || mixed(right, ["||"])))
  )
    throw bad(ctx.text, "|| next to + or - without parentheses (write a || (b + c))", at(ctx, n));
  if (op === "||") return concat(ctx, n, [left, right]);
  if (["+", "-", "*", "/", "%"].includes(op)) {
    let a = compileValue(ctx, left);
    let b = compileValue(ctx, right);
    const type = arithmeticType(op, a.type, b.type);
    if (!type)
      throw bad(ctx.text, `the operator ${op} on ${typeName(a.type)} and ${typeName(b.type)}`, at(ctx, n));
    // A quoted literal takes the other operand's type (Postgres: int_col + '5' is int + int).
    if (a.type.t === "unknown") a = convertLiteral(ctx, a, b.type, n);
    if (b.type.t === "unknown") b = convertLiteral(ctx, b, a.type, n);
    const fn = op as "+" | "-" | "*" | "/" | "%";
    return { e: { op: "arith", fn, t: type.t, kind: kindOfType(type), args: [a.e, b.e] }, type };
  }
  throw bad(ctx.text, `the operator ${op}`, at(ctx, n));
}

const CONCATENABLE: readonly T[] = ["string", "unknown", "null", "int", "long", "decimal", "boolean"];

function concat(ctx: ExprContext, n: Node, parts: Node[]): Typed {
  const args = parts.map((p) => compileValue(ctx, p));
  const bad1 = args.find((a) => !CONCATENABLE.includes(a.type.t));
  if (bad1 || !args.some((a) => a.type.t === "string" || a.type.t === "unknown"))
    throw bad(
      ctx.text,
      `|| on ${args.map((a) => typeName(a.type)).join(" and ")} (one side must be text; numbers, text and booleans concatenate)`,
      at(ctx, n),
    );
  const type: SqlType = { t: "string" };
  return { e: { op: "concat", t: "string", kind: "string", args: args.map((a) => a.e) }, type };
}

/** The type a list of results meets in (CASE branches, COALESCE arguments), literals converted to it. */
function resultType(ctx: ExprContext, items: Typed[], n: Node, what: string): [Typed[], SqlType] {
  let common: SqlType = { t: "null" };
  for (const item of items) {
    const c = commonType(common, item.type);
    if (!c)
      throw bad(
        ctx.text,
        `${what} results of types ${items.map((i) => typeName(i.type)).join(", ")}`,
        at(ctx, n),
      );
    common = c;
  }
  if (common.t === "unknown" || common.t === "null") common = { t: "string" };
  return [items.map((i) => convertLiteral(ctx, i, common, n)), common];
}

function caseExpr(ctx: ExprContext, n: Node): Typed {
  const subject = n.expr ? compileValue(ctx, n.expr as Node) : null;
  const args = (n.args as Node[] | null) ?? [];
  const whens: { when: Expr; then: Typed }[] = [];
  let otherwise: Typed | null = null;
  for (const arm of args) {
    const result = compileValue(ctx, arm.result as Node);
    if (arm.type === "else") {
      otherwise = result;
      continue;
    }
    const cond = arm.cond as Node;
    let when: Expr;
    if (subject) {
      const [s, v] = unify(ctx, subject, compileValue(ctx, cond), n, "CASE comparing");
      when = { op: "cmp", cmp: "=", left: s.e, right: v.e };
    } else when = compilePredicate(ctx, cond);
    whens.push({ when, then: result });
  }
  const [results, type] = resultType(
    ctx,
    [...whens.map((w) => w.then), ...(otherwise ? [otherwise] : [])],
    n,
    "CASE with",
  );
  const e: Expr = {
    op: "case",
    t: type.t,
    kind: kindOfType(type),
    whens: whens.map((w, i) => ({ when: w.when, then: (results[i] as Typed).e })),
    else: otherwise ? (results[whens.length] as Typed).e : null,
  };
  return { e, type };
}

export function functionName(n: Node): string {
  const parts = ((n.name as Node | undefined)?.name ?? []) as Node[];
  return parts.map((p) => String(p.value)).join(".");
}

function call(ctx: ExprContext, n: Node): Typed {
  const name = functionName(n).toUpperCase();
  const argNodes = ((n.args as Node | undefined)?.value ?? []) as Node[];
  const where = at(ctx, n, new RegExp(`\\b${name}\\s*\\(`, "gi"));
  // node-sql-parser reads `NOT (x)` as a call of a function named NOT with one argument.
  if (name === "NOT" && argNodes.length === 1)
    return { e: { op: "not", arg: compilePredicate(ctx, argNodes[0] as Node) }, type: BOOL };
  if (n.over) throw bad(ctx.text, `the window function ${name}`, where);
  if (name === "COALESCE" && argNodes.length >= 1) {
    const [args, type] = resultType(
      ctx,
      argNodes.map((a) => compileValue(ctx, a)),
      n,
      "COALESCE with",
    );
    return { e: { op: "coalesce", t: type.t, kind: kindOfType(type), args: args.map((a) => a.e) }, type };
  }
  if (name === "NULLIF" && argNodes.length === 2) {
    const a = compileValue(ctx, argNodes[0] as Node);
    const b = compileValue(ctx, argNodes[1] as Node);
    const [x, y, common] = unify(ctx, a, b, n, "NULLIF comparing");
    const type = a.type.t === "unknown" || a.type.t === "null" ? common : x.type;
    return { e: { op: "nullif", t: type.t, kind: kindOfType(type), args: [x.e, y.e] }, type };
  }
  throw bad(
    ctx.text,
    `the function ${name}${["COALESCE", "NULLIF"].includes(name) ? " with these arguments" : ""}`,
    where,
  );
}

function castExpr(ctx: ExprContext, n: Node): Typed {
  const target = ((n.target as Node[] | undefined) ?? [])[0] ?? {};
  const where = at(ctx, n, /(::|\bcast\b)/gi);
  const to = castTarget(ctx, target, where);
  const v = compileValue(ctx, n.expr as Node);
  if (!castAllowed(v.type.t, to.type.t))
    throw bad(ctx.text, `a cast from ${typeName(v.type)} to ${String(target.dataType)}`, where);
  const e: Expr = {
    op: "cast",
    t: to.type.t,
    kind: kindOfType(to.type),
    arg: v.e,
    ...(to.precision !== undefined ? { precision: to.precision, scale: to.scale ?? 0 } : {}),
    ...(to.length !== undefined ? { length: to.length } : {}),
  };
  return { e, type: to.type };
}

const CAST_NAMES: Partial<Record<T, string>> = {
  int: "int4",
  long: "int8",
  decimal: "numeric",
  string: "text",
  boolean: "bool",
};

/** The name Postgres gives an unnamed select item (FigureColname): a column's, a function's, `case`, ... */
export function figureName(n: Node, t?: T): string {
  switch (n.type) {
    case "column_ref": {
      const col = n.column;
      return typeof col === "string" ? col : String(((col as Node).expr as Node).value);
    }
    case "aggr_func":
      return String(n.name).toLowerCase();
    case "function":
      return functionName(n).toLowerCase();
    case "case":
      return "case";
    case "cast": {
      const inner = figureName(n.expr as Node);
      if (inner !== "?column?") return inner;
      const target = textOf(((n.target as Node[] | undefined)?.[0] ?? {}).dataType).toUpperCase();
      return (t && CAST_NAMES[t]) ?? target.toLowerCase();
    }
    case "bool":
      return "bool";
    default:
      return "?column?";
  }
}
