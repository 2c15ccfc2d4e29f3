// Every documented MySQL/MariaDB type with values at its edges, and what the backend must make of them (the
// Avro form rows carry: bigint for long, exact decimal strings, micros for times, Buffers for bytes). Row 1
// holds extremes, row 2 NULL in every column, row 3 zero values and zero dates (inserted with sql_mode '').
import { civilToDays } from "../../../protocol/avro-logical-text.ts";

const micros = (date: string, time: string, frac = ""): bigint => {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  const [h, mi, s] = time.split(":").map(Number) as [number, number, number];
  return (
    BigInt(civilToDays(y, m, d)) * 86_400_000_000n +
    BigInt(h * 3600 + mi * 60 + s) * 1_000_000n +
    BigInt(frac.padEnd(6, "0"))
  );
};

interface Case {
  column: string;
  type: string;
  /** Literal and Avro form for row 1 and row 3 (row 2 is NULL). */
  values: [[string, unknown], [string, unknown]];
}

export const TYPE_CASES: Case[] = [
  {
    column: "c_tinyint",
    type: "TINYINT",
    values: [
      ["-128", -128],
      ["127", 127],
    ],
  },
  {
    column: "c_utinyint",
    type: "TINYINT UNSIGNED",
    values: [
      ["255", 255],
      ["0", 0],
    ],
  },
  {
    column: "c_smallint",
    type: "SMALLINT",
    values: [
      ["-32768", -32768],
      ["32767", 32767],
    ],
  },
  {
    column: "c_usmallint",
    type: "SMALLINT UNSIGNED",
    values: [
      ["65535", 65535],
      ["0", 0],
    ],
  },
  {
    column: "c_mediumint",
    type: "MEDIUMINT",
    values: [
      ["-8388608", -8388608],
      ["8388607", 8388607],
    ],
  },
  {
    column: "c_umediumint",
    type: "MEDIUMINT UNSIGNED",
    values: [
      ["16777215", 16777215],
      ["0", 0],
    ],
  },
  {
    column: "c_int",
    type: "INT",
    values: [
      ["-2147483648", -2147483648],
      ["2147483647", 2147483647],
    ],
  },
  {
    column: "c_uint",
    type: "INT UNSIGNED",
    values: [
      ["4294967295", 4294967295n],
      ["0", 0n],
    ],
  },
  {
    column: "c_bigint",
    type: "BIGINT",
    values: [
      ["-9223372036854775808", -9223372036854775808n],
      ["9223372036854775807", 9223372036854775807n],
    ],
  },
  {
    column: "c_ubigint",
    type: "BIGINT UNSIGNED",
    values: [
      ["18446744073709551615", "18446744073709551615"],
      ["9223372036854775809", "9223372036854775809"],
    ],
  },
  {
    column: "c_decimal",
    type: "DECIMAL(65,30)",
    values: [
      [
        "'-12345678901234567890123456789012345.123456789012345678901234567891'",
        "-12345678901234567890123456789012345.123456789012345678901234567891",
      ],
      ["'0.000000000000000000000000000001'", "0.000000000000000000000000000001"],
    ],
  },
  {
    column: "c_decimal2",
    type: "DECIMAL(10,2)",
    values: [
      ["'12.50'", "12.50"],
      ["'-0.01'", "-0.01"],
    ],
  },
  {
    column: "c_float",
    type: "FLOAT",
    values: [
      ["1.2345678", Math.fround(1.2345678)],
      ["-3.4028234e38", Math.fround(-3.4028234e38)],
    ],
  },
  {
    column: "c_double",
    type: "DOUBLE",
    values: [
      ["0.1", 0.1],
      ["-1e308", -1e308],
    ],
  },
  {
    column: "c_bit1",
    type: "BIT(1)",
    values: [
      ["b'1'", true],
      ["b'0'", false],
    ],
  },
  {
    column: "c_bit9",
    type: "BIT(9)",
    values: [
      ["b'100000001'", Buffer.from([1, 1])],
      ["b'0'", Buffer.from([0, 0])],
    ],
  },
  {
    column: "c_bit64",
    type: "BIT(64)",
    values: [
      [`b'${"1".repeat(64)}'`, Buffer.alloc(8, 0xff)],
      ["b'0'", Buffer.alloc(8)],
    ],
  },
  {
    column: "c_bool",
    type: "BOOL",
    values: [
      ["TRUE", 1],
      ["FALSE", 0],
    ],
  },
  {
    column: "c_date",
    type: "DATE",
    values: [
      ["'2024-02-29'", "2024-02-29"],
      ["'0000-00-00'", null],
    ],
  },
  {
    column: "c_datetime",
    type: "DATETIME",
    values: [
      ["'9999-12-31 23:59:59'", micros("9999-12-31", "23:59:59")],
      ["'0000-00-00 00:00:00'", null],
    ],
  },
  {
    column: "c_datetime6",
    type: "DATETIME(6)",
    values: [
      ["'1000-01-01 00:00:00.000001'", micros("1000-01-01", "00:00:00", "000001")],
      ["'2024-00-00 00:00:00'", null],
    ],
  },
  {
    column: "c_datetime3",
    type: "DATETIME(3)",
    values: [
      ["'2024-01-02 03:04:05.678'", micros("2024-01-02", "03:04:05", "678")],
      ["'1970-01-01 00:00:00'", 0n],
    ],
  },
  {
    column: "c_timestamp",
    type: "TIMESTAMP NULL",
    values: [
      ["'2038-01-19 03:14:07'", micros("2038-01-19", "03:14:07")],
      ["'0000-00-00 00:00:00'", null],
    ],
  },
  {
    column: "c_timestamp6",
    type: "TIMESTAMP(6) NULL",
    values: [
      ["'1970-01-01 00:00:01.000001'", 1_000_001n],
      ["'2024-06-30 23:59:59.999999'", micros("2024-06-30", "23:59:59", "999999")],
    ],
  },
  {
    column: "c_time",
    type: "TIME",
    values: [
      ["'-838:59:59'", -3020399000000n],
      ["'838:59:59'", 3020399000000n],
    ],
  },
  {
    column: "c_time6",
    type: "TIME(6)",
    values: [
      ["'-00:00:00.500000'", -500000n],
      ["'25:01:01.000001'", 90061000001n],
    ],
  },
  {
    column: "c_year",
    type: "YEAR",
    values: [
      ["2155", 2155],
      ["0", 0],
    ],
  },
  {
    column: "c_char",
    type: "CHAR(4)",
    values: [
      ["'ab'", "ab"],
      ["''", ""],
    ],
  },
  {
    column: "c_varchar",
    type: "VARCHAR(100) CHARACTER SET utf8mb4",
    values: [
      ["'😀 héllo ✓'", "😀 héllo ✓"],
      ["''", ""],
    ],
  },
  {
    column: "c_text",
    type: "TEXT CHARACTER SET utf8mb4",
    values: [
      ["'tëxt 😀'", "tëxt 😀"],
      ["''", ""],
    ],
  },
  {
    column: "c_latin1",
    type: "VARCHAR(20) CHARACTER SET latin1",
    values: [
      ["'café'", "café"],
      ["'naïve ß'", "naïve ß"],
    ],
  },
  {
    column: "c_latin1_text",
    type: "TEXT CHARACTER SET latin1",
    values: [
      ["'Ærø'", "Ærø"],
      ["''", ""],
    ],
  },
  {
    column: "c_binary",
    type: "BINARY(4)",
    values: [
      ["x'01'", Buffer.from([1, 0, 0, 0])],
      ["x''", Buffer.alloc(4)],
    ],
  },
  {
    column: "c_varbinary",
    type: "VARBINARY(10)",
    values: [
      ["x'0001ff'", Buffer.from([0, 1, 255])],
      ["x''", Buffer.alloc(0)],
    ],
  },
  {
    column: "c_blob",
    type: "BLOB",
    values: [
      ["x'deadbeef'", Buffer.from("deadbeef", "hex")],
      ["x''", Buffer.alloc(0)],
    ],
  },
  {
    column: "c_enum",
    type: "ENUM('a','b c','é')",
    values: [
      ["'é'", "é"],
      ["''", ""],
    ],
  },
  {
    column: "c_set",
    type: "SET('x','y','z')",
    values: [
      ["'x,z'", "x,z"],
      ["''", ""],
    ],
  },
  {
    column: "c_json",
    type: "JSON",
    values: [
      [`'{"a": 18446744073709551615, "b": [1.50, "x"]}'`, '{"a": 18446744073709551615, "b": [1.50, "x"]}'],
      ["'[]'", "[]"],
    ],
  },
];

/** Generated columns (not inserted): their values follow from the cases above. */
const GENERATED: { column: string; type: string; values: [unknown, unknown] }[] = [
  { column: "c_gen_virtual", type: "INT AS (c_smallint * 2) VIRTUAL", values: [-65536, 65534] },
  { column: "c_gen_stored", type: "BIGINT AS (c_int * 2) PERSISTENT", values: [-4294967296n, 4294967294n] },
];

export const TYPE_COLUMNS: string[] = [
  "id INT PRIMARY KEY",
  ...TYPE_CASES.map((c) => `${c.column} ${c.type}`),
  ...GENERATED.map((g) => `${g.column} ${g.type}`),
];

export interface TypeRow {
  /** Inserted columns → SQL literals. */
  literals: Record<string, string>;
  /** The row as the backend yields it (Avro form, by field name). */
  expected: Record<string, unknown>;
}

function row(id: number, pick: 0 | 1 | null): TypeRow {
  const literals: Record<string, string> = { id: String(id) };
  const expected: Record<string, unknown> = { id };
  for (const c of TYPE_CASES) {
    const v = pick === null ? null : c.values[pick];
    literals[c.column] = v ? v[0] : "NULL";
    expected[c.column] = v ? v[1] : null;
  }
  for (const g of GENERATED) expected[g.column] = pick === null ? null : g.values[pick];
  return { literals, expected };
}

export const TYPE_ROWS: TypeRow[] = [row(1, 0), row(2, null), row(3, 1)];
