import { describe, expect, it } from "vitest";
import {
  catalogLeasesTopic,
  catalogStatusTopic,
  checkSourceName,
  heartbeatTopic,
  isSourceName,
  isTransactionsTopic,
  keySubject,
  outboxTopic,
  parseSubject,
  parseTableTopic,
  parseTopic,
  qualifiedTableTopic,
  sourceOfTopic,
  tableTopic,
  transactionsTopic,
  valueSubject,
} from "./topics.ts";

describe("source names", () => {
  it("accepts what the HTTP API always accepted", () => {
    for (const name of ["shop", "orders-db", "a_b", "9lives", "x".repeat(100)])
      expect(checkSourceName(name)).toBe(name);
  });

  it("refuses dots (the first dotted part of a topic is its source), and names topics cannot start with", () => {
    for (const name of ["a.b", "", "-x", "_x", "x".repeat(101), "a b", "a/b", "é"]) {
      expect(isSourceName(name)).toBe(false);
      expect(() => checkSourceName(name, "sources[0].name")).toThrow(
        expect.objectContaining({
          code: "MESH_BAD_REQUEST",
          details: { field: "sources[0].name", value: name },
        }),
      );
    }
    expect(() => checkSourceName(undefined)).toThrow(/name undefined is not a valid name.*no dots/);
  });
});

describe("topic names", () => {
  it("builds and parses table topics; the table part may hold dots, schema names underscores", () => {
    for (const [source, schema, table] of [
      ["shop", "public", "orders"],
      ["orders-db", "my_schema", "order_items"],
      ["s", "sales", "v1.orders"],
      ["s", "_x", "transactions"],
    ] as const) {
      const topic = tableTopic(source, schema, table);
      expect(parseTableTopic(topic)).toEqual({ source, schema, table });
      expect(parseTopic(topic)).toEqual({ kind: "table", source, schema, table });
      expect(sourceOfTopic(topic)).toBe(source);
    }
    expect(qualifiedTableTopic("shop", "public.orders")).toBe("shop.public.orders");
    expect(parseTableTopic("shop.orders")).toBeNull();
    expect(parseTableTopic("shop")).toBeNull();
  });

  it("tells marker and heartbeat topics from a table named transactions", () => {
    expect(transactionsTopic("shop")).toBe("shop.transactions");
    expect(heartbeatTopic("shop")).toBe("shop.heartbeat");
    expect(parseTopic("shop.transactions")).toEqual({ kind: "transactions", source: "shop" });
    expect(parseTopic("shop.heartbeat")).toEqual({ kind: "heartbeat", source: "shop" });
    expect(isTransactionsTopic("shop.public.transactions")).toBe(false);
    expect(parseTopic("shop.public.transactions")).toMatchObject({ kind: "table", table: "transactions" });
  });

  it("internal topics, outbox topics and subjects", () => {
    expect(parseTopic("_mesh_catalog")).toEqual({ kind: "internal", name: "_mesh_catalog" });
    expect(catalogLeasesTopic("_mesh_catalog")).toBe("_mesh_catalog_leases");
    expect(catalogStatusTopic("_mesh_catalog")).toBe("_mesh_catalog_status");
    expect(outboxTopic("billing", "Order Placed/v2")).toBe("billing.Order_Placed_v2");
    expect(parseTopic("foreign")).toEqual({ kind: "other", name: "foreign" });
    const topic = tableTopic("shop", "public", "orders");
    expect(parseSubject(keySubject(topic))).toEqual({ topic, part: "key" });
    expect(parseSubject(valueSubject(topic))).toEqual({ topic, part: "value" });
    expect(parseSubject("shop.public.orders")).toBeNull();
  });
});
