import { describe, expect, it } from "vitest";
import { avroType } from "../../lib/avro.ts";
import { parseArrayLiteral, parseBytea, parseTimestamptz } from "./pg-text.ts";
import { columnType, numericPrecisionScale, type PgTypeInfo } from "./pg-types.ts";

const base = (name: string): PgTypeInfo => ({ oid: 0, name, kind: "b", elem: null });
const arr = (elem: string): PgTypeInfo => ({ oid: 0, name: `_${elem}`, kind: "b", elem: base(elem) });

/** Encodes the converted text through the Avro type (nullable, as in a Value) and decodes it again. */
function roundTrip(info: PgTypeInfo, typmod: number, text: string): unknown {
  const ct = columnType(info, typmod);
  const type = avroType(["null", ct.avro] as never);
  return type.fromBuffer(type.toBuffer(ct.fromText(text)));
}

// numeric(p,s) typmod: ((p << 16) | s) + 4
const numericMod = (p: number, s: number): number => ((p << 16) | s) + 4;

describe("Postgres text → Avro, lossless", () => {
  const cases: [string, PgTypeInfo, number, string, unknown][] = [
    ["smallint", base("int2"), -1, "-32768", -32768],
    ["int", base("int4"), -1, "2147483647", 2147483647],
    ["bigint beyond 2^53", base("int8"), -1, "9223372036854775807", 9223372036854775807n],
    ["numeric(20,4)", base("numeric"), numericMod(20, 4), "1234567890123456.7891", "1234567890123456.7891"],
    ["numeric(10,2) negative", base("numeric"), numericMod(10, 2), "-0.50", "-0.50"],
    [
      "numeric unconstrained",
      base("numeric"),
      -1,
      "3.14159265358979323846264338327950288",
      "3.14159265358979323846264338327950288",
    ],
    ["real", base("float4"), -1, "3.1415927", Math.fround(3.1415927)],
    ["double", base("float8"), -1, "0.30000000000000004", 0.30000000000000004],
    ["double NaN", base("float8"), -1, "NaN", Number.NaN],
    ["double -Infinity", base("float8"), -1, "-Infinity", Number.NEGATIVE_INFINITY],
    ["boolean", base("bool"), -1, "t", true],
    ["text non-ASCII", base("text"), -1, "naïve ☃ 日本語 🎉", "naïve ☃ 日本語 🎉"],
    ["varchar", base("varchar"), 14, "short", "short"],
    ["char padded", base("bpchar"), 9, "ab   ", "ab   "],
    ["bytea", base("bytea"), -1, "\\x00ff10", Buffer.from([0, 255, 16])],
    ["date", base("date"), -1, "2024-02-29", "2024-02-29"],
    ["time", base("time"), -1, "23:59:59.999999", "23:59:59.999999"],
    ["timetz", base("timetz"), -1, "12:34:56.789+05:30", "12:34:56.789+05:30"],
    ["timestamp", base("timestamp"), -1, "2024-01-02 03:04:05.123456", "2024-01-02T03:04:05.123456"],
    ["timestamptz", base("timestamptz"), -1, "2024-01-02 03:04:05.123456+00", "2024-01-02T03:04:05.123456Z"],
    ["interval", base("interval"), -1, "P1Y2M3DT4H5M6.789S", "P1Y2M3DT4H5M6.789S"],
    [
      "uuid",
      base("uuid"),
      -1,
      "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
      "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    ],
    ["json", base("json"), -1, '{"a": [1, 2.50]}', '{"a": [1, 2.50]}'],
    ["jsonb", base("jsonb"), -1, '{"a": 1}', '{"a": 1}'],
    ["int[] with NULL", arr("int4"), -1, "{1,NULL,3}", [1, null, 3]],
    ["text[] quoted", arr("text"), -1, '{"a b","c\\"d",plain,"NULL"}', ["a b", 'c"d', "plain", "NULL"]],
    ["enum", { oid: 1, name: "mood", kind: "e", elem: null }, -1, "happy", "happy"],
  ];
  it.each(cases)("%s", (_name, info, typmod, text, expected) => {
    const got = roundTrip(info, typmod, text);
    if (typeof expected === "number" && Number.isNaN(expected)) expect(Number.isNaN(got)).toBe(true);
    else expect(got).toEqual(expected);
  });

  it("keeps NULL in every type", () => {
    for (const [, info, typmod] of cases) {
      const type = avroType(["null", columnType(info, typmod).avro] as never);
      expect(type.fromBuffer(type.toBuffer(null))).toBeNull();
    }
  });

  it("unpacks numeric typmods", () => {
    expect(numericPrecisionScale(numericMod(10, 2))).toEqual({ precision: 10, scale: 2 });
    expect(numericPrecisionScale(-1)).toBeNull();
  });

  it("parses array literals, bytea escapes and zoned timestamps", () => {
    expect(parseArrayLiteral("[0:1]={7,8}")).toEqual(["7", "8"]);
    expect(parseArrayLiteral("{}")).toEqual([]);
    expect(parseBytea("a\\\\b\\001")).toEqual(Buffer.from([0x61, 0x5c, 0x62, 1]));
    expect(parseTimestamptz("2024-01-02 03:04:05+05:30")).toBe("2024-01-02T03:04:05+05:30");
    // UTC (the session's zone), with and without a fraction; a 5-digit year takes the general path.
    expect(parseTimestamptz("2024-01-02 03:04:05.123456+00")).toBe("2024-01-02T03:04:05.123456Z");
    expect(parseTimestamptz("2024-01-02 03:04:05+00")).toBe("2024-01-02T03:04:05Z");
    expect(parseTimestamptz("12024-01-02 03:04:05+00")).toBe("12024-01-02T03:04:05Z");
  });
});
