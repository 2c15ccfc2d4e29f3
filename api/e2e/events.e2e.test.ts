// Domain events end to end (issue 18) on the real stack — registry, API with the Postgres connector, Kafka,
// Postgres: an outbox declared with the source (exactly-once), event types declared over HTTP, a Python service
// reading them with confluent-kafka's stock AvroDeserializer, SSE with decoded payloads, a malformed payload
// parked (with its aggregate's next event) and published after the schema is fixed and the aggregate retried
// (through the CLI too), outbox rows deleted in the transaction that inserted them published exactly once across
// a new connector session, ownership of topic names, and a source publishing untyped JSON until a type is
// declared.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import type { RunningRegistry } from "../../registry/server.ts";
import { createPgDatabase, kafka, kafkaEnv, stackEnv, uniqueName } from "../../test/support/stack.ts";
import type { RunningApi } from "../service.ts";
import { python } from "./contract-fixture.ts";
import {
  api,
  mesh,
  readTopicToEnd,
  startTestApi,
  startTestRegistry,
  subscribe,
  testCatalogTopic,
  until,
} from "./harness.ts";
import { TEST_ADMIN_TOKEN } from "../../test/support/auth.ts";

let registry: RunningRegistry;
let apiProc: RunningApi;
let db: Awaited<ReturnType<typeof createPgDatabase>>;
const owner = uniqueName("shop").replaceAll("_", "-");
const topic = `${owner}.Order`;
const client = kafka();

async function sql(...statements: string[]): Promise<void> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    for (const s of statements) await c.query(s);
  } finally {
    await c.end();
  }
}

/** An outbox row inserted and deleted in one transaction (the common pattern). */
function event(id: string, aggregate: string, type: string, payload: unknown): string[] {
  const json = JSON.stringify(payload).replaceAll("'", "''");
  return [
    "BEGIN",
    `INSERT INTO outbox VALUES ('${id}', 'Order', '${aggregate}', '${type}', '${json}')`,
    `DELETE FROM outbox WHERE id = '${id}'`,
    "COMMIT",
  ];
}

const placed = JSON.stringify({
  type: "record",
  name: "OrderPlaced",
  namespace: "shop",
  fields: [
    { name: "id", type: "string" },
    { name: "total", type: "double" },
    { name: "items", type: { type: "array", items: "string" } },
  ],
});
const shipped = (carrier: unknown): string =>
  JSON.stringify({
    type: "record",
    name: "OrderShipped",
    namespace: "shop",
    fields: [
      { name: "id", type: "string" },
      { name: "carrier", type: carrier },
    ],
  });

async function status(
  name: string,
): Promise<{ state: string; outbox?: Record<string, { published: number }> }> {
  return (await api(apiProc.url, "GET", `/v1/sources/${name}`)).body.status as {
    state: string;
    outbox?: Record<string, { published: number }>;
  };
}

/** Event ids on the topic (read_committed), with their aggregate. */
async function onTopic(t: string): Promise<{ key: string; id: string }[]> {
  return (await readTopicToEnd(client, t)).map((r) => ({
    key: r.key!.toString(),
    id: r.headers.id!.toString(),
  }));
}

beforeAll(async () => {
  db = await createPgDatabase("e2e_events");
  await sql(
    "CREATE TABLE orders (id bigint PRIMARY KEY)",
    "CREATE TABLE outbox (id text PRIMARY KEY, aggregatetype text, aggregateid text, type text, payload jsonb)",
  );
  registry = await startTestRegistry();
  apiProc = await startTestApi(registry.url, testCatalogTopic());
});

afterAll(async () => {
  await apiProc?.stop();
  await registry?.stop();
  await db?.drop();
  await client.close();
});

describe("publish domain events", () => {
  it("typed events reach a Python consumer and SSE; a misfit is parked, then published after a fix and retry; each once", async () => {
    const source = `${owner}-db`;
    const created = await api(apiProc.url, "POST", "/v1/sources", {
      name: source,
      owner,
      kind: "postgres",
      url: db.url,
      tables: ["orders"],
      delivery: "exactly-once",
      outbox: { tables: ["outbox"], messagePrefix: "outbox" },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.outbox).toEqual({
      tables: ["public.outbox"],
      messagePrefix: "outbox",
      untyped: "park",
      topics: [],
    });
    await until("streaming", async () => (await status(source)).state === "streaming", 90_000);
    for (const [type, schema] of [
      ["OrderPlaced", placed],
      ["OrderShipped", shipped("string")],
    ] as const) {
      const declared = await api(apiProc.url, "PUT", `/v1/events/${topic}/types/${type}`, { owner, schema });
      expect(declared.status, JSON.stringify(declared.body)).toBe(201);
    }

    await sql(
      ...event("e1", "o-1", "OrderPlaced", { id: "o-1", total: 12.5, items: ["a", "b"] }),
      ...event("e2", "o-2", "OrderPlaced", { id: "o-2", total: 3, items: [] }),
      ...event("e3", "o-1", "OrderShipped", { id: "o-1", carrier: "ups" }),
      `SELECT pg_logical_emit_message(true, 'outbox', '${JSON.stringify({
        id: "m4",
        aggregatetype: "Order",
        aggregateid: "o-2",
        type: "OrderShipped",
        payload: { id: "o-2", carrier: "dhl" },
      })}')`,
    );
    await until("4 published", async () => (await status(source)).outbox?.[topic]?.published === 4);

    // SSE: decoded payloads, the aggregate id as key, the headers.
    const sse = subscribe(`${apiProc.url}/v1/topics/${topic}/events?from=earliest`);
    await until("4 SSE events", () => Promise.resolve(sse.events.length >= 4));
    sse.close();
    const o1 = sse.events.map((e) => e.data).filter((d) => d.key === "o-1");
    expect(o1).toEqual([
      expect.objectContaining({
        value: { id: "o-1", total: 12.5, items: ["a", "b"] },
        headers: { id: "e1", type: "OrderPlaced", aggregatetype: "Order" },
      }),
      expect.objectContaining({
        value: { id: "o-1", carrier: "ups" },
        headers: { id: "e3", type: "OrderShipped", aggregatetype: "Order" },
      }),
    ]);

    // A payload that does not fit its type is parked, and so is its aggregate's next event; others flow.
    await sql(
      ...event("e5", "o-1", "OrderShipped", { id: "o-1", carrier: 42 }),
      ...event("e6", "o-1", "OrderPlaced", { id: "o-1", total: 1, items: [] }),
      ...event("e7", "o-3", "OrderPlaced", { id: "o-3", total: 7, items: [] }),
    );
    await until("5 published", async () => (await status(source)).outbox?.[topic]?.published === 5);
    const listed = await until("2 parked", async () => {
      const t = await api(apiProc.url, "GET", `/v1/events/${topic}`);
      return t.body.parked === 2 ? t.body : undefined;
    });
    expect(listed.parkedEvents).toEqual([
      expect.objectContaining({
        key: "o-1",
        eventId: "e5",
        reason: expect.objectContaining({ code: "MESH_EVENT_INVALID" }),
      }),
      expect.objectContaining({
        key: "o-1",
        eventId: "e6",
        reason: expect.objectContaining({ code: "MESH_EVENT_BEHIND_PARKED" }),
      }),
    ]);
    expect((listed.parkedEvents as { reason: { message: string } }[])[0]?.reason.message).toMatch(
      /payload\.carrier/,
    );
    const cli = ["--api", apiProc.url];
    const parkedOut = await mesh(["events", "parked", topic, ...cli]);
    expect(parkedOut.stdout).toContain("MESH_EVENT_INVALID");
    // A retry before the fix leaves them parked (exit 1).
    const early = await mesh(["events", "retry", topic, "--key", "o-1", ...cli]);
    expect(early.code, early.stderr).toBe(1);
    expect(early.stdout).toContain("0 published");

    // The owner accepts numeric carriers too (a compatible new version), then retries the aggregate.
    const fixed = await api(apiProc.url, "PUT", `/v1/events/${topic}/types/OrderShipped`, {
      owner,
      schema: shipped(["string", "long"]),
    });
    expect(fixed.status, JSON.stringify(fixed.body)).toBe(200);
    expect(fixed.body.version).toBe(2);
    const retried = await mesh(["events", "retry", topic, "--key", "o-1", "--json", ...cli]);
    expect(retried.code, retried.stderr).toBe(0);
    expect(JSON.parse(retried.stdout)).toMatchObject({ source, published: 2, skipped: 0, stillParked: 0 });
    expect((await api(apiProc.url, "GET", `/v1/events/${topic}`)).body.parked).toBe(0);

    // A new connector session (pause, resume) replays nothing: every event id once, each aggregate in order.
    await api(apiProc.url, "POST", `/v1/sources/${source}/pause`);
    await api(apiProc.url, "POST", `/v1/sources/${source}/resume`);
    await until("streaming again", async () => (await status(source)).state === "streaming");
    await sql(...event("e8", "o-1", "OrderShipped", { id: "o-1", carrier: "fedex" }));
    const all = await until("8 events on the topic", async () => {
      const rows = await onTopic(topic);
      return rows.length >= 8 ? rows : undefined;
    });
    expect(all.map((r) => r.id).sort()).toEqual(["e1", "e2", "e3", "e5", "e6", "e7", "e8", "m4"]);
    expect(all.filter((r) => r.key === "o-1").map((r) => r.id)).toEqual(["e1", "e3", "e5", "e6", "e8"]);

    // A Python service with the stock deserializer and nothing configured but the registry URL.
    const { stdout } = await promisify(execFile)(
      python(),
      [
        "test/python/domain_events_consumer.py",
        registry.url,
        stackEnv().MESH_KAFKA_BROKERS,
        topic,
        "8",
        "avro",
        "60",
      ],
      { timeout: 90_000, env: { ...process.env, ...kafkaEnv(), MESH_TOKEN: TEST_ADMIN_TOKEN } },
    ).catch((e: { stderr?: string; message: string }) => {
      throw new Error(`python consumer failed: ${e.stderr ?? ""} ${e.message}`);
    });
    const read = stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { key: string; headers: Record<string, string>; value: unknown });
    expect(read.filter((r) => r.key === "o-1").map((r) => [r.headers.id, r.headers.type, r.value])).toEqual([
      ["e1", "OrderPlaced", { id: "o-1", total: 12.5, items: ["a", "b"] }],
      ["e3", "OrderShipped", { id: "o-1", carrier: "ups" }],
      ["e5", "OrderShipped", { id: "o-1", carrier: 42 }],
      ["e6", "OrderPlaced", { id: "o-1", total: 1, items: [] }],
      ["e8", "OrderShipped", { id: "o-1", carrier: "fedex" }],
    ]);
    expect(read.find((r) => r.headers.id === "m4")?.value).toEqual({ id: "o-2", carrier: "dhl" });

    const events = (await api(apiProc.url, "GET", "/v1/events")).body.events as Record<string, unknown>[];
    expect(events.find((e) => e.topic === topic)).toMatchObject({
      owner,
      sources: [source],
      format: "AVRO",
      valueVersion: 3,
      published: 8,
      parked: 0,
      untyped: false,
    });
    const shown = await api(apiProc.url, "GET", `/v1/sources/${source}`);
    expect((shown.body.outbox as { topics: string[] }).topics).toEqual([topic]);
  }, 240_000);

  it("refuses a source of another service named like the topics' owner (409)", async () => {
    const res = await api(apiProc.url, "POST", "/v1/sources", {
      name: owner,
      owner: "someone-else",
      kind: "postgres",
      url: db.url,
      tables: ["orders"],
    });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: "MESH_TOPIC_OWNED", details: { owner } });
  });

  it("untyped: json publishes plain JSON until a type is declared, flagged in the catalog", async () => {
    const other = uniqueName("legacy").replaceAll("_", "-");
    const legacyDb = await createPgDatabase("e2e_legacy");
    try {
      const c = new pg.Client({ connectionString: legacyDb.url });
      await c.connect();
      const run = async (...s: string[]): Promise<void> => {
        for (const x of s) await c.query(x);
      };
      await run(
        "CREATE TABLE t (id int PRIMARY KEY)",
        "CREATE TABLE outbox (id text PRIMARY KEY, aggregatetype text, aggregateid text, type text, payload jsonb)",
      );
      const created = await api(apiProc.url, "POST", "/v1/sources", {
        name: `${other}-db`,
        owner: other,
        kind: "postgres",
        url: legacyDb.url,
        tables: ["t"],
        outbox: { tables: ["outbox"], untyped: "json" },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      await until("streaming", async () => (await status(`${other}-db`)).state === "streaming", 90_000);
      const legacyTopic = `${other}.Cart`;
      const insert = (id: string, payload: object): string =>
        `INSERT INTO outbox VALUES ('${id}', 'Cart', 'c-1', 'CartUpdated', '${JSON.stringify(payload)}')`;
      await run(insert("u1", { items: 1 }));
      await until("the untyped event", async () => (await onTopic(legacyTopic)).length === 1);
      const listed = (await api(apiProc.url, "GET", `/v1/events/${legacyTopic}`)).body;
      expect(listed).toMatchObject({ untyped: true, format: null, published: 1, publishedUntyped: 1 });
      const raw = await readTopicToEnd(client, legacyTopic);
      expect(JSON.parse(raw[0]!.value!.toString())).toEqual({ items: 1 });

      const declared = await api(apiProc.url, "PUT", `/v1/events/${legacyTopic}/types/CartUpdated`, {
        owner: other,
        format: "JSON",
        schema: JSON.stringify({
          type: "object",
          properties: { items: { type: "integer" } },
          required: ["items"],
        }),
      });
      expect(declared.status, JSON.stringify(declared.body)).toBe(201);
      // The connector reads the topic schema again before publishing untyped (at most every 2 s).
      await new Promise((r) => setTimeout(r, 2500));
      await run(insert("u2", { items: 2 }));
      const records = await until("the typed event", async () => {
        const r = await readTopicToEnd(client, legacyTopic);
        return r.length === 2 ? r : undefined;
      });
      expect(records[1]!.value![0]).toBe(0); // the Confluent wire format now
      const sse = subscribe(`${apiProc.url}/v1/topics/${legacyTopic}/events?from=earliest`);
      await until("2 SSE events", () => Promise.resolve(sse.events.length >= 2));
      sse.close();
      expect(sse.events.map((e) => e.data.value)).toEqual([{ items: 1 }, { items: 2 }]);
      expect((await api(apiProc.url, "GET", `/v1/events/${legacyTopic}`)).body).toMatchObject({
        untyped: false,
        format: "JSON",
      });
      await c.end();
      await api(apiProc.url, "DELETE", `/v1/sources/${other}-db?dropSlot=true`);
    } finally {
      await legacyDb.drop();
    }
  }, 180_000);
});
