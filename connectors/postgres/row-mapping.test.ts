import { describe, expect, it } from "vitest";
import { avroType } from "../../lib/avro.ts";
import { envelopeSchema, keySchema } from "../../protocol/envelope.ts";
import { routeOutboxMessage, routeOutboxRow } from "../core/outbox.ts";
import { UNCHANGED_TOAST, type Relation } from "./pgoutput.ts";
import type { PgTypeInfo } from "./pg-types.ts";
import { envelope, keyOf, rowOfTuple, tableMapping, tupleToRow } from "./row-mapping.ts";

const infos: Record<number, PgTypeInfo> = {
  20: { oid: 20, name: "int8", kind: "b", elem: null },
  25: { oid: 25, name: "text", kind: "b", elem: null },
  1700: { oid: 1700, name: "numeric", kind: "b", elem: null },
};
const relation: Relation = {
  oid: 1,
  schema: "public",
  name: "orders",
  replicaIdentity: "full",
  columns: [
    { flags: 1, name: "id", typeOid: 20, typeMod: -1 },
    { flags: 1, name: "total", typeOid: 1700, typeMod: ((10 << 16) | 2) + 4 },
    { flags: 1, name: "big doc", typeOid: 25, typeMod: -1 },
  ],
};

describe("pgoutput → envelope mapping", () => {
  const m = tableMapping("shop", relation, (oid) => infos[oid] as PgTypeInfo, ["id"]);

  it("takes the real primary key under REPLICA IDENTITY FULL and sanitizes field names", () => {
    expect(m.shape.topic).toBe("shop.public.orders");
    expect(m.shape.key).toEqual(["id"]);
    expect(m.fields).toEqual(["id", "total", "big_doc"]);
    expect(tableMapping("shop", relation, (oid) => infos[oid] as PgTypeInfo, []).shape.key).toEqual([]);
  });

  it("fills an unchanged TOAST value from the old tuple, and reports it when there is none", () => {
    const withOld = tupleToRow(m, ["1", "2.50", UNCHANGED_TOAST], ["1", "2.00", "long text"]);
    expect(withOld).toEqual({ row: { id: 1n, total: "2.50", big_doc: "long text" }, missing: [] });
    const without = tupleToRow(m, ["1", "2.50", UNCHANGED_TOAST]);
    expect(without).toEqual({ row: { id: 1n, total: "2.50", big_doc: null }, missing: [2] });
  });

  it("reads a whole tuple with the compiled reader, leaving TOAST markers and short tuples to tupleToRow", () => {
    expect(rowOfTuple(m, ["7", null, "doc"])).toEqual({ id: 7n, total: null, big_doc: "doc" });
    expect(rowOfTuple(m, ["7", "1.00", UNCHANGED_TOAST])).toBeNull();
    expect(rowOfTuple(m, ["7", "1.00"])).toBeNull();
    // Same rows as the column-by-column path (a tuple shorter than the relation: missing columns are null).
    expect(tupleToRow(m, ["7", "1.00"])).toEqual({
      row: { id: 7n, total: "1.00", big_doc: null },
      missing: [],
    });
    // A column named __proto__ is an own field, not the row's prototype.
    const odd = tableMapping(
      "shop",
      { ...relation, columns: [{ flags: 1, name: "__proto__", typeOid: 25, typeMod: -1 }] },
      (oid) => infos[oid] as PgTypeInfo,
      ["__proto__"],
    );
    const row = rowOfTuple(odd, ["x"]) as Record<string, unknown>;
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(row, "__proto__")?.value).toBe("x");
  });

  it("builds an envelope the derived schemas encode, with source time as ts_ms", () => {
    const after = tupleToRow(m, ["9007199254740993", "10.10", "x"]).row;
    const ev = envelope(m, "c", null, after, {
      source: "shop",
      db: "shopdb",
      snapshot: "false",
      tsMicros: 1_700_000_000_123_456n,
      xid: 77,
      lsn: 0x1234n,
      transaction: { id: "77:4660", total_order: 1n, data_collection_order: 1n },
    });
    expect(ev.ts_ms).toBe(1_700_000_000_123n);
    expect(ev.source).toMatchObject({
      connector: "postgresql",
      db: "shopdb",
      schema: "public",
      table: "orders",
      txId: 77n,
      lsn: 0x1234n,
    });
    const type = avroType(envelopeSchema(m.shape));
    expect(type.fromBuffer(type.toBuffer(ev))).toEqual(ev);
    const key = keyOf(m, after);
    const keyType = avroType(keySchema(m.shape) as never);
    expect(keyType.fromBuffer(keyType.toBuffer(key))).toEqual({ id: 9007199254740993n });
  });
});

describe("outbox routing", () => {
  it("routes a row to <owner>.<aggregatetype> keyed by aggregateid with id and type headers", () => {
    const ev = routeOutboxRow("orders", {
      id: "e1",
      aggregatetype: "Order",
      aggregateid: "o-7",
      type: "OrderPlaced",
      payload: '{"total":"12.50"}',
    });
    expect(ev).toEqual({
      topic: "orders.Order",
      key: Buffer.from("o-7"),
      value: Buffer.from('{"total":"12.50"}'),
      headers: { id: "e1", type: "OrderPlaced", aggregatetype: "Order" },
    });
    expect(routeOutboxRow("orders", { id: "e1", aggregateid: "x" })).toBeNull();
  });

  it("reads logical-message outbox events and skips malformed ones", () => {
    const ev = routeOutboxMessage(
      "orders",
      Buffer.from(
        JSON.stringify({
          id: "e2",
          aggregatetype: "Order",
          aggregateid: "o-8",
          type: "Paid",
          payload: { a: 1 },
        }),
      ),
    );
    expect(ev?.topic).toBe("orders.Order");
    expect(ev?.value?.toString()).toBe('{"a":1}');
    expect(routeOutboxMessage("orders", Buffer.from("not json"))).toBeNull();
  });
});
