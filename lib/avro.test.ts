import avro from "avsc";
import { describe, expect, it } from "vitest";
import { avroType, decodeWire, encodeWire, toJsonValue, wireSchemaId } from "./avro.ts";
import {
  bigIntToBytes,
  bytesToBigInt,
  decimalStringToUnscaled,
  microsToTimestamp,
  timestampToMicros,
} from "./avro-logical.ts";

describe("lossless Avro codecs", () => {
  const type = avroType({
    type: "record",
    name: "Row",
    fields: [
      { name: "id", type: "long" },
      { name: "price", type: ["null", { type: "bytes", logicalType: "decimal", precision: 20, scale: 2 }] },
      { name: "day", type: { type: "int", logicalType: "date" } },
      { name: "at", type: { type: "long", logicalType: "timestamp-micros" } },
      { name: "local", type: { type: "long", logicalType: "local-timestamp-micros" } },
      { name: "t", type: { type: "long", logicalType: "time-micros" } },
      { name: "doc", type: ["null", { type: "string", logicalType: "json" }] },
      { name: "big", type: { type: "string", logicalType: "variable-decimal" } },
      { name: "raw", type: "bytes" },
      { name: "ratio", type: "double" },
    ],
  });
  const row = {
    id: 9007199254740993n,
    price: "123456789012345678.91",
    day: "2024-02-29",
    at: "1969-12-31T23:59:59.999999Z",
    local: "2024-01-02T03:04:05.123456",
    t: "23:59:59.000001",
    doc: '{"a":[1,2]}',
    big: "3.14159265358979323846264338327950288",
    raw: Buffer.from([0, 255]),
    ratio: Number.NaN,
  };

  it("round-trips every logical type exactly through the wire format", () => {
    const buf = encodeWire(42, type, row);
    expect(wireSchemaId(buf)).toBe(42);
    expect(decodeWire(type, buf)).toEqual(row);
  });

  it("renders lossless JSON", () => {
    expect(toJsonValue(type, row)).toEqual({
      id: "9007199254740993",
      price: "123456789012345678.91",
      day: "2024-02-29",
      at: "1969-12-31T23:59:59.999999Z",
      local: "2024-01-02T03:04:05.123456",
      t: "23:59:59.000001",
      doc: { a: [1, 2] },
      big: "3.14159265358979323846264338327950288",
      raw: "AP8=",
      ratio: "NaN",
    });
  });

  it("refuses a decimal that would round and a buffer that is not wire format", () => {
    expect(() => decimalStringToUnscaled("1.234", 2)).toThrow(/more than 2 decimal places/);
    expect(decimalStringToUnscaled("1.230", 2)).toBe(123n);
    expect(decimalStringToUnscaled("-1e2", 0)).toBe(-100n);
    expect(() => wireSchemaId(Buffer.from([1, 0]))).toThrow(/wire format/);
  });

  it("encodes two's complement bytes both ways", () => {
    for (const n of [0n, 1n, -1n, 127n, 128n, -128n, -129n, 2n ** 80n, -(2n ** 80n)]) {
      expect(bytesToBigInt(bigIntToBytes(n))).toBe(n);
    }
  });

  it("converts timestamps with offsets to UTC micros", () => {
    expect(microsToTimestamp(timestampToMicros("2024-01-01T01:00:00+01:00"), "Z")).toBe(
      "2024-01-01T00:00:00.000000Z",
    );
  });
});

describe("bigint long codec (zigzag varints written straight into avsc's tap)", () => {
  // The Avro spec's encoding, computed independently: zigzag, then 7 bits a byte, low bits first.
  const specBytes = (n: bigint): number[] => {
    let z = BigInt.asUintN(64, (n << 1n) ^ (n >> 63n));
    const out: number[] = [];
    while (z >= 0x80n) {
      out.push(Number(z & 0x7fn) | 0x80);
      z >>= 7n;
    }
    out.push(Number(z));
    return out;
  };
  const edges = [
    0n,
    1n,
    -1n,
    63n,
    -64n,
    64n,
    2n ** 31n - 1n,
    -(2n ** 31n),
    2n ** 48n,
    2n ** 52n - 1n,
    2n ** 52n,
    -(2n ** 52n),
    -(2n ** 52n) + 1n,
    -(2n ** 48n) - 1n,
    2n ** 53n - 1n,
    -(2n ** 53n) + 1n,
    2n ** 53n,
    2n ** 53n + 1n,
    -(2n ** 53n) - 1n,
    2n ** 56n + 12345n,
    2n ** 62n,
    2n ** 63n - 1n,
    -(2n ** 63n),
  ];
  const long = avroType('"long"');

  it("writes the spec's bytes and reads them back exactly, across the 2^53 and 64-bit edges", () => {
    for (const n of edges) {
      const buf = long.toBuffer(n);
      expect([...buf], String(n)).toEqual(specBytes(n));
      expect(long.fromBuffer(buf), String(n)).toBe(n);
    }
  });

  it("matches avsc's own number codec where a number is exact", () => {
    const plain = avro.Type.forSchema("long");
    for (const n of [0, 1, -1, 300, -300, 2 ** 40 + 7, 2 ** 51 + 3, -(2 ** 51)]) {
      expect(long.toBuffer(BigInt(n)).equals(plain.toBuffer(n)), String(n)).toBe(true);
      expect(plain.fromBuffer(long.toBuffer(BigInt(n)))).toBe(n);
    }
  });

  it("works nested, past avsc's first buffer (it resizes and retries), and rejects non-bigints", () => {
    const rec = avroType({
      type: "record",
      name: "Many",
      fields: [{ name: "xs", type: { type: "array", items: ["null", "long"] } }],
    });
    const xs = Array.from({ length: 3000 }, (_, i) => (i % 7 === 0 ? null : BigInt(i) * -(2n ** 50n) - 1n));
    const buf = rec.toBuffer({ xs });
    expect(buf.length).toBeGreaterThan(8192);
    expect((rec.fromBuffer(buf) as { xs: unknown }).xs).toEqual(xs);
    expect(() => long.toBuffer(5)).toThrow();
    expect(() => rec.toBuffer({ xs: [1.5] })).toThrow();
  });

  it("refuses a truncated long instead of inventing a value", () => {
    const buf = long.toBuffer(2n ** 62n);
    expect(() => long.fromBuffer(buf.subarray(0, buf.length - 1))).toThrow();
  });
});
