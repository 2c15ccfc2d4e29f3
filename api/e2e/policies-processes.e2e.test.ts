// A policy holds on every API process: granted through one process, a reader streams a topic from another;
// revoked through the first, the second ends the open stream before its next event and refuses new reads
// within a second (each process follows the catalog topic).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { silentLogger } from "../../lib/logger.ts";
import type { RunningRegistry } from "../../registry/server.ts";
import { authHeaders, TEST_ADMIN_TOKEN } from "../../test/support/auth.ts";
import { createPgDatabase, kafkaEnv, uniqueName } from "../../test/support/stack.ts";
import { parseApiConfig } from "../config.ts";
import { startApi, type RunningApi } from "../service.ts";
import { startTestRegistry, subscribe, testCatalogTopic, until, type JsonResponse } from "./harness.ts";

let registry: RunningRegistry;
let a: RunningApi;
let b: RunningApi;
let db: Awaited<ReturnType<typeof createPgDatabase>>;
const catalogTopic = testCatalogTopic();
const source = `crm_${uniqueName("x").slice(2)}`;
const topic = `${source}.public.customers`;
const tokens: Record<string, string> = {};

async function call(
  api: RunningApi,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<JsonResponse> {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: { ...authHeaders(token), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as JsonResponse["body"] };
}

async function sql(text: string): Promise<void> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

function start(): Promise<RunningApi> {
  const config = parseApiConfig(
    ["--port", "0", "--catalog-topic", catalogTopic, "--registry", registry.url],
    {
      ...kafkaEnv(),
      MESH_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    },
  );
  return startApi(config, { logger: silentLogger(), connector: { heartbeatIntervalMs: 1000 } });
}

beforeAll(async () => {
  db = await createPgDatabase("pol_two");
  await sql(
    "CREATE TABLE customers (id bigint PRIMARY KEY, email text NOT NULL); INSERT INTO customers VALUES (1, 'a@x.org')",
  );
  registry = await startTestRegistry(catalogTopic);
  a = await start();
  b = await start();
  for (const service of ["crm", "shop"]) {
    const made = await call(a, TEST_ADMIN_TOKEN, "POST", "/v1/tokens", {
      service,
      scopes: ["read", "write"],
    });
    tokens[service] = made.body.token as string;
  }
  const created = await call(a, tokens.crm!, "POST", "/v1/sources", {
    name: source,
    kind: "postgres",
    url: db.url,
    tables: ["customers"],
  });
  expect(created.status).toBe(201);
  await until("the topic has its schema", async () => {
    const topics = (await call(b, TEST_ADMIN_TOKEN, "GET", "/v1/topics")).body.topics as {
      topic: string;
      latestVersion: number | null;
    }[];
    return topics.some((t) => t.topic === topic && t.latestVersion !== null);
  });
}, 120_000);

afterAll(async () => {
  await b?.stop();
  await a?.stop();
  await registry?.stop();
  await db?.drop();
});

describe("a policy on two API processes", () => {
  it("granted on one, read on the other; revoked on one, refused on the other", async () => {
    const tokenOnB = async (): Promise<number> =>
      (await fetch(`${b.url}/v1/topics/${topic}/events?from=earliest`, { headers: authHeaders(tokens.shop) }))
        .status;
    expect(await tokenOnB()).toBe(403);
    const granted = await call(a, tokens.crm!, "POST", "/v1/policies", {
      table: topic,
      reader: "shop",
      columns: { email: "hash" },
    });
    expect(granted.status).toBe(201);
    await until("the grant reaches the other process", async () => (await tokenOnB()) === 200);
    const stream = subscribe(`${b.url}/v1/topics/${topic}/events?from=earliest`, authHeaders(tokens.shop));
    const owner = subscribe(`${b.url}/v1/topics/${topic}/events?from=earliest`, authHeaders(tokens.crm));
    await until("the snapshot row, masked", () =>
      Promise.resolve(stream.events.length === 1 && owner.events.length === 1),
    );
    expect((stream.events[0]!.data.value as { after: { email: string } }).after.email).toMatch(
      /^[0-9a-f]{64}$/,
    );

    expect((await call(a, tokens.crm!, "DELETE", `/v1/policies/${granted.body.id as string}`)).status).toBe(
      200,
    );
    const revokedAt = Date.now();
    await until("refused on the other process", async () => (await tokenOnB()) === 403, 5000);
    expect(Date.now() - revokedAt).toBeLessThan(2000);
    await sql("INSERT INTO customers VALUES (2, 'b@x.org')");
    await until("the owner's stream has the new row", () => Promise.resolve(owner.events.length === 2));
    // The revoked reader's stream is ended by the server at that event, not sent it.
    await stream.ended;
    expect(stream.events).toHaveLength(1);
    stream.close();
    owner.close();
  });
});
