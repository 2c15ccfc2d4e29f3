// The compiled writers against avsc (lib/avro.ts's options) as the reference: the same bytes for envelopes
// over every column type a connector maps, with seeded random values (edge values included), for keys,
// markers and heartbeats; the same refusals of wrong values; and null for schemas it does not compile.
import type avro from "avsc";
import { describe, expect, it } from "vitest";
import { avroType, encodeWire } from "../lib/avro.ts";
import { compileEncoder } from "./avro-encoder.ts";
import { envelopeSchema, keySchema, type ColumnSpec, type TableShape } from "./envelope.ts";
import { heartbeatKeySchema, heartbeatValueSchema } from "./heartbeat.ts";
import { transactionKeySchema, transactionMarkerSchema } from "./markers.ts";
import { mulberry32 } from "../test/support/random.ts";

type Gen = (r: () => number) => unknown;
const pick = <T>(r: () => number, xs: T[]): T => xs[Math.floor(r() * xs.length)] as T;
const int = (r: () => number, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
const pad = (n: number, w: number): string => String(n).padStart(w, "0");
const frac = (r: () => number): string =>
  pick(r, ["", `.${pad(int(r, 0, 9), 1)}`, `.${pad(int(r, 0, 999999), 6)}`, `.${pad(int(r, 0, 999), 3)}`]);
const date = (r: () => number): string =>
  pick(r, [
    `${pad(int(r, 1000, 9999), 4)}-${pad(int(r, 1, 12), 2)}-${pad(int(r, 1, 28), 2)}`,
    "2024-02-29",
    "2023-02-28",
    "1970-01-01",
    "0099-12-31",
    "1969-12-31",
  ]);
const time = (r: () => number): string =>
  `${pad(int(r, 0, 23), 2)}:${pad(int(r, 0, 59), 2)}:${pad(int(r, 0, 59), 2)}${frac(r)}`;
const zone = (r: () => number): string => pick(r, ["Z", "+05:30", "-08:00", "+0100", "-0930", "Z"]);

const columnTypes: { type: avro.Schema; gen: Gen }[] = [
  { type: "int", gen: (r) => pick(r, [0, -1, 1, 2 ** 31 - 1, -(2 ** 31), int(r, -1e6, 1e6)]) },
  {
    type: "long",
    gen: (r) =>
      pick(r, [
        0n,
        -1n,
        2n ** 63n - 1n,
        -(2n ** 63n),
        2n ** 52n,
        -(2n ** 52n) - 7n,
        BigInt(int(r, -1e9, 1e9)) * 1000003n,
      ]),
  },
  { type: "float", gen: (r) => pick(r, [0, 1.5, -2.25, Number.NaN, Number.POSITIVE_INFINITY, r() * 1e6]) },
  { type: "double", gen: (r) => pick(r, [0, -0, 1e300, Number.NEGATIVE_INFINITY, r() * 1e-9, r()]) },
  { type: "boolean", gen: (r) => r() < 0.5 },
  {
    type: "string",
    gen: (r) =>
      pick(r, [
        "",
        "plain ascii",
        "é ü 日本 🎉",
        "x".repeat(63),
        "y".repeat(64),
        "z".repeat(int(r, 100, 5000)),
        `row ${int(r, 0, 1e6)}`,
      ]),
  },
  { type: "bytes", gen: (r) => Buffer.from(Array.from({ length: int(r, 0, 40) }, () => int(r, 0, 255))) },
  {
    type: { type: "bytes", logicalType: "decimal", precision: 12, scale: 2 },
    gen: (r) =>
      pick(r, [
        "0",
        "0.00",
        "-0.01",
        "129.90",
        "9999999999.99",
        "-9999999999.99",
        "12.5",
        "1e3",
        "+3.10",
        `${int(r, -1e6, 1e6)}.${pad(int(r, 0, 99), 2)}`,
        "127",
        "128",
        "-128",
        "-129",
        "255",
        "32768",
      ]),
  },
  {
    type: { type: "bytes", logicalType: "decimal", precision: 38, scale: 10 },
    gen: (r) =>
      pick(r, ["1234567890123456789012345678.0123456789", "-0.0000000001", "99999.5", "0.1234567890"]),
  },
  {
    type: { type: "bytes", logicalType: "decimal", precision: 5, scale: 0 },
    gen: (r) => pick(r, ["0", "-5", "99999", "-32768"]),
  },
  {
    type: { type: "string", logicalType: "variable-decimal" },
    gen: (r) => pick(r, ["NaN", "1.000", "-12345678901234567890.5"]),
  },
  { type: { type: "int", logicalType: "date" }, gen: date },
  { type: { type: "long", logicalType: "time-micros" }, gen: time },
  {
    type: { type: "long", logicalType: "local-timestamp-micros" },
    gen: (r) =>
      pick(r, [
        `${date(r)}T${time(r)}`,
        `${date(r)} ${time(r)}`,
        "2200-06-01T00:00:00",
        "1700-01-01T00:00:00.5",
      ]),
  },
  {
    type: { type: "long", logicalType: "timestamp-micros" },
    gen: (r) =>
      pick(r, [
        `${date(r)}T${time(r)}${zone(r)}`,
        `${date(r)}T${time(r)}Z`,
        "9999-12-31T23:59:59.999999Z",
        1_700_000_000_000_000n,
      ]),
  },
  {
    type: { type: "string", logicalType: "uuid" },
    gen: () => "0e5c1c52-7e2b-4f7b-9a8c-3f1d2e4b5a6c",
  },
  {
    type: { type: "string", logicalType: "json" },
    gen: (r) => pick(r, ['{"a": [1, 2]}', "null", '"ünï"']),
  },
  {
    type: { type: "array", items: ["null", "long"] },
    gen: (r) => pick(r, [[], [1n, null, -3n], [null]]),
  },
  {
    type: {
      type: "array",
      items: ["null", { type: "bytes", logicalType: "decimal", precision: 10, scale: 2 }],
    },
    gen: (r) => pick(r, [[], ["1.00", null, "-2.50"]]),
  },
];

function shapeOf(n: number): TableShape {
  const columns: ColumnSpec[] = columnTypes.map((c, i) => ({ name: `c${i}`, type: c.type }));
  return {
    topic: `src${n}.public.all_types`,
    columns: [{ name: "id", type: "long" }, ...columns],
    key: ["id"],
  };
}

function rowOf(r: () => number, id: bigint): Record<string, unknown> {
  const row: Record<string, unknown> = { id };
  columnTypes.forEach((c, i) => {
    // Undefined stands for an absent field: avsc writes its default (null), so must the compiled writer.
    row[`c${i}`] = r() < 0.15 ? pick(r, [null, undefined]) : c.gen(r);
  });
  return row;
}

function envelopeOf(r: () => number, id: bigint): Record<string, unknown> {
  const op = pick(r, ["c", "u", "d", "r", "t"]);
  const tx =
    r() < 0.3
      ? null
      : {
          id: `${int(r, 1, 1e6)}:${int(r, 1, 1e9)}`,
          total_order: BigInt(int(r, 1, 1e5)),
          data_collection_order: 1n,
        };
  return {
    before: op === "u" || op === "d" ? rowOf(r, id) : null,
    after: op === "d" || op === "t" ? null : rowOf(r, id),
    op,
    ts_ms: 1_795_774_500_123n,
    source: {
      version: "0.1.0",
      connector: "postgresql",
      name: "src",
      ts_ms: 1_795_774_500_123n,
      snapshot: pick(r, ["true", "false", "last", "incremental"]),
      db: "shop",
      schema: "public",
      table: "all_types",
      txId: r() < 0.5 ? null : BigInt(int(r, 0, 2 ** 31)),
      lsn: r() < 0.1 ? null : BigInt(int(r, 0, 2 ** 40)),
      file: null,
      pos: null,
      gtid: null,
    },
    transaction: tx,
  };
}

function reference(id: number, schema: avro.Schema, value: unknown): Buffer {
  return encodeWire(id, avroType(schema), value);
}

describe("compiled Avro writers", () => {
  it("write envelopes over every column type exactly as avsc does", () => {
    const r = mulberry32(20261207);
    const shape = shapeOf(1);
    const schema = envelopeSchema(shape);
    const type = avroType(schema);
    const encode = compileEncoder(4242, schema);
    expect(encode).not.toBeNull();
    for (let i = 0; i < 3000; i++) {
      const value = envelopeOf(r, BigInt(i));
      const got = encode!(value);
      expect(got.equals(encodeWire(4242, type, value))).toBe(true);
      // And decodes back with avsc to what avsc itself would decode.
      expect(type.fromBuffer(got.subarray(5))).toEqual(
        type.fromBuffer(encodeWire(4242, type, value).subarray(5)),
      );
    }
    // 3,000 random envelopes, each compared deeply: ~2 s quiet, over the 5 s default on a loaded machine.
  }, 60_000);

  it("write keys, markers and heartbeats as avsc does", () => {
    const shape = shapeOf(2);
    const key = keySchema(shape)!;
    expect(compileEncoder(1, key)!({ id: -5n }).equals(reference(1, key, { id: -5n }))).toBe(true);
    const marker = transactionMarkerSchema("src");
    const m = {
      status: "END",
      id: "12:34",
      event_count: 3n,
      data_collections: [
        { data_collection: "src.public.t", event_count: 3n, partitions: [{ partition: 0, event_count: 3n }] },
      ],
      ts_ms: 5n,
    };
    expect(compileEncoder(7, marker)!(m).equals(reference(7, marker, m))).toBe(true);
    const begin = { status: "BEGIN", id: "12:34", event_count: null, data_collections: null, ts_ms: 5n };
    expect(compileEncoder(7, marker)!(begin).equals(reference(7, marker, begin))).toBe(true);
    const tk = transactionKeySchema("src");
    expect(compileEncoder(8, tk)!({ id: "12:34" }).equals(reference(8, tk, { id: "12:34" }))).toBe(true);
    const hk = heartbeatKeySchema("src");
    const hv = heartbeatValueSchema("src");
    expect(compileEncoder(9, hk)!({ source: "src" }).equals(reference(9, hk, { source: "src" }))).toBe(true);
    for (const v of [
      { ts_ms: 1n, lsn: null },
      { ts_ms: 2n, lsn: 99n },
    ])
      expect(compileEncoder(10, hv)!(v).equals(reference(10, hv, v))).toBe(true);
  });

  it("refuses the values avsc refuses", () => {
    const shape: TableShape = {
      topic: "s.public.t",
      columns: [
        { name: "id", type: "long" },
        { name: "n", type: "int" },
        { name: "d", type: { type: "bytes", logicalType: "decimal", precision: 5, scale: 2 } },
        { name: "t", type: { type: "long", logicalType: "timestamp-micros" } },
      ],
      key: ["id"],
    };
    const encode = compileEncoder(1, keySchema(shape)!)!;
    expect(() => encode({ id: "x" })).toThrow();
    expect(() => encode({ id: 1.5 })).toThrow();
    const row = (over: Record<string, unknown>): Record<string, unknown> => ({
      id: 1n,
      n: 1,
      d: "1.00",
      t: "2024-01-01T00:00:00Z",
      ...over,
    });
    const value = compileEncoder(2, envelopeSchema(shape))!;
    const env = (after: Record<string, unknown>) => ({
      before: null,
      after,
      op: "c",
      ts_ms: 1n,
      source: {
        version: "v",
        connector: "postgresql",
        name: "s",
        ts_ms: 1n,
        snapshot: "false",
        db: "d",
        schema: "public",
        table: "t",
        txId: null,
        lsn: null,
        file: null,
        pos: null,
        gtid: null,
      },
      transaction: null,
    });
    expect(() => value(env(row({})))).not.toThrow();
    expect(() => value(env(row({ n: 2 ** 31 })))).toThrow();
    expect(() => value(env(row({ d: "1.001" })))).toThrow(/decimal places/);
    expect(() => value(env(row({ t: "yesterday" })))).toThrow(/not a timestamp/);
    expect(() => value({ ...env(row({})), op: undefined })).toThrow();
    // A failed write leaves nothing behind: the next message is whole.
    expect(value(env(row({}))).equals(reference(2, envelopeSchema(shape), env(row({}))))).toBe(true);
  });

  it("leaves schemas it does not compile to avsc", () => {
    expect(compileEncoder(1, { type: "enum", name: "E", symbols: ["A"] })).toBeNull();
    expect(compileEncoder(1, ["null", "string", "long"] as avro.Schema)).toBeNull();
    expect(compileEncoder(1, { type: "map", values: "long" })).toBeNull();
    expect(
      compileEncoder(1, {
        type: "record",
        name: "R",
        fields: [{ name: "a", type: "int", default: 3 }],
      }),
    ).toBeNull();
  });
});
