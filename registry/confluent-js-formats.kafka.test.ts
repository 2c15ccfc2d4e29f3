// Confluent's own JavaScript client, @confluentinc/schemaregistry, with its Protobuf and JSON Schema serdes
// against the registry and the real Kafka. Protobuf: the serializer registers each file as base64 of its
// FileDescriptorProto (an import as its own subject, referenced by file name), writes message indexes, and the
// deserializer reads the writer schema back with `?format=serialized`. JSON Schema: a registered schema used as
// the latest version, with validation on both sides, and the compatibility check before a breaking change.
import { afterAll, describe, expect, it } from "vitest";
import {
  create,
  createFileRegistry,
  createMutableRegistry,
  toJson,
  type DescMessage,
} from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  file_google_protobuf_timestamp,
} from "@bufbuild/protobuf/wkt";
import {
  JsonDeserializer,
  JsonSerializer,
  ProtobufDeserializer,
  ProtobufSerializer,
  SchemaRegistryClient,
  SerdeType,
} from "@confluentinc/schemaregistry";
import pino from "pino";
import { kafka, kafkaConnection, uniqueName } from "../test/support/stack.ts";
import { startRegistry, type RunningRegistry } from "./server.ts";
import { TEST_ADMIN_TOKEN } from "../test/support/auth.ts";

const schemasTopic = uniqueName("_schemas_cffmt");
const protoTopic = uniqueName("cf_proto_orders");
const jsonTopic = uniqueName("cf_json_orders");
let reg: RunningRegistry | undefined;

afterAll(async () => {
  await reg?.stop();
  await kafka()
    .admin()
    .deleteTopics([protoTopic, jsonTopic, schemasTopic, `${schemasTopic}_leader`])
    .catch(() => undefined);
});

async function registry(): Promise<RunningRegistry> {
  reg ??= await startRegistry({
    adminToken: TEST_ADMIN_TOKEN,
    ...kafkaConnection(),
    port: 0,
    topic: schemasTopic,
    logger: pino({ level: "warn" }),
  });
  return reg;
}

async function roundTrip(topic: string, values: Buffer[]): Promise<Buffer[]> {
  await kafka()
    .admin()
    .ensureTopics([{ topic, partitions: 1 }]);
  const producer = kafka().producer();
  await producer.send(values.map((value) => ({ topic, key: null, value })));
  await producer.close();
  const reader = kafka().reader({ maxWaitMs: 200 });
  await reader.assign([{ topic, partition: 0, offset: "earliest" }]);
  const out: Buffer[] = [];
  for await (const batch of reader.batches(AbortSignal.timeout(20_000))) {
    for (const r of batch.records) if (r.value) out.push(r.value);
    if (out.length >= values.length) break;
  }
  await reader.close();
  return out;
}

/** shop/money.proto and shop/order.proto, built at run time (what protoc-generated code embeds). */
function shopTypes(): { Order: DescMessage; Refund: DescMessage } {
  const money = create(FileDescriptorProtoSchema, {
    name: "shop/money.proto",
    package: "shop",
    syntax: "proto3",
    messageType: [
      {
        name: "Money",
        field: [
          { name: "currency", number: 1, label: Label.OPTIONAL, type: Type.STRING, jsonName: "currency" },
          { name: "cents", number: 2, label: Label.OPTIONAL, type: Type.INT64, jsonName: "cents" },
        ],
      },
    ],
  });
  const field = (name: string, number: number, type: Type, extra: object = {}) => ({
    name,
    number,
    label: Label.OPTIONAL,
    type,
    jsonName: name,
    ...extra,
  });
  const order = create(FileDescriptorProtoSchema, {
    name: "shop/order.proto",
    package: "shop",
    syntax: "proto3",
    dependency: ["shop/money.proto", "google/protobuf/timestamp.proto"],
    messageType: [
      {
        name: "Order",
        field: [
          field("id", 1, Type.STRING),
          field("total", 2, Type.MESSAGE, { typeName: ".shop.Money" }),
          field("placed", 3, Type.MESSAGE, { typeName: ".google.protobuf.Timestamp" }),
          field("lines", 4, Type.MESSAGE, { typeName: ".shop.Order.Line", label: Label.REPEATED }),
          field("status", 5, Type.ENUM, { typeName: ".shop.Order.Status" }),
          field("tags", 6, Type.MESSAGE, { typeName: ".shop.Order.TagsEntry", label: Label.REPEATED }),
          field("note", 7, Type.STRING, { oneofIndex: 0, proto3Optional: true }),
        ],
        oneofDecl: [{ name: "_note" }],
        nestedType: [
          { name: "Line", field: [field("sku", 1, Type.STRING), field("qty", 2, Type.INT32)] },
          {
            name: "TagsEntry",
            field: [field("key", 1, Type.STRING), field("value", 2, Type.STRING)],
            options: { mapEntry: true },
          },
        ],
        enumType: [
          {
            name: "Status",
            value: [
              { name: "NEW", number: 0 },
              { name: "PAID", number: 1 },
            ],
          },
        ],
      },
      { name: "Refund", field: [field("order_id", 1, Type.STRING), field("cents", 2, Type.INT64)] },
    ],
  });
  const files = createFileRegistry(
    create(FileDescriptorSetSchema, { file: [file_google_protobuf_timestamp.proto, money, order] }),
  );
  return { Order: files.getMessage("shop.Order")!, Refund: files.getMessage("shop.Refund")! };
}

describe("@confluentinc/schemaregistry Protobuf and JSON Schema serdes against the registry", () => {
  it("Protobuf: registers the file and its import by reference, writes message indexes, reads back through Kafka", async () => {
    const r = await registry();
    const client = new SchemaRegistryClient({
      baseURLs: [r.url],
      // As Confluent clients send credentials: the token as the password of HTTP basic auth.
      basicAuthCredentials: { credentialsSource: "USER_INFO", userInfo: `mesh:${TEST_ADMIN_TOKEN}` },
    });
    const { Order, Refund } = shopTypes();
    const serializer = new ProtobufSerializer(client, SerdeType.VALUE, {
      autoRegisterSchemas: true,
      registry: createMutableRegistry(Order, Refund),
    });
    const deserializer = new ProtobufDeserializer(client, SerdeType.VALUE, {});
    const order = create(Order, {
      id: "o-1",
      total: { currency: "EUR", cents: 1250n },
      placed: { seconds: 1709205255n, nanos: 654321000 },
      lines: [
        { sku: "a", qty: 2 },
        { sku: "b", qty: 1 },
      ],
      status: 1,
      tags: { gift: "yes" },
      note: "ring twice",
    });
    const refund = create(Refund, { order_id: "o-1", cents: 500n });
    const bytes = [
      await serializer.serialize(protoTopic, order),
      await serializer.serialize(protoTopic, refund),
    ];
    const read = await roundTrip(protoTopic, bytes);
    // Magic byte, the order file's id, then message indexes: [0] is one zero byte, [1] is 0x02 0x02.
    const id = read[0]!.readUInt32BE(1);
    expect([read[0]![0], read[0]![5]]).toEqual([0, 0]);
    expect([read[1]!.readUInt32BE(1), read[1]![5], read[1]![6]]).toEqual([id, 2, 2]);

    const back = await Promise.all(read.map((b) => deserializer.deserialize(protoTopic, b)));
    expect(toJson(Order, back[0])).toEqual(toJson(Order, order));
    expect(toJson(Refund, back[1])).toEqual(toJson(Refund, refund));

    // The import was registered as its own subject and referenced by its file name.
    expect(await client.getAllSubjects()).toEqual([`${protoTopic}-value`, "shop/money.proto"].sort());
    const latest = await client.getLatestSchemaMetadata(`${protoTopic}-value`);
    expect(latest.schemaType).toBe("PROTOBUF");
    expect(latest.references).toEqual([
      { name: "shop/money.proto", subject: "shop/money.proto", version: 1 },
    ]);
    expect(latest.schema).toContain("message Order {");
  });

  it("JSON Schema: serializes with the latest version, validates, reads back, and refuses a breaking change", async () => {
    const r = await registry();
    const client = new SchemaRegistryClient({
      baseURLs: [r.url],
      // As Confluent clients send credentials: the token as the password of HTTP basic auth.
      basicAuthCredentials: { credentialsSource: "USER_INFO", userInfo: `mesh:${TEST_ADMIN_TOKEN}` },
    });
    const subject = `${jsonTopic}-value`;
    const schema = {
      $schema: "http://json-schema.org/draft-07/schema#",
      title: "Order",
      type: "object",
      properties: {
        id: { type: "string" },
        cents: { type: "integer", minimum: 0 },
        tags: { type: "array", items: { type: "string" } },
      },
      required: ["id", "cents"],
      additionalProperties: false,
    };
    const id = await client.register(subject, { schemaType: "JSON", schema: JSON.stringify(schema) });
    const serializer = new JsonSerializer(client, SerdeType.VALUE, {
      useLatestVersion: true,
      validate: true,
    });
    const deserializer = new JsonDeserializer(client, SerdeType.VALUE, { validate: true });
    const orders = [
      { id: "o-1", cents: 1250, tags: ["gift"] },
      { id: "o-2", cents: 0, tags: [] },
    ];
    await expect(serializer.serialize(jsonTopic, { id: "bad", cents: -1 })).rejects.toThrow(
      /Invalid message/,
    );
    const read = await roundTrip(
      jsonTopic,
      await Promise.all(orders.map((o) => serializer.serialize(jsonTopic, o))),
    );
    for (const b of read) expect([b[0], b.readUInt32BE(1)]).toEqual([0, id]);
    expect(await Promise.all(read.map((b) => deserializer.deserialize(jsonTopic, b)))).toEqual(orders);

    // Removing a property from a closed content model breaks readers of the old data.
    const { cents: _cents, ...withoutCents } = schema.properties;
    const breaking = { ...schema, properties: withoutCents, required: ["id"] };
    expect(
      await client.testSubjectCompatibility(subject, {
        schemaType: "JSON",
        schema: JSON.stringify(breaking),
      }),
    ).toBe(false);
    const byId = await client.getBySubjectAndId(subject, id);
    expect([byId.schemaType, byId.schema]).toEqual(["JSON", JSON.stringify(schema)]);
  });
});
