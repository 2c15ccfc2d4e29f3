// How two non-null values compare in views (WHERE, CASE, IN, NULLIF, MIN/MAX, GROUP BY keys): as the
// order-preserving key encoding orders them (keys/encoding.ts: numbers by value across kinds, strings by
// code point, Postgres' "C" collation), with the common pairs compared directly.
import { encodeKey, type KeyKind } from "../keys/encoding.ts";
import { cmpDec, decOfInt, parseDec, type Dec } from "./decimal.ts";

/**
 * Compares two non-null values as the key encoding orders them (keys/encoding.ts: numbers by value across
 * kinds, strings by code point); the kinds say how strings are read (a decimal's text is a number). The
 * common pairs are compared directly; the rest through the encoding.
 */
export function compareValues(a: unknown, ak: KeyKind, b: unknown, bk: KeyKind): number {
  const ta = typeof a;
  const tb = typeof b;
  if ((ta === "number" || ta === "bigint") && (tb === "number" || tb === "bigint")) {
    // Mixed number/bigint comparisons are exact in JS; NaN takes the encoding's path (it sorts last).
    if (a === a && b === b) return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  } else if (ta === "string" && tb === "string") {
    if (ak !== "decimal" && bk !== "decimal") return compareStrings(a as string, b as string);
    if (ak === "decimal" && bk === "decimal") {
      const c = compareDecimals(a, b);
      if (c !== null) return c;
    }
  } else if (ta === "boolean" && tb === "boolean") return a === b ? 0 : a ? 1 : -1;
  else if (ak === "decimal" || bk === "decimal") {
    const c = compareDecimals(a, b);
    if (c !== null) return c;
  }
  return Buffer.compare(encodeKey([a], [ak]), encodeKey([b], [bk]));
}

/** Code point order (UTF-16 order but for supplementary characters, which sort after U+E000..U+FFFF). */
function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs && !ys && y >= 0xe000) return 1;
    if (ys && !xs && x >= 0xe000) return -1;
    return x < y ? -1 : 1;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/** Decimal text and integers by value; null when one is neither (the encoding decides then). */
function compareDecimals(a: unknown, b: unknown): number | null {
  const dec = (v: unknown): Dec | null => {
    if (typeof v === "bigint") return decOfInt(v);
    if (typeof v === "number") return Number.isInteger(v) ? decOfInt(v) : null;
    if (typeof v !== "string") return null;
    try {
      return parseDec(v);
    } catch {
      return null;
    }
  };
  const x = dec(a);
  const y = dec(b);
  return x && y ? cmpDec(x, y) : null;
}
