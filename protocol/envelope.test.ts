import { describe, expect, it } from "vitest";
import { avroType } from "../lib/avro.ts";
import {
  avroName,
  avroNamespace,
  envelopeSchema,
  keySchema,
  type Envelope,
  type TableShape,
} from "./envelope.ts";

const shape: TableShape = {
  topic: "orders-db.public.order items",
  columns: [
    { name: "id", type: "long" },
    { name: "total", type: { type: "bytes", logicalType: "decimal", precision: 10, scale: 2 } as never },
    { name: "note", type: "string" },
  ],
  key: ["id"],
};

const event: Envelope = {
  before: null,
  after: { id: 9007199254740993n, total: "12.50", note: null },
  op: "c",
  ts_ms: 1700000000000n,
  source: {
    version: "0.1.0",
    connector: "postgresql",
    name: "orders-db",
    ts_ms: 1700000000000n,
    snapshot: "false",
    db: "shop",
    schema: "public",
    table: "order items",
    txId: 42n,
    lsn: 123456n,
    file: null,
    pos: null,
    gtid: null,
  },
  transaction: { id: "42:123456", total_order: 1n, data_collection_order: 1n },
};

describe("envelope schemas", () => {
  it("sanitizes names per dotted part", () => {
    expect(avroNamespace("orders-db.public.order items")).toBe("orders_db.public.order_items");
    expect(avroName("1st")).toBe("_1st");
  });

  it("derives Key (non-null, key order) and Envelope (nullable fields with default null)", () => {
    const key = keySchema(shape) as {
      name: string;
      namespace: string;
      fields: { name: string; type: unknown }[];
    };
    expect(key).toMatchObject({
      name: "Key",
      namespace: "orders_db.public.order_items",
      fields: [{ name: "id", type: "long" }],
    });
    const env = envelopeSchema(shape) as { fields: { name: string; type: unknown; default?: unknown }[] };
    expect(env.fields.map((f) => f.name)).toEqual([
      "before",
      "after",
      "op",
      "ts_ms",
      "source",
      "transaction",
    ]);
    const value = (env.fields[0]?.type as [string, { fields: { type: unknown; default: unknown }[] }])[1];
    for (const f of value.fields)
      expect(f).toMatchObject({ type: ["null", expect.anything()], default: null });
    expect(keySchema({ ...shape, key: [] })).toBeNull();
  });

  it("round-trips an event exactly (bigint beyond 2^53, decimal, nulls)", () => {
    const type = avroType(envelopeSchema(shape));
    expect(type.fromBuffer(type.toBuffer(event))).toEqual(event);
  });

  it("new nullable columns keep the value schema readable for old data (BACKWARD)", () => {
    const v1 = avroType(envelopeSchema(shape));
    const v2 = avroType(
      envelopeSchema({ ...shape, columns: [...shape.columns, { name: "added", type: "int" }] }),
    );
    const resolver = v2.createResolver(v1);
    const decoded = v2.fromBuffer(v1.toBuffer(event), resolver) as Envelope;
    expect(decoded.after).toEqual({ ...event.after, added: null });
  });
});
