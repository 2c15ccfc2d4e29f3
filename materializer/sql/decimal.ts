// Exact decimal arithmetic with Postgres numeric's rules, for view expressions and aggregates. A value is
// an unscaled bigint and a display scale (Postgres' dscale: the digits shown after the point), parsed from
// and formatted to the text the engine stores (docs/contracts.md: decimals are exact strings). Results
// follow numeric.c: + and - keep the larger scale, * adds the scales, / rounds half away from zero at the
// scale select_div_scale picks (at least 16 significant digits, never less than either input's scale),
// % truncates the quotient. Pure: no float is ever involved.
import { EvalError } from "./eval-error.ts";

export interface Dec {
  /** The value times 10^s. */
  u: bigint;
  /** Digits after the point (≥ 0). */
  s: number;
}

const POW10: bigint[] = [1n];
export function pow10(n: number): bigint {
  for (let i = POW10.length; i <= n; i++) POW10.push((POW10[i - 1] as bigint) * 10n);
  return POW10[n] as bigint;
}

const DECIMAL = /^\s*([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$/;

/** Postgres' numeric input: sign, digits, optional fraction and exponent; the scale is the digits written. */
export function parseDec(text: string): Dec {
  const m = DECIMAL.exec(text);
  const whole = m?.[2] ?? "";
  const frac = m?.[3] ?? "";
  if (!m || whole.length + frac.length === 0) throw new EvalError(`invalid input for numeric: "${text}"`);
  let u = BigInt(whole + frac);
  let s = frac.length - Number(m[4] ?? 0);
  if (s < 0) {
    u *= pow10(-s);
    s = 0;
  }
  if (s > 1000) throw new EvalError(`numeric scale ${s} out of range`);
  return { u: m[1] === "-" ? -u : u, s };
}

/** Postgres' numeric output: all `s` fraction digits, no exponent, never "-0". */
export function formatDec(d: Dec): string {
  const neg = d.u < 0n;
  const digits = (neg ? -d.u : d.u).toString();
  if (d.s === 0) return neg ? `-${digits}` : digits;
  const padded = digits.padStart(d.s + 1, "0");
  const text = `${padded.slice(0, -d.s)}.${padded.slice(-d.s)}`;
  return neg ? `-${text}` : text;
}

export function decOfInt(v: number | bigint): Dec {
  return { u: BigInt(v), s: 0 };
}

/** Rounds (half away from zero) or extends `d` to scale `s`. */
export function rescale(d: Dec, s: number): Dec {
  if (s >= d.s) return { u: d.u * pow10(s - d.s), s };
  return { u: roundQuotient(d.u, pow10(d.s - s)), s };
}

/** n / d rounded half away from zero (d ≠ 0). */
function roundQuotient(n: bigint, d: bigint): bigint {
  const q = n / d;
  const r = n % d;
  if (r === 0n) return q;
  const twice = (r < 0n ? -r : r) * 2n;
  if (twice < (d < 0n ? -d : d)) return q;
  return n < 0n !== d < 0n ? q - 1n : q + 1n;
}

function align(a: Dec, b: Dec): [bigint, bigint, number] {
  if (a.s === b.s) return [a.u, b.u, a.s];
  return a.s > b.s ? [a.u, b.u * pow10(a.s - b.s), a.s] : [a.u * pow10(b.s - a.s), b.u, b.s];
}

export function addDec(a: Dec, b: Dec): Dec {
  const [x, y, s] = align(a, b);
  return { u: x + y, s };
}

export function subDec(a: Dec, b: Dec): Dec {
  const [x, y, s] = align(a, b);
  return { u: x - y, s };
}

export function mulDec(a: Dec, b: Dec): Dec {
  return { u: a.u * b.u, s: a.s + b.s };
}

export function cmpDec(a: Dec, b: Dec): number {
  const [x, y] = align(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Weight and first digit of |d| in base 10 000, as numeric.c's NumericVar holds them (0, 0 for zero). */
function baseWeight(d: Dec): [number, number] {
  if (d.u === 0n) return [0, 0];
  const abs = d.u < 0n ? -d.u : d.u;
  const e10 = abs.toString().length - 1 - d.s;
  const w = Math.floor(e10 / 4);
  const shift = d.s + 4 * w;
  const first = shift >= 0 ? abs / pow10(shift) : abs * pow10(-shift);
  return [w, Number(first)];
}

/** numeric.c select_div_scale: the scale of a / b. */
export function divScale(a: Dec, b: Dec): number {
  const [w1, f1] = baseWeight(a);
  const [w2, f2] = baseWeight(b);
  let qweight = w1 - w2;
  if (f1 <= f2) qweight--;
  const rscale = Math.max(16 - qweight * 4, a.s, b.s, 0);
  return Math.min(rscale, 1000);
}

/** a / b at `scale` (default: Postgres' choice), rounded half away from zero. */
export function divDec(a: Dec, b: Dec, scale = divScale(a, b)): Dec {
  if (b.u === 0n) throw new EvalError("division by zero");
  // (a.u / 10^a.s) / (b.u / 10^b.s) × 10^scale = a.u × 10^(b.s + scale) / (b.u × 10^a.s)
  const exp = b.s + scale - a.s;
  const n = exp >= 0 ? a.u * pow10(exp) : a.u;
  const d = exp >= 0 ? b.u : b.u * pow10(-exp);
  return { u: roundQuotient(n, d), s: scale };
}

/** a % b: a − b × trunc(a / b), at the larger scale (numeric.c mod_var). */
export function modDec(a: Dec, b: Dec): Dec {
  if (b.u === 0n) throw new EvalError("division by zero");
  const [x, y, s] = align(a, b);
  return { u: x % y, s };
}

/** Rounded half away from zero to an integer (numeric → int casts). */
export function decToBigInt(d: Dec): bigint {
  return d.s === 0 ? d.u : roundQuotient(d.u, pow10(d.s));
}

/** Postgres' numeric(p, s) typmod: rounded to s digits, refused when the integer part needs more than p − s. */
export function fitDec(d: Dec, precision: number, scale: number): Dec {
  const r = rescale(d, scale);
  const abs = r.u < 0n ? -r.u : r.u;
  if (abs >= pow10(precision))
    throw new EvalError(`numeric field overflow (precision ${precision}, scale ${scale})`);
  return r;
}
