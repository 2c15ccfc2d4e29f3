import { describe, expect, it } from "vitest";
import {
  compileTopicCodec,
  eventTypeSubject,
  PayloadError,
  topicSchema,
  type EventFormat,
  type TypeSchema,
} from "./outbox-schemas.ts";

const topic = "orders.Order";

const avroPlaced = JSON.stringify({
  type: "record",
  name: "OrderPlaced",
  namespace: "shop.orders",
  fields: [
    { name: "id", type: "string" },
    { name: "total", type: "double" },
    { name: "items", type: { type: "array", items: "string" } },
    { name: "note", type: ["null", "string"], default: null },
    { name: "status", type: { type: "enum", name: "Status", symbols: ["NEW", "PAID"] } },
  ],
});
const avroShipped = JSON.stringify({
  type: "record",
  name: "OrderShipped",
  namespace: "shop.orders",
  fields: [
    { name: "id", type: "string" },
    { name: "carrier", type: "string" },
  ],
});
const jsonPlaced = JSON.stringify({
  type: "object",
  properties: { id: { type: "string" }, total: { type: "number" } },
  required: ["id", "total"],
  additionalProperties: false,
});
const jsonShipped = JSON.stringify({ type: "object", properties: { carrier: { type: "string" } } });
const protoPlaced = `syntax = "proto3";
package shop.orders;
message OrderPlaced { string id = 1; double total = 2; repeated string items = 3; int64 qty = 4; Status status = 5;
  enum Status { NEW = 0; PAID = 1; } }`;
const protoShipped = `syntax = "proto3";
package shop.orders;
message OrderShipped { string id = 1; string carrier = 2; }`;

const texts: Record<EventFormat, [string, string]> = {
  AVRO: [avroPlaced, avroShipped],
  JSON: [jsonPlaced, jsonShipped],
  PROTOBUF: [protoPlaced, protoShipped],
};

/** The topic codec as a reader would compile it from the registry's answers (references resolved). */
function codec(format: EventFormat) {
  const types: TypeSchema[] = ["OrderPlaced", "OrderShipped"].map((type, i) => ({
    type,
    subject: eventTypeSubject(topic, type),
    version: 1,
    schema: texts[format][i]!,
  }));
  const built = topicSchema(topic, format, types);
  const refTexts = new Map(types.map((t) => [`${t.subject}\u00001`, t.schema]));
  return { built, codec: compileTopicCodec(topic, { id: 42, schemaType: format, ...built }, refTexts) };
}

describe("domain event schemas", () => {
  it("builds the topic schema over the types' subjects: Avro union, JSON anyOf, Protobuf oneof wrapper", () => {
    expect(codec("AVRO").built).toEqual({
      schema: '["shop.orders.OrderPlaced","shop.orders.OrderShipped"]',
      references: [
        { name: "shop.orders.OrderPlaced", subject: "orders.Order.OrderPlaced", version: 1 },
        { name: "shop.orders.OrderShipped", subject: "orders.Order.OrderShipped", version: 1 },
      ],
    });
    expect(JSON.parse(codec("JSON").built.schema)).toEqual({
      anyOf: [{ $ref: "OrderPlaced.json" }, { $ref: "OrderShipped.json" }],
    });
    const proto = codec("PROTOBUF").built;
    expect(proto.references.map((r) => r.name)).toEqual(["OrderPlaced.proto", "OrderShipped.proto"]);
    expect(proto.schema).toContain("package datamesh.events.orders;");
    expect(proto.schema).toContain(".shop.orders.OrderPlaced order_placed = 1;");
    expect(proto.schema).toContain(".shop.orders.OrderShipped order_shipped = 2;");
  });

  for (const format of ["AVRO", "JSON", "PROTOBUF"] as const) {
    it(`${format}: encodes a payload in the wire format and decodes it back`, () => {
      const { codec: c } = codec(format);
      const payload =
        format === "JSON"
          ? { id: "o-1", total: 12.5 }
          : format === "AVRO"
            ? { id: "o-1", total: 12.5, items: ["a", "b"], status: "PAID" }
            : { id: "o-1", total: 12.5, items: ["a", "b"], qty: "9007199254740993", status: "PAID" };
      const bytes = c.encode("OrderPlaced", payload);
      expect(bytes[0]).toBe(0);
      expect(bytes.readUInt32BE(1)).toBe(42);
      const back = c.decode(bytes);
      if (format === "AVRO") expect(back).toEqual({ ...payload, note: null });
      else expect(back).toEqual(payload);
      const shipped = c.decode(
        c.encode("OrderShipped", format === "JSON" ? { carrier: "ups" } : { id: "o-1", carrier: "ups" }),
      );
      expect(shipped).toMatchObject({ carrier: "ups" });
    });

    it(`${format}: refuses payloads that do not fit, naming the path`, () => {
      const { codec: c } = codec(format);
      const bad = (payload: unknown): string => {
        try {
          c.encode("OrderPlaced", payload);
        } catch (err) {
          expect(err).toBeInstanceOf(PayloadError);
          return (err as Error).message;
        }
        throw new Error(`accepted ${JSON.stringify(payload)}`);
      };
      const good: Record<string, unknown> =
        format === "JSON" ? { id: "o-1", total: 1 } : { id: "o-1", total: 1, items: [], status: "NEW" };
      expect(bad({ ...good, total: "12.50" })).toMatch(/^payload\.total/);
      expect(bad({ ...good, extra: 1 })).toMatch(/extra/);
      if (format !== "PROTOBUF") expect(bad({ ...good, id: undefined })).toMatch(/id/);
      if (format !== "JSON") expect(bad({ ...good, items: [1] })).toMatch(/^payload\.items\[0\]/);
      if (format !== "JSON") expect(bad({ ...good, status: "LOST" })).toMatch(/^payload\.status/);
      expect(() => c.encode("OrderCancelled", {})).toThrow(/not declared/);
    });
  }

  it("refuses type schemas a topic cannot use", () => {
    const one = (_format: EventFormat, schema: string): TypeSchema[] => [
      { type: "T", subject: "orders.Order.T", version: 1, schema },
    ];
    expect(() => topicSchema(topic, "AVRO", one("AVRO", '"string"'))).toThrow(/named record/);
    expect(() => topicSchema(topic, "AVRO", one("AVRO", "{"))).toThrow(/not an Avro schema/);
    expect(() =>
      topicSchema(topic, "PROTOBUF", one("PROTOBUF", 'syntax = "proto3"; enum E { A = 0; }')),
    ).toThrow(/no message/);
    expect(() => topicSchema(topic, "JSON", one("JSON", "not json"))).toThrow(/not JSON/);
    const twice: TypeSchema[] = [
      { type: "A", subject: "orders.Order.A", version: 1, schema: avroPlaced },
      { type: "B", subject: "orders.Order.B", version: 1, schema: avroPlaced },
    ];
    expect(() => topicSchema(topic, "AVRO", twice)).toThrow(/use the name shop.orders.OrderPlaced/);
  });
});
