// Evaluates a compiled WHERE expression over a joined tuple with SQL's three-valued logic (NULL is
// unknown; only TRUE keeps a row). Values compare through the key encoding, so numbers of any Avro kind
// compare exactly by value and strings in code point order.
import { encodeKey } from "../keys/encoding.ts";
import type { Expr, Operand } from "./plan.ts";

export type Tuple = readonly (Record<string, unknown> | null)[];

function value(op: Operand, tuple: Tuple): unknown {
  if ("lit" in op) return op.lit;
  const row = tuple[op.col.rel];
  return row ? (row[op.col.column] ?? null) : null;
}

/** Compares two non-null values; the operands' kinds say how strings are read (a decimal's text is a number). */
export function compareValues(a: unknown, ak: Operand["kind"], b: unknown, bk: Operand["kind"]): number {
  return Buffer.compare(encodeKey([a], [ak]), encodeKey([b], [bk]));
}

export function evaluate(expr: Expr, tuple: Tuple): boolean | null {
  switch (expr.op) {
    case "and": {
      let unknown = false;
      for (const a of expr.args) {
        const v = evaluate(a, tuple);
        if (v === false) return false;
        if (v === null) unknown = true;
      }
      return unknown ? null : true;
    }
    case "or": {
      let unknown = false;
      for (const a of expr.args) {
        const v = evaluate(a, tuple);
        if (v === true) return true;
        if (v === null) unknown = true;
      }
      return unknown ? null : false;
    }
    case "not": {
      const v = evaluate(expr.arg, tuple);
      return v === null ? null : !v;
    }
    case "isnull": {
      const isNull = value(expr.arg, tuple) === null;
      return expr.negated ? !isNull : isNull;
    }
    case "cmp": {
      const l = value(expr.left, tuple);
      const r = value(expr.right, tuple);
      if (l === null || r === null) return null;
      const c = compareValues(l, expr.left.kind, r, expr.right.kind);
      switch (expr.cmp) {
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
      const l = value(expr.left, tuple);
      if (l === null) return null;
      let sawNull = false;
      for (const item of expr.list) {
        const v = value(item, tuple);
        if (v === null) sawNull = true;
        else if (compareValues(l, expr.left.kind, v, item.kind) === 0) return !expr.negated;
      }
      return sawNull ? null : expr.negated;
    }
  }
}
