// Evaluates view expressions (plan.ts Expr) over a joined tuple with SQL's semantics: three-valued logic
// (NULL is unknown; AND/OR short-circuit as SQL's truth tables say), NULL in → NULL out for operators,
// exact integer and decimal arithmetic (decimal.ts; 32-bit int and 64-bit bigint results are range-checked
// as Postgres does), comparisons as the key encoding orders values (compare.ts). A value that cannot be computed (division by zero, an
// integer out of range, text that is no number) raises EvalError; columnValue and truth turn it into
// NULL, which is how a view shows it (docs/views.md).
import type { KeyKind } from "../keys/encoding.ts";
import {
  addDec,
  decOfInt,
  decToBigInt,
  divDec,
  fitDec,
  formatDec,
  modDec,
  mulDec,
  parseDec,
  subDec,
  type Dec,
} from "./decimal.ts";
import { EvalError } from "./eval-error.ts";
import { compareValues } from "./compare.ts";
import type { Expr } from "./plan.ts";
import type { T } from "./types.ts";

export type Tuple = readonly (Record<string, unknown> | null)[];

export { compareValues };

const INT_MIN = -0x80000000;
const INT_MAX = 0x7fffffff;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

/** The kind a node's values compare with (boolean nodes yield booleans). */
export function kindOfExpr(e: Expr): KeyKind {
  return "kind" in e ? e.kind : "boolean";
}

/** A node's SQL type, as far as evaluation needs it (old leaves: from their kind). */
export function typeOfExpr(e: Expr): T {
  if ("t" in e && e.t !== undefined) return e.t;
  if (!("op" in e)) return e.kind === "decimal" ? "decimal" : e.kind === "string" ? "string" : "other";
  return "boolean";
}

/** A computed column's value: NULL when it cannot be computed. */
export function columnValue(e: Expr, tuple: Tuple): unknown {
  try {
    return ev(e, tuple);
  } catch {
    return null;
  }
}

/** A predicate's truth (true, false or null: unknown); one that cannot be computed is unknown. */
export function truth(e: Expr, tuple: Tuple): boolean | null {
  try {
    return asBool(ev(e, tuple));
  } catch {
    return null;
  }
}

/** The value of `e` over `tuple`; throws EvalError (or the error of a malformed stored value). */
export function valueOf(e: Expr, tuple: Tuple): unknown {
  return ev(e, tuple);
}

function asBool(v: unknown): boolean | null {
  return v === null || v === undefined ? null : v === true;
}

function ev(e: Expr, t: Tuple): unknown {
  if (!("op" in e)) {
    if ("col" in e) {
      const row = t[e.col.rel];
      return row ? (row[e.col.column] ?? null) : null;
    }
    return e.lit;
  }
  switch (e.op) {
    case "and": {
      let unknown = false;
      for (const a of e.args) {
        const v = asBool(ev(a, t));
        if (v === false) return false;
        if (v === null) unknown = true;
      }
      return unknown ? null : true;
    }
    case "or": {
      let unknown = false;
      for (const a of e.args) {
        const v = asBool(ev(a, t));
        if (v === true) return true;
        if (v === null) unknown = true;
      }
      return unknown ? null : false;
    }
    case "not": {
      const v = asBool(ev(e.arg, t));
      return v === null ? null : !v;
    }
    case "isnull": {
      const isNull = ev(e.arg, t) === null;
      return e.negated ? !isNull : isNull;
    }
    case "cmp": {
      const l = ev(e.left, t);
      if (l === null) return null;
      const r = ev(e.right, t);
      if (r === null) return null;
      const c = compareValues(l, kindOfExpr(e.left), r, kindOfExpr(e.right));
      switch (e.cmp) {
        case "=":
          return c === 0;
        case "<>":
          return c !== 0;
        case "<":
          return c < 0;
        case "<=":
          return c <= 0;
        case ">":
          return c > 0;
        case ">=":
          return c >= 0;
      }
      return null;
    }
    case "in": {
      const l = ev(e.left, t);
      if (l === null) return null;
      const lk = kindOfExpr(e.left);
      let sawNull = false;
      for (const item of e.list) {
        const v = ev(item, t);
        if (v === null) sawNull = true;
        else if (compareValues(l, lk, v, kindOfExpr(item)) === 0) return !e.negated;
      }
      return sawNull ? null : e.negated;
    }
    case "like": {
      const v = ev(e.arg, t);
      const p = ev(e.pattern, t);
      if (v === null || p === null) return null;
      const m = likeRegex(p as string).test(v as string);
      return e.negated ? !m : m;
    }
    case "arith": {
      const [a, b] = e.args;
      const x = ev(a, t);
      if (x === null) return null;
      const y = ev(b, t);
      if (y === null) return null;
      return arith(e.fn, e.t, convert(x, typeOfExpr(a), e.t), convert(y, typeOfExpr(b), e.t));
    }
    case "neg": {
      const v = ev(e.arg, t);
      if (v === null) return null;
      const x = convert(v, typeOfExpr(e.arg), e.t);
      if (e.t === "int") return intResult(-(x as number));
      if (e.t === "long") return longResult(-(x as bigint));
      if (e.t === "decimal") {
        const d = parseDec(x as string);
        return formatDec({ u: -d.u, s: d.s });
      }
      return -(x as number);
    }
    case "concat": {
      let out = "";
      for (const a of e.args) {
        const v = ev(a, t);
        if (v === null) return null;
        out += toText(v, typeOfExpr(a));
      }
      return out;
    }
    case "case": {
      for (const w of e.whens)
        if (asBool(ev(w.when, t)) === true) return convert(ev(w.then, t), typeOfExpr(w.then), e.t);
      return e.else ? convert(ev(e.else, t), typeOfExpr(e.else), e.t) : null;
    }
    case "coalesce": {
      for (const a of e.args) {
        const v = ev(a, t);
        if (v !== null) return convert(v, typeOfExpr(a), e.t);
      }
      return null;
    }
    case "nullif": {
      const [a, b] = e.args;
      const x = ev(a, t);
      if (x === null) return null;
      const y = ev(b, t);
      if (y !== null && compareValues(x, kindOfExpr(a), y, kindOfExpr(b)) === 0) return null;
      return convert(x, typeOfExpr(a), e.t);
    }
    case "cast": {
      const v = ev(e.arg, t);
      if (v === null) return null;
      return cast(v, typeOfExpr(e.arg), e);
    }
  }
}

function intResult(n: number): number {
  if (!Number.isInteger(n) || n < INT_MIN || n > INT_MAX) throw new EvalError("integer out of range");
  return n + 0; // no -0
}

function longResult(n: bigint): bigint {
  if (n < LONG_MIN || n > LONG_MAX) throw new EvalError("bigint out of range");
  return n;
}

function arith(fn: string, type: T, x: unknown, y: unknown): unknown {
  if (type === "int") {
    const a = x as number;
    const b = y as number;
    switch (fn) {
      case "+":
        return intResult(a + b);
      case "-":
        return intResult(a - b);
      case "*":
        // Exact below 2^53, and a product that large is out of range anyway.
        return intResult(a * b);
      case "/":
        if (b === 0) throw new EvalError("division by zero");
        return intResult(Math.trunc(a / b));
      default:
        if (b === 0) throw new EvalError("division by zero");
        return intResult(a % b);
    }
  }
  if (type === "long") {
    const a = x as bigint;
    const b = y as bigint;
    switch (fn) {
      case "+":
        return longResult(a + b);
      case "-":
        return longResult(a - b);
      case "*":
        return longResult(a * b);
      case "/":
        if (b === 0n) throw new EvalError("division by zero");
        return longResult(a / b);
      default:
        if (b === 0n) throw new EvalError("division by zero");
        return a % b;
    }
  }
  if (type === "decimal") {
    const a = parseDec(x as string);
    const b = parseDec(y as string);
    const ops: Record<string, (p: Dec, q: Dec) => Dec> = {
      "+": addDec,
      "-": subDec,
      "*": mulDec,
      "/": divDec,
      "%": modDec,
    };
    return formatDec((ops[fn] as (p: Dec, q: Dec) => Dec)(a, b));
  }
  const a = x as number;
  const b = y as number;
  if (fn === "/" && b === 0) throw new EvalError("division by zero");
  const r = fn === "+" ? a + b : fn === "-" ? a - b : fn === "*" ? a * b : a / b;
  if (!Number.isFinite(r) && Number.isFinite(a) && Number.isFinite(b))
    throw new EvalError("value out of range: overflow");
  return r;
}

/** Implicit widening to the type an operator or CASE computes in (int < bigint < numeric < double). */
export function convert(v: unknown, from: T, to: T): unknown {
  if (v === null || from === to) return v;
  switch (to) {
    case "long":
      return typeof v === "bigint" ? v : BigInt(v as number);
    case "decimal":
      return typeof v === "string" ? v : (v as number | bigint).toString();
    case "double":
      return typeof v === "number" ? v : Number(v);
    default:
      return v;
  }
}

function toText(v: unknown, from: T): string {
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number" || typeof v === "bigint") return v.toString();
  throw new EvalError(`cannot show a ${from} value as text`);
}

const INTEGER_TEXT = /^\s*[+-]?\d+\s*$/;

function toInteger(v: unknown, from: T): bigint {
  if (typeof v === "boolean") return v ? 1n : 0n;
  if (typeof v === "number" || typeof v === "bigint") return BigInt(v);
  const s = v as string;
  if (from === "decimal") return decToBigInt(parseDec(s));
  if (!INTEGER_TEXT.test(s)) throw new EvalError(`invalid input syntax for type integer: "${s}"`);
  return BigInt(s.trim());
}

const TRUE_WORDS = ["true", "yes", "on", "1"];
const FALSE_WORDS = ["false", "no", "off", "0"];

/** Postgres' boolin: a case-insensitive unique prefix of true/false/yes/no, on/off, 1/0. */
function toBoolean(v: unknown): boolean {
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v !== 0;
  const s = (v as string).trim().toLowerCase();
  const match = (words: string[]): boolean =>
    s.length > 0 && words.some((w) => w.startsWith(s) && (s.length > 1 || (w !== "on" && w !== "off")));
  if (match(TRUE_WORDS)) return true;
  if (match(FALSE_WORDS)) return false;
  throw new EvalError(`invalid input syntax for type boolean: "${s}"`);
}

function cast(v: unknown, from: T, e: Extract<Expr, { op: "cast" }>): unknown {
  switch (e.t) {
    case "int": {
      const n = toInteger(v, from);
      if (n < BigInt(INT_MIN) || n > BigInt(INT_MAX)) throw new EvalError("integer out of range");
      return Number(n);
    }
    case "long":
      return longResult(toInteger(v, from));
    case "decimal": {
      const d =
        typeof v === "number" || typeof v === "bigint"
          ? decOfInt(v)
          : typeof v === "boolean"
            ? (() => {
                throw new EvalError("cannot cast boolean to numeric");
              })()
            : parseDec(v as string);
      return formatDec(e.precision === undefined ? d : fitDec(d, e.precision, e.scale ?? 0));
    }
    case "string": {
      const s = toText(v, from);
      if (e.length === undefined) return s;
      const chars = [...s];
      return chars.length > e.length ? chars.slice(0, e.length).join("") : s;
    }
    case "boolean":
      return toBoolean(v);
    default:
      return v;
  }
}

const likeCache = new Map<string, RegExp>();

/** Escapes a character for a `u` regex (which refuses escapes of anything but syntax characters). */
const escapeRegex = (c: string): string => c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** A LIKE pattern as a regular expression: % any characters, _ one, \ escapes the next (Postgres' default). */
export function likeRegex(pattern: string): RegExp {
  const hit = likeCache.get(pattern);
  if (hit) return hit;
  let src = "";
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === "\\") {
      const next = chars[++i];
      if (next === undefined) throw new EvalError("LIKE pattern must not end with escape character");
      src += escapeRegex(next);
    } else if (c === "%") src += "[^]*";
    else if (c === "_") src += "[^]";
    else src += escapeRegex(c);
  }
  const re = new RegExp(`^${src}$`, "u");
  if (likeCache.size >= 1000) likeCache.clear();
  likeCache.set(pattern, re);
  return re;
}
