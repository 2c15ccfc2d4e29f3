// Exact decimal arithmetic against two references: exact rationals (bigint numerator and denominator) for
// the values, and a literal port of numeric.c's select_div_scale over base-10000 digits for the scale of
// a quotient; plus values Postgres 15 printed for the same operations.
import { describe, expect, it } from "vitest";
import { rng } from "../test-support/shop-workload.ts";
import {
  addDec,
  cmpDec,
  divDec,
  fitDec,
  formatDec,
  modDec,
  mulDec,
  parseDec,
  rescale,
  subDec,
  type Dec,
} from "./decimal.ts";

const d = (text: string): Dec => parseDec(text);
const f = (x: Dec): string => formatDec(x);

/** numeric.c select_div_scale, digit by digit: the NumericVar of a decimal text, then the same steps. */
function pgDivScale(a: string, b: string): number {
  const numericVar = (text: string): { weight: number; digits: number[]; dscale: number } => {
    const [whole = "", frac = ""] = text.replace("-", "").split(".");
    // Base-10000 digits aligned on the decimal point, as make_result stores them.
    const intPart = whole.replace(/^0+/, "");
    const padInt = intPart.padStart(Math.ceil(intPart.length / 4) * 4, "0");
    const padFrac = frac.padEnd(Math.ceil(frac.length / 4) * 4, "0");
    const digits: number[] = [];
    for (let i = 0; i < padInt.length; i += 4) digits.push(Number(padInt.slice(i, i + 4)));
    for (let i = 0; i < padFrac.length; i += 4) digits.push(Number(padFrac.slice(i, i + 4)));
    return { weight: padInt.length / 4 - 1, digits, dscale: frac.length };
  };
  const v1 = numericVar(a);
  const v2 = numericVar(b);
  const first = (v: typeof v1): [number, number] => {
    for (let i = 0; i < v.digits.length; i++)
      if (v.digits[i] !== 0) return [v.weight - i, v.digits[i] as number];
    return [0, 0];
  };
  const [w1, f1] = first(v1);
  const [w2, f2] = first(v2);
  let qweight = w1 - w2;
  if (f1 <= f2) qweight--;
  let rscale = 16 - qweight * 4;
  rscale = Math.max(rscale, v1.dscale, v2.dscale, 0);
  return Math.min(rscale, 1000);
}

/** a random decimal text: up to 12 integer digits, 0-6 fraction digits, sometimes negative or zero. */
function randomDecimal(r: () => number): string {
  const int = r() < 0.2 ? "0" : String(Math.floor(r() * 10 ** Math.floor(r() * 12)));
  const s = Math.floor(r() * 7);
  const frac = Array.from({ length: s }, () => String(Math.floor(r() * 10))).join("");
  const sign = r() < 0.3 ? "-" : "";
  return `${sign}${int}${s > 0 ? `.${frac}` : ""}`;
}

/** The exact rational of a Dec: [numerator, denominator]. */
const rational = (x: Dec): [bigint, bigint] => [x.u, 10n ** BigInt(x.s)];

describe("decimal arithmetic", () => {
  it("reads and prints Postgres numeric text, keeping the scale written", () => {
    expect(f(d("12.50"))).toBe("12.50");
    expect(f(d("-0.05"))).toBe("-0.05");
    expect(f(d(" +7 "))).toBe("7");
    expect(f(d(".5"))).toBe("0.5");
    expect(f(d("1e3"))).toBe("1000");
    expect(f(d("1.50e1"))).toBe("15.0");
    expect(f(d("1.5e-3"))).toBe("0.0015");
    expect(f(d("-0.00"))).toBe("0.00");
    for (const bad of ["", "abc", "1.2.3", "NaN", "--1", "1e"]) expect(() => d(bad)).toThrow(/invalid input/);
  });

  it("gives what Postgres 15 printed for the same operations", () => {
    expect(f(mulDec(d("1.10"), d("2.5")))).toBe("2.750");
    expect(f(divDec(d("1"), d("3")))).toBe("0.33333333333333333333");
    expect(f(divDec(d("10.00"), d("4")))).toBe("2.5000000000000000");
    expect(f(divDec(d("100"), d("3.0")))).toBe("33.3333333333333333");
    expect(f(divDec(d("0"), d("3.0")))).toBe("0.00000000000000000000");
    expect(f(divDec(d("12345.678"), d("0.001")))).toBe("12345678.000000000000");
    expect(f(divDec(d("0.001"), d("12345.678")))).toBe("0.000000081000006642000545");
    expect(f(divDec(d("3"), d("2")))).toBe("1.5000000000000000"); // avg(1, 2)
    expect(f(divDec(d("30.75"), d("2")))).toBe("15.3750000000000000"); // avg(10.50, 20.25)
    expect(f(modDec(d("7.5"), d("2")))).toBe("1.5");
    expect(f(modDec(d("-7.5"), d("2")))).toBe("-1.5");
    expect(f(fitDec(d("1.005"), 10, 2))).toBe("1.01");
    expect(f(fitDec(d("5"), 10, 2))).toBe("5.00");
  });

  it("rounds half away from zero; refuses division by zero and values beyond a numeric(p,s)", () => {
    expect(f(rescale(d("2.5"), 0))).toBe("3");
    expect(f(rescale(d("-2.5"), 0))).toBe("-3");
    expect(f(rescale(d("2.449"), 1))).toBe("2.4");
    expect(f(rescale(d("-2.45"), 1))).toBe("-2.5");
    expect(() => divDec(d("1"), d("0.00"))).toThrow(/division by zero/);
    expect(() => modDec(d("1"), d("0"))).toThrow(/division by zero/);
    expect(() => fitDec(d("100.0"), 3, 1)).toThrow(/overflow/);
    expect(f(fitDec(d("99.94"), 3, 1))).toBe("99.9");
    expect(() => fitDec(d("99.95"), 3, 1)).toThrow(/overflow/);
  });

  it("+, -, *, / and % equal exact rational arithmetic, at Postgres' scales (seeded)", () => {
    const r = rng(77);
    for (let i = 0; i < 3000; i++) {
      const at = randomDecimal(r);
      const bt = randomDecimal(r);
      const a = d(at);
      const b = d(bt);
      const [an, ad] = rational(a);
      const [bn, bd] = rational(b);
      const same = (x: Dec, num: bigint, den: bigint): boolean => x.u * den === num * 10n ** BigInt(x.s);
      const sum = addDec(a, b);
      expect(same(sum, an * bd + bn * ad, ad * bd), `${at} + ${bt}`).toBe(true);
      expect(sum.s).toBe(Math.max(a.s, b.s));
      const diff = subDec(a, b);
      expect(same(diff, an * bd - bn * ad, ad * bd), `${at} - ${bt}`).toBe(true);
      const prod = mulDec(a, b);
      expect(same(prod, an * bn, ad * bd), `${at} * ${bt}`).toBe(true);
      expect(prod.s).toBe(a.s + b.s);
      expect(Math.sign(cmpDec(a, b))).toBe(Math.sign(Number(an * bd - bn * ad)));
      if (b.u === 0n) {
        expect(() => divDec(a, b)).toThrow(/division by zero/);
        continue;
      }
      // Quotient: the scale numeric.c picks, and the exact quotient rounded half away from zero there.
      const q = divDec(a, b);
      expect(q.s, `scale of ${at} / ${bt}`).toBe(pgDivScale(at, bt));
      const num = an * bd * 10n ** BigInt(q.s); // (a / b) × 10^s = num / den
      const den = ad * bn;
      const err = q.u * den - num; // (q.u - exact) × den
      const absDen = den < 0n ? -den : den;
      const absErr = err < 0n ? -err : err;
      expect(2n * absErr <= absDen, `${at} / ${bt} = ${f(q)} is not the nearest`).toBe(true);
      if (2n * absErr === absDen)
        expect(q.u < 0n ? err < 0n : err > 0n, `half away: ${at} / ${bt}`).toBe(true);
      // Remainder: a − b × trunc(a / b), sign of the dividend.
      const m = modDec(a, b);
      const t = (an * bd) / (bn * ad);
      expect(same(m, an * bd - t * bn * ad, ad * bd), `${at} % ${bt}`).toBe(true);
      expect(m.s).toBe(Math.max(a.s, b.s));
    }
  });
});
