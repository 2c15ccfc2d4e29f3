import { describe, expect, it } from "vitest";
import { canonicalDecimal, encodeKey, prefixEnd, type KeyKind } from "./encoding.ts";

// A seeded PRNG so a failing case can be replayed.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Exact comparison of two decimal strings via scaled bigints (the reference the encoding must agree with). */
function compareDecimal(a: string, b: string): number {
  const scale = (s: string): [bigint, number] => {
    const [i = "0", f = ""] = s.replace(/^-/, "").split(".");
    const n = BigInt(i + f) * (s.startsWith("-") ? -1n : 1n);
    return [n, f.length];
  };
  const [na, sa] = scale(a);
  const [nb, sb] = scale(b);
  const s = Math.max(sa, sb);
  const x = na * 10n ** BigInt(s - sa);
  const y = nb * 10n ** BigInt(s - sb);
  return x < y ? -1 : x > y ? 1 : 0;
}

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);

function randomDecimal(r: () => number): string {
  const neg = r() < 0.5 ? "-" : "";
  const int = r() < 0.3 ? "0" : String(Math.floor(r() * 10 ** Math.floor(r() * 12)));
  const frac =
    r() < 0.4 ? "" : String(Math.floor(r() * 10 ** Math.floor(r() * 8))).padStart(Math.floor(r() * 8), "0");
  return frac ? `${neg}${int}.${frac}` : `${neg}${int}`;
}

function randomString(r: () => number): string {
  const alphabet = ["a", "b", "z", "\u0000", "\u0001", "é", "中", "😀", "A", " ", "\uffff"];
  const n = Math.floor(r() * 6);
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
  return s;
}

describe("key encoding", () => {
  it("orders decimals exactly like their numeric values (random pairs)", () => {
    const r = rng(1);
    for (let i = 0; i < 5000; i++) {
      const a = randomDecimal(r);
      const b = randomDecimal(r);
      const got = sign(Buffer.compare(encodeKey([a], ["decimal"]), encodeKey([b], ["decimal"])));
      expect(got, `${a} vs ${b}`).toBe(compareDecimal(a, b));
    }
  });

  it("orders doubles, bigints and ints together, including infinities and NaN last", () => {
    const r = rng(2);
    const values: number[] = [
      -Infinity,
      Infinity,
      0,
      -0,
      Number.MIN_VALUE,
      -Number.MAX_VALUE,
      1e300,
      1e-300,
      0.1,
      0.2,
      0.3,
    ];
    for (let i = 0; i < 2000; i++) values.push((r() - 0.5) * 10 ** Math.floor(r() * 40 - 20));
    for (let i = 0; i < 3000; i++) {
      const a = values[Math.floor(r() * values.length)] ?? 0;
      const b = values[Math.floor(r() * values.length)] ?? 0;
      expect(sign(Buffer.compare(encodeKey([a]), encodeKey([b]))), `${a} vs ${b}`).toBe(sign(a - b || 0));
    }
    expect(Buffer.compare(encodeKey([NaN]), encodeKey([Infinity]))).toBe(1);
    const big = [-(2n ** 63n), -5n, 0n, 7n, 2n ** 63n - 1n];
    for (const x of big)
      for (const y of big)
        expect(sign(Buffer.compare(encodeKey([x]), encodeKey([y])))).toBe(x < y ? -1 : x > y ? 1 : 0);
  });

  it("gives one encoding to equal numbers of different Avro kinds (int joins long joins decimal)", () => {
    expect(encodeKey([5])).toEqual(encodeKey([5n]));
    expect(encodeKey([5])).toEqual(encodeKey(["5.00"], ["decimal"]));
    expect(encodeKey([-12.5])).toEqual(encodeKey(["-12.500"], ["decimal"]));
    expect(encodeKey([0])).toEqual(encodeKey(["-0.00"], ["decimal"]));
    expect(encodeKey(["5"])).not.toEqual(encodeKey([5]));
  });

  it("orders strings by UTF-8 bytes, bytes by bytes, and NULL before everything", () => {
    const r = rng(3);
    for (let i = 0; i < 3000; i++) {
      const a = randomString(r);
      const b = randomString(r);
      const want = sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));
      expect(sign(Buffer.compare(encodeKey([a]), encodeKey([b]))), JSON.stringify([a, b])).toBe(want);
      const ba = Buffer.from(a);
      const bb = Buffer.from(b);
      expect(sign(Buffer.compare(encodeKey([ba]), encodeKey([bb])))).toBe(want);
    }
    for (const v of [false, true, -1, 0, "", Buffer.alloc(0)])
      expect(Buffer.compare(encodeKey([null]), encodeKey([v]))).toBe(-1);
    expect(Buffer.compare(encodeKey([false]), encodeKey([true]))).toBe(-1);
  });

  it("orders composite keys lexicographically by part, and a tuple prefix is a byte prefix", () => {
    const r = rng(4);
    const kinds: KeyKind[] = ["string", "decimal", "number"];
    const tuple = (): unknown[] => [randomString(r), randomDecimal(r), Math.floor((r() - 0.5) * 100)];
    const cmpTuple = (a: unknown[], b: unknown[]): number => {
      const s = sign(Buffer.compare(Buffer.from(a[0] as string), Buffer.from(b[0] as string)));
      if (s) return s;
      const d = compareDecimal(a[1] as string, b[1] as string);
      if (d) return d;
      return sign((a[2] as number) - (b[2] as number));
    };
    for (let i = 0; i < 3000; i++) {
      const a = tuple();
      const b =
        r() < 0.3 ? [a[0], r() < 0.5 ? a[1] : randomDecimal(r), Math.floor((r() - 0.5) * 100)] : tuple();
      const ea = encodeKey(a, kinds);
      const eb = encodeKey(b, kinds);
      expect(sign(Buffer.compare(ea, eb)), JSON.stringify([a, b])).toBe(cmpTuple(a, b));
      const prefix = encodeKey(a.slice(0, 1), kinds);
      expect(ea.subarray(0, prefix.length)).toEqual(prefix);
      expect(Buffer.compare(ea, prefixEnd(prefix))).toBe(-1);
    }
  });

  it("parses decimal text into canonical form", () => {
    expect(canonicalDecimal("0012.500")).toEqual({ negative: false, digits: "125", exponent: 2 });
    expect(canonicalDecimal("-0.0015")).toEqual({ negative: true, digits: "15", exponent: -2 });
    expect(canonicalDecimal("1e3")).toEqual({ negative: false, digits: "1", exponent: 4 });
    expect(canonicalDecimal("0.000")).toBeNull();
    expect(() => canonicalDecimal("abc")).toThrow(TypeError);
  });
});
