import { describe, expect, it } from "vitest";
import { avroType } from "../../lib/avro.ts";
import { civilToDays } from "../../protocol/avro-logical-text.ts";
import {
  columnType,
  formatTimeMicros,
  parseDate,
  parseDateTimeMicros,
  parseTimeMicros,
  type MysqlColumn,
} from "./mysql-types.ts";

const col = (dataType: string, columnType = dataType, extra: Partial<MysqlColumn> = {}): MysqlColumn => ({
  name: "c",
  dataType,
  columnType,
  numericPrecision: null,
  numericScale: null,
  charset: null,
  collation: null,
  comment: "",
  generated: false,
  ...extra,
});

/** Converts, encodes with the column's Avro type, and decodes back (what a consumer sees). */
function roundTrip(c: MysqlColumn, v: unknown): unknown {
  const t = columnType(c);
  const value = t.convert(v);
  if (value === null) return null;
  const type = avroType(typeof t.avro === "string" ? JSON.stringify(t.avro) : t.avro);
  return type.fromBuffer(type.toBuffer(value));
}

describe("integers", () => {
  it("keeps every signed and unsigned range exact", () => {
    expect(roundTrip(col("tinyint", "tinyint(4)"), -128)).toBe(-128);
    expect(roundTrip(col("tinyint", "tinyint(3) unsigned"), 255)).toBe(255);
    expect(roundTrip(col("mediumint", "mediumint(8) unsigned"), 16777215)).toBe(16777215);
    expect(roundTrip(col("int", "int(11)"), -2147483648)).toBe(-2147483648);
    expect(roundTrip(col("int", "int(10) unsigned"), 4294967295)).toBe(4294967295n);
    // The decoder gives an exact string past 2^53, a number below.
    expect(roundTrip(col("bigint", "bigint(20)"), "-9223372036854775808")).toBe(-9223372036854775808n);
    expect(roundTrip(col("bigint", "bigint(20)"), 5)).toBe(5n);
    expect(roundTrip(col("bigint", "bigint(20) unsigned"), "18446744073709551615")).toBe(
      "18446744073709551615",
    );
    expect(roundTrip(col("bigint", "bigint(20) unsigned"), "9223372036854775809")).toBe(
      "9223372036854775809",
    );
    expect(roundTrip(col("bigint", "bigint(20) unsigned"), 7)).toBe("7");
  });

  it("reads YEAR 0000, which the binlog decoder gives as 1900", () => {
    expect(roundTrip(col("year", "year(4)"), 1900)).toBe(0);
    expect(roundTrip(col("year", "year(4)"), 0)).toBe(0);
    expect(roundTrip(col("year", "year(4)"), 2155)).toBe(2155);
  });
});

describe("decimals and floats", () => {
  it("keeps DECIMAL(65,30) exact, never through a JS number", () => {
    const c = col("decimal", "decimal(65,30)", { numericPrecision: 65, numericScale: 30 });
    const v = "-12345678901234567890123456789012345.123456789012345678901234567891";
    expect(roundTrip(c, v)).toBe(v);
    expect(roundTrip(c, "0.000000000000000000000000000000")).toBe("0.000000000000000000000000000000");
    expect(columnType(c).avro).toEqual({ type: "bytes", logicalType: "decimal", precision: 65, scale: 30 });
  });

  it("keeps FLOAT as the stored float32 and DOUBLE as is", () => {
    const f = Math.fround(1.2345678);
    expect(roundTrip(col("float"), f)).toBe(f);
    expect(roundTrip(col("double"), 0.1)).toBe(0.1);
    expect(roundTrip(col("double"), -1e308)).toBe(-1e308);
  });
});

describe("bits and bytes", () => {
  it("reads BIT(1) as a boolean and BIT(n) as big-endian bytes of ceil(n/8)", () => {
    expect(roundTrip(col("bit", "bit(1)"), Buffer.from([1]))).toBe(true);
    expect(roundTrip(col("bit", "bit(1)"), Buffer.from([0]))).toBe(false);
    expect(roundTrip(col("bit", "bit(9)"), Buffer.from([1, 1]))).toEqual(Buffer.from([1, 1]));
    expect(roundTrip(col("bit", "bit(64)"), Buffer.alloc(8, 0xff))).toEqual(Buffer.alloc(8, 0xff));
    // A shorter buffer is padded on the left (the high bits are zero).
    expect(roundTrip(col("bit", "bit(16)"), Buffer.from([5]))).toEqual(Buffer.from([0, 5]));
    expect(roundTrip(col("bit", "bit(12)"), 258)).toEqual(Buffer.from([1, 2]));
  });

  it("keeps binary strings and blobs as bytes", () => {
    expect(roundTrip(col("binary", "binary(4)"), Buffer.from([1, 0, 0, 0]))).toEqual(
      Buffer.from([1, 0, 0, 0]),
    );
    expect(roundTrip(col("blob"), Buffer.from("deadbeef", "hex"))).toEqual(Buffer.from("deadbeef", "hex"));
    expect(columnType(col("varbinary", "varbinary(10)")).binary).toBe(true);
  });
});

describe("dates and times", () => {
  it("computes days of the proleptic Gregorian calendar", () => {
    expect(civilToDays(1970, 1, 1)).toBe(0);
    expect(civilToDays(2024, 2, 29)).toBe(19782);
    expect(civilToDays(1000, 1, 1)).toBe(-354285);
    expect(civilToDays(9999, 12, 31)).toBe(2932896);
  });

  it("maps DATE, DATETIME(p) and TIMESTAMP(p) exactly, and zero dates to null", () => {
    expect(roundTrip(col("date"), "2024-02-29")).toBe("2024-02-29");
    expect(roundTrip(col("datetime", "datetime(6)"), "1000-01-01 00:00:00.000001")).toBe(
      "1000-01-01T00:00:00.000001",
    );
    expect(roundTrip(col("datetime"), "9999-12-31 23:59:59")).toBe("9999-12-31T23:59:59.000000");
    expect(roundTrip(col("datetime", "datetime(3)"), "2024-01-02 03:04:05.678")).toBe(
      "2024-01-02T03:04:05.678000",
    );
    expect(roundTrip(col("timestamp", "timestamp(6)"), "1970-01-01 00:00:01.000001")).toBe(
      "1970-01-01T00:00:01.000001Z",
    );
    expect(roundTrip(col("timestamp"), "2038-01-19 03:14:07")).toBe("2038-01-19T03:14:07.000000Z");
    expect(roundTrip(col("date"), "0000-00-00")).toBeNull();
    expect(roundTrip(col("date"), "2024-00-15")).toBeNull();
    expect(roundTrip(col("datetime"), "0000-00-00 00:00:00")).toBeNull();
    expect(roundTrip(col("datetime", "datetime(6)"), "2024-00-00 00:00:00.000000")).toBeNull();
    expect(roundTrip(col("timestamp"), "0000-00-00 00:00:00")).toBeNull();
    expect(parseDate("1999-12-31")).toBe("1999-12-31");
    expect(() => parseDateTimeMicros("yesterday")).toThrow(/DATETIME/);
  });

  it("keeps TIME negative and past 24 hours, in micros", () => {
    expect(parseTimeMicros("-838:59:59")).toBe(-3020399000000n);
    expect(parseTimeMicros("838:59:59.000000")).toBe(3020399000000n);
    expect(parseTimeMicros("-00:00:00.5")).toBe(-500000n);
    expect(parseTimeMicros("-01:02:03.000001")).toBe(-3723000001n);
    expect(roundTrip(col("time", "time(6)"), "-00:00:00.500000")).toBe(-500000n);
    expect(formatTimeMicros(-3020399000000n)).toBe("-838:59:59.000000");
    expect(formatTimeMicros(90061000001n)).toBe("25:01:01.000001");
    expect(columnType(col("time")).avro).toEqual({
      type: "long",
      "connect.name": "io.debezium.time.MicroTime",
    });
  });
});

describe("text, enums, sets, JSON", () => {
  it("keeps utf8mb4 and latin1 text as the decoders give it", () => {
    expect(roundTrip(col("varchar", "varchar(100)", { charset: "utf8mb4" }), "😀 héllo")).toBe("😀 héllo");
    expect(roundTrip(col("text", "text", { charset: "latin1" }), "naïve")).toBe("naïve");
  });

  it("reads ENUM's error member as an empty string and SET as its members", () => {
    const e = columnType(col("enum", "enum('a','b c','é')"));
    expect(e.missing).toBe("");
    expect(e.convert("é")).toBe("é");
    expect(roundTrip(col("set", "set('x','y','z')"), "x,z")).toBe("x,z");
  });

  it("keeps JSON as the server's text", () => {
    const doc = '{"a": 18446744073709551615, "b": [1.50, "x"]}';
    expect(roundTrip(col("json"), doc)).toBe(doc);
    expect(roundTrip(col("json"), Buffer.from("[]"))).toBe("[]");
  });
});
