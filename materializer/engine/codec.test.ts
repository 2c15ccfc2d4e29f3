import { describe, expect, it } from "vitest";
import { decodeValue, encodeValue, sameValue } from "./codec.ts";

describe("stored value codec", () => {
  it("round-trips the decoded representation exactly", () => {
    const values: unknown[] = [
      null,
      true,
      false,
      0,
      -1,
      2147483647,
      -2147483648,
      2147483648,
      1.5,
      -0,
      NaN,
      Infinity,
      0n,
      -(2n ** 63n),
      2n ** 63n - 1n,
      2n ** 80n,
      -(2n ** 90n),
      "",
      "héllo 中 😀",
      "x".repeat(100_000),
      Buffer.from([0, 1, 255]),
      [1, "a", null, [2n]],
      { id: 5n, total: "12.50", name: null, raw: Buffer.from("z"), nested: { a: [1] } },
    ];
    for (const v of values) {
      const back = decodeValue(encodeValue(v));
      expect(Object.is(back, v) || sameValue(back, v), String(v)).toBe(true);
    }
    expect(Object.is(decodeValue(encodeValue(-0)), -0)).toBe(true);
    expect(Number.isNaN(decodeValue(encodeValue(NaN)))).toBe(true);
  });

  it("compares records by value", () => {
    expect(sameValue({ a: 1n, b: Buffer.from("x") }, { a: 1n, b: Buffer.from("x") })).toBe(true);
    expect(sameValue({ a: 1n }, { a: 1 })).toBe(false);
    expect(sameValue({ a: "1" }, { a: "1", b: null })).toBe(false);
  });
});
