/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies of many shapes, checked by value */
import { afterAll, describe, expect, it } from "vitest";
import { SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import pino from "pino";
import { kafka, kafkaConnection, uniqueName } from "../test/support/stack.ts";
import { waitFor } from "../test/support/wait.ts";
import { startRegistry, type RunningRegistry } from "./server.ts";
import { encodeKey, encodeValue, type LogRecord } from "./store/records.ts";
import { authHeaders, TEST_ADMIN_TOKEN } from "../test/support/auth.ts";

const logger = pino({ level: "warn" });
const topics: string[] = [];
const running: RunningRegistry[] = [];

async function start(topic: string): Promise<RunningRegistry> {
  const r = await startRegistry({
    adminToken: TEST_ADMIN_TOKEN,
    ...kafkaConnection(),
    port: 0,
    topic,
    logger,
  });
  running.push(r);
  return r;
}

afterAll(async () => {
  await Promise.allSettled(running.map((r) => r.stop()));
  await kafka()
    .admin()
    .deleteTopics(topics.flatMap((t) => [t, `${t}_leader`]))
    .catch(() => undefined);
});

const userV1 = {
  type: "record",
  name: "User",
  namespace: "shop",
  fields: [
    { name: "id", type: "long" },
    { name: "email", type: "string" },
  ],
};
const userV2 = {
  ...userV1,
  fields: [...userV1.fields, { name: "age", type: ["null", "int"], default: null }],
};

describe("registry on Kafka", () => {
  it("serves @kafkajs/confluent-schema-registry: register, encode, decode", async () => {
    const topic = uniqueName("_schemas_js");
    topics.push(topic);
    const reg = await start(topic);
    const client = new SchemaRegistry({
      host: reg.url,
      // The token as the password of HTTP basic auth (any user name), as Confluent clients send it.
      auth: { username: "mesh", password: TEST_ADMIN_TOKEN },
    });
    const { id } = await client.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(userV1) },
      { subject: "users-value" },
    );
    expect(id).toBe(1);
    const encoded = await client.encode(id, { id: 7, email: "a@b.c" });
    expect(encoded[0]).toBe(0);
    expect(encoded.readUInt32BE(1)).toBe(id);
    expect(await client.decode(encoded)).toEqual({ id: 7, email: "a@b.c" });
    const { id: id2 } = await client.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(userV2) },
      { subject: "users-value" },
    );
    expect(id2).toBe(2);
    expect(await client.getLatestSchemaId("users-value")).toBe(2);
    // A v1 message decodes with its own writer schema, as any consumer would.
    expect(await client.decode(encoded)).toEqual({ id: 7, email: "a@b.c" });
    await expect(
      client.register(
        {
          type: SchemaType.AVRO,
          schema: JSON.stringify({ ...userV1, fields: [{ name: "id", type: "string" }] }),
        },
        { subject: "users-value" },
      ),
    ).rejects.toThrow(/incompatible/);
  });

  it("replays _schemas on restart and serves the same ids; ids keep growing after deletes", async () => {
    const topic = uniqueName("_schemas_restart");
    topics.push(topic);
    const first = await start(topic);
    const post = (url: string, path: string, body: unknown, method = "POST") =>
      fetch(`${url}${path}`, {
        method,
        headers: { ...authHeaders(), "content-type": "application/vnd.schemaregistry.v1+json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }).then(async (r) => ({ status: r.status, json: (await r.json()) as any }));
    const ids: number[] = [];
    for (let i = 0; i < 20; i++) {
      const schema = JSON.stringify({ type: "record", name: `R${i}`, fields: [{ name: "a", type: "int" }] });
      ids.push((await post(first.url, `/subjects/s${i}/versions`, { schema })).json.id);
    }
    expect(ids).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await post(first.url, "/config", { compatibility: "FULL" }, "PUT");
    // Permanently delete the subject holding the highest id.
    expect((await post(first.url, "/subjects/s19", undefined, "DELETE")).status).toBe(200);
    expect((await post(first.url, "/subjects/s19?permanent=true", undefined, "DELETE")).json).toEqual([1]);
    await first.stop();

    const second = await start(topic);
    for (let i = 0; i < 19; i++) {
      const r = await fetch(`${second.url}/subjects/s${i}/versions/latest`, { headers: authHeaders() }).then(
        (x) => x.json() as any,
      );
      expect(r.id).toBe(i + 1);
    }
    expect(await fetch(`${second.url}/config`, { headers: authHeaders() }).then((x) => x.json())).toEqual({
      compatibilityLevel: "FULL",
    });
    expect((await fetch(`${second.url}/schemas/ids/20`, { headers: authHeaders() })).status).toBe(404);
    const schema = JSON.stringify({ type: "record", name: "New", fields: [{ name: "a", type: "int" }] });
    expect((await post(second.url, "/subjects/new/versions", { schema })).json.id).toBe(21);
  });

  it("refuses to start on a schemas topic that is not compacted", async () => {
    const topic = uniqueName("_schemas_delete");
    topics.push(topic);
    await kafka()
      .admin()
      .ensureTopics([{ topic, partitions: 1, configs: { "cleanup.policy": "delete" } }]);
    await expect(
      startRegistry({ adminToken: TEST_ADMIN_TOKEN, ...kafkaConnection(), port: 0, topic, logger }),
    ).rejects.toThrow(/MESH_REGISTRY_TOPIC_NOT_COMPACTED/);
  });

  it("creates the schemas topic compacted with one partition", async () => {
    const topic = uniqueName("_schemas_new");
    topics.push(topic);
    await start(topic);
    const admin = kafka().admin();
    expect(await admin.topicConfig(topic, ["cleanup.policy"])).toEqual({ "cleanup.policy": "compact" });
    expect(await admin.partitionCounts([topic])).toEqual(new Map([[topic, 1]]));
  });

  it("applies records others append to the topic while running, leader included; unreadable ones are skipped with a warning", async () => {
    const topic = uniqueName("_schemas_external");
    topics.push(topic);
    const logged: { level: number; msg: string; offset?: number }[] = [];
    const capture = pino({ level: "warn" }, { write: (line: string) => logged.push(JSON.parse(line)) });
    const reg = await startRegistry({
      adminToken: TEST_ADMIN_TOKEN,
      ...kafkaConnection(),
      port: 0,
      topic,
      logger: capture,
    });
    running.push(reg);
    const call = (path: string, body?: unknown, method = body === undefined ? "GET" : "POST") =>
      fetch(`${reg.url}${path}`, {
        method,
        headers: { ...authHeaders(), "content-type": "application/vnd.schemaregistry.v1+json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }).then(async (r) => ({ status: r.status, json: (await r.json()) as any }));
    const schema = (name: string) =>
      JSON.stringify({ type: "record", name, fields: [{ name: "a", type: "int" }] });
    expect((await call("/subjects/own-value/versions", { schema: schema("Own") })).json.id).toBe(1);
    expect((await call("/config", { compatibility: "FULL" }, "PUT")).status).toBe(200);
    expect((await call("/v1/registry/status")).json.role).toBe("leader");

    // What a migration tool would write, with a plain producer: three records this registry cannot read, then
    // a schema with an id of its own and a global config replacing the leader's own.
    const migrated: LogRecord = {
      keytype: "SCHEMA",
      subject: "migrated-value",
      version: 1,
      value: { subject: "migrated-value", version: 1, id: 50, schema: schema("Migrated"), deleted: false },
    };
    const config: LogRecord = { keytype: "CONFIG", subject: null, value: { compatibilityLevel: "NONE" } };
    const key = (subject: string) => `{"keytype":"SCHEMA","subject":"${subject}","version":1,"magic":1}`;
    await kafka()
      .producer()
      .send([
        { topic, partition: 0, key: "not json", value: "{}" },
        { topic, partition: 0, key: key("bad-json"), value: "{nope" },
        { topic, partition: 0, key: key("bad-shape"), value: JSON.stringify({ subject: "bad-shape" }) },
        { topic, partition: 0, key: encodeKey(migrated), value: encodeValue(migrated) },
        { topic, partition: 0, key: encodeKey(config), value: encodeValue(config) },
      ]);

    await waitFor(
      async () => (await call("/subjects/migrated-value/versions/latest")).json.id === 50,
      20_000,
      "the leader to serve the migrated schema",
    );
    expect((await call("/config")).json).toEqual({ compatibilityLevel: "NONE" });
    expect((await call("/subjects")).json).toEqual(["migrated-value", "own-value"]);
    const skipped = logged.filter((l) => l.msg === "skipped a schemas topic record that cannot be read");
    expect(skipped.map((l) => l.level)).toEqual([40, 40, 40]);
    // Still the leader, and ids go on above the one it read.
    expect((await call("/v1/registry/status")).json.role).toBe("leader");
    expect((await call("/subjects/next-value/versions", { schema: schema("Next") })).json.id).toBe(51);
  });
});
