// Confluent's own JavaScript client, @confluentinc/schemaregistry, against the registry and the real Kafka:
// the compatibility check pipelines run before a first registration, a schema whose reference is named by
// file (a label), its AvroSerializer (auto-registering) and AvroDeserializer (looking the writer schema up by
// id) around a produce and a read through Kafka, and the client's reads of subjects, versions and ids.
import { afterAll, describe, expect, it } from "vitest";
import {
  AvroDeserializer,
  AvroSerializer,
  SchemaRegistryClient,
  SerdeType,
  type SchemaInfo,
} from "@confluentinc/schemaregistry";
import pino from "pino";
import { kafka, kafkaConnection, uniqueName } from "../test/support/stack.ts";
import { startRegistry, type RunningRegistry } from "./server.ts";
import { TEST_ADMIN_TOKEN } from "../test/support/auth.ts";

const schemasTopic = uniqueName("_schemas_cfjs");
const topic = uniqueName("cfjs_orders");
let reg: RunningRegistry | undefined;

afterAll(async () => {
  await reg?.stop();
  await kafka()
    .admin()
    .deleteTopics([topic, schemasTopic, `${schemasTopic}_leader`])
    .catch(() => undefined);
});

const country = {
  type: "record",
  name: "Country",
  namespace: "geo",
  fields: [
    { name: "code", type: "string" },
    { name: "name", type: "string" },
  ],
};
const order = {
  type: "record",
  name: "Order",
  namespace: "shop",
  fields: [
    { name: "id", type: "long" },
    { name: "total", type: { type: "bytes", logicalType: "decimal", precision: 10, scale: 2 } },
    { name: "placed", type: { type: "long", logicalType: "timestamp-micros" } },
    { name: "status", type: { type: "enum", name: "Status", symbols: ["NEW", "PAID"] } },
    { name: "ship_to", type: "geo.Country" },
    { name: "note", type: ["null", "string"], default: null },
  ],
};

describe("@confluentinc/schemaregistry against the registry", () => {
  it("checks, registers with a labelled reference, serializes through Kafka and deserializes", async () => {
    reg = await startRegistry({
      adminToken: TEST_ADMIN_TOKEN,
      ...kafkaConnection(),
      port: 0,
      topic: schemasTopic,
      logger: pino({ level: "warn" }),
    });
    const client = new SchemaRegistryClient({
      baseURLs: [reg.url],
      // As Confluent clients send credentials: the token as the password of HTTP basic auth.
      basicAuthCredentials: { credentialsSource: "USER_INFO", userInfo: `mesh:${TEST_ADMIN_TOKEN}` },
    });
    const subject = `${topic}-value`;

    const countryInfo: SchemaInfo = { schemaType: "AVRO", schema: JSON.stringify(country) };
    expect(await client.register("geo-country", countryInfo)).toBe(1);
    const orderInfo: SchemaInfo = {
      schemaType: "AVRO",
      schema: JSON.stringify(order),
      references: [{ name: "country.avsc", subject: "geo-country", version: 1 }],
    };
    // "Check before first register": nothing to be incompatible with yet.
    expect(await client.testSubjectCompatibility(subject, orderInfo)).toBe(true);
    expect(await client.register(subject, orderInfo)).toBe(2);

    const serializer = new AvroSerializer(client, SerdeType.VALUE, { useLatestVersion: true });
    const deserializer = new AvroDeserializer(client, SerdeType.VALUE, {});
    // This client leaves logical types to the caller (avsc without logical types): a decimal is its unscaled
    // two's-complement bytes, a timestamp-micros a number of microseconds.
    const records = [
      {
        id: 1,
        total: Buffer.from("04e2", "hex"), // 12.50
        placed: 1709205255654321,
        status: "NEW",
        ship_to: { code: "FR", name: "France" },
        note: null,
      },
      {
        id: 2 ** 40,
        total: Buffer.from("02540be3ff", "hex"), // 99999999.99
        placed: 946684799999999,
        status: "PAID",
        ship_to: { code: "JP", name: "日本" },
        note: "gift",
      },
    ];
    const producer = kafka().producer();
    await kafka()
      .admin()
      .ensureTopics([{ topic, partitions: 1 }]);
    await producer.send(
      await Promise.all(
        records.map(async (r) => ({ topic, key: null, value: await serializer.serialize(topic, r) })),
      ),
    );
    await producer.close();

    const reader = kafka().reader({ maxWaitMs: 200 });
    await reader.assign([{ topic, partition: 0, offset: "earliest" }]);
    const values: Buffer[] = [];
    const stop = AbortSignal.timeout(20_000);
    for await (const batch of reader.batches(stop)) {
      for (const r of batch.records) if (r.value) values.push(r.value);
      if (values.length >= records.length) break;
    }
    await reader.close();
    expect(values).toHaveLength(2);
    for (const v of values) expect([v[0], v.readUInt32BE(1)]).toEqual([0, 2]);
    const decoded = await Promise.all(values.map((v) => deserializer.deserialize(topic, v)));
    expect(decoded).toEqual(records);

    expect(await client.getAllSubjects()).toEqual([subject, "geo-country"].sort());
    expect(await client.getAllVersions(subject)).toEqual([1]);
    const latest = await client.getLatestSchemaMetadata(subject);
    expect([latest.id, latest.version, latest.references]).toEqual([2, 1, orderInfo.references]);
    const byId = await client.getBySubjectAndId(subject, 2);
    expect(JSON.parse(byId.schema)).toEqual(order);
    expect(await client.testCompatibility(subject, 1, orderInfo)).toBe(true);
  });
});
