// Ownership and policies on the real stack (Postgres, Kafka, the registry, an embedded view engine), through
// HTTP with service tokens: a service manages only its own sources and views; the owner of a table grants a
// reader with a column hashed, and that column reaches the reader masked through every path (view rows, a
// lookup, the view's change stream, the topic's SSE, the topic catalog) while its owner and the admin read it
// in clear; ungranted services are refused on each path; a dropped column makes the view unreadable; a
// revoked grant ends an open stream; the policy's key is sealed in the catalog topic.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { silentLogger } from "../../lib/logger.ts";
import { startMaterializer, type RunningMaterializer } from "../../materializer/main.ts";
import type { RunningRegistry } from "../../registry/server.ts";
import { authHeaders, TEST_ADMIN_TOKEN } from "../../test/support/auth.ts";
import { createPgDatabase, kafka, kafkaConnection, kafkaEnv, uniqueName } from "../../test/support/stack.ts";
import { parseApiConfig } from "../config.ts";
import { startApi, type RunningApi } from "../service.ts";
import {
  readTopicToEnd,
  startTestRegistry,
  subscribe,
  testCatalogTopic,
  until,
  type JsonResponse,
} from "./harness.ts";

let registry: RunningRegistry;
let materializer: RunningMaterializer;
let apiProc: RunningApi;
let crmDb: Awaited<ReturnType<typeof createPgDatabase>>;
let shopDb: Awaited<ReturnType<typeof createPgDatabase>>;
const catalogTopic = testCatalogTopic();
const dataDir = mkdtempSync(join(tmpdir(), "mesh-policies-"));
const tag = uniqueName("x").slice(2);
const crmSource = `crm_${tag}`;
const shopSource = `shop_${tag}`;
const customersTopic = `${crmSource}.public.customers`;
const ordersTopic = `${shopSource}.public.orders`;
const view = `contacts_${tag}`;
const tokens: Record<"crm" | "shop" | "billing", string> = { crm: "", shop: "", billing: "" };

async function call(token: string, method: string, path: string, body?: unknown): Promise<JsonResponse> {
  const res = await fetch(`${apiProc.url}${path}`, {
    method,
    headers: { ...authHeaders(token), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as JsonResponse["body"] };
}

async function sql(url: string, text: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

const HASH = /^[0-9a-f]{64}$/;

beforeAll(async () => {
  crmDb = await createPgDatabase("pol_crm");
  shopDb = await createPgDatabase("pol_shop");
  await sql(
    crmDb.url,
    `CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, email text NOT NULL);
     INSERT INTO customers VALUES (1, 'Ada', 'ada@example.org'), (2, 'Grace', 'grace@example.org')`,
  );
  await sql(
    shopDb.url,
    `CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, status text NOT NULL);
     INSERT INTO orders VALUES (10, 1, 'new'), (11, 2, 'paid'), (12, 1, 'paid')`,
  );
  registry = await startTestRegistry(catalogTopic);
  materializer = await startMaterializer(
    {
      ...kafkaConnection(),
      registryUrl: registry.url,
      dataDir,
      views: [],
      logLevel: "silent",
      adminToken: TEST_ADMIN_TOKEN,
    },
    silentLogger(),
  );
  const config = parseApiConfig(
    ["--port", "0", "--catalog-topic", catalogTopic, "--registry", registry.url],
    {
      ...kafkaEnv(),
      MESH_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    },
  );
  apiProc = await startApi(config, {
    logger: silentLogger(),
    connector: { heartbeatIntervalMs: 1000, retryDelayMs: 200 },
    viewEngine: materializer.engine,
  });
  for (const [service, scopes] of [
    ["crm", ["read", "write"]],
    ["shop", ["read", "write"]],
    ["billing", ["read", "write"]],
  ] as const) {
    const made = await call(TEST_ADMIN_TOKEN, "POST", "/v1/tokens", { service, scopes });
    expect(made.status).toBe(201);
    tokens[service] = made.body.token as string;
  }
}, 120_000);

afterAll(async () => {
  await apiProc?.stop();
  await materializer?.stop();
  await registry?.stop();
  await crmDb?.drop();
  await shopDb?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("ownership and policies", () => {
  it("a service registers and manages only its own sources", async () => {
    const stolen = await call(tokens.shop, "POST", "/v1/sources", {
      name: crmSource,
      owner: "crm",
      kind: "postgres",
      url: crmDb.url,
      tables: ["customers"],
    });
    expect(stolen.status).toBe(403);
    expect(stolen.body).toMatchObject({ code: "MESH_FORBIDDEN", details: { owner: "crm", service: "shop" } });
    const crm = await call(tokens.crm, "POST", "/v1/sources", {
      name: crmSource,
      kind: "postgres",
      url: crmDb.url,
      tables: ["customers"],
    });
    expect(crm.status).toBe(201);
    expect(crm.body.owner).toBe("crm");
    const shop = await call(tokens.shop, "POST", "/v1/sources", {
      name: shopSource,
      kind: "postgres",
      url: shopDb.url,
      tables: ["orders"],
    });
    expect(shop.status).toBe(201);
    for (const [method, path] of [
      ["POST", `/v1/sources/${crmSource}/pause`],
      ["POST", `/v1/sources/${crmSource}/snapshot`],
      ["DELETE", `/v1/sources/${crmSource}`],
    ] as const) {
      const refused = await call(tokens.shop, method, path);
      expect(refused.status, `${method} ${path}`).toBe(403);
      expect(refused.body).toMatchObject({
        code: "MESH_FORBIDDEN",
        details: { owner: "crm", source: crmSource },
      });
    }
    expect((await call(tokens.crm, "GET", `/v1/sources/${crmSource}`)).body.status).toMatchObject({
      state: expect.stringMatching(/snapshotting|streaming/),
    });
    await until("both topics have schemas", async () => {
      const topics = (await call(TEST_ADMIN_TOKEN, "GET", "/v1/topics")).body.topics as {
        topic: string;
        latestVersion: number | null;
      }[];
      const ours = topics.filter((t) => t.topic === customersTopic || t.topic === ordersTopic);
      return ours.length === 2 && ours.every((t) => t.latestVersion !== null);
    });
  });

  it("without a policy, another service neither lists nor streams a topic", async () => {
    const listed = (await call(tokens.shop, "GET", "/v1/topics")).body.topics as { topic: string }[];
    expect(listed.map((t) => t.topic)).toEqual([ordersTopic]);
    const sse = await fetch(`${apiProc.url}/v1/topics/${customersTopic}/events`, {
      headers: authHeaders(tokens.shop),
    });
    expect(sse.status).toBe(403);
    expect(await sse.json()).toMatchObject({
      code: "MESH_FORBIDDEN",
      details: { policy: null, reason: "no policy" },
    });
  });

  it("only the owner grants; the grant hashes email on every path; the owner and the admin read it clear", async () => {
    const notOwner = await call(tokens.shop, "POST", "/v1/policies", {
      table: customersTopic,
      reader: "shop",
      columns: { email: "hash" },
    });
    expect(notOwner.status).toBe(403);
    expect(notOwner.body).toMatchObject({ details: { owner: "crm", reason: "not the owner" } });
    const misspelt = await call(tokens.crm, "POST", "/v1/policies", {
      table: customersTopic,
      reader: "shop",
      columns: { emial: "hash" },
    });
    expect(misspelt.status).toBe(422);
    expect(misspelt.body).toMatchObject({ details: { field: "columns", columns: ["emial"] } });
    const granted = await call(tokens.crm, "POST", "/v1/policies", {
      table: customersTopic,
      reader: "shop",
      columns: { email: "hash" },
    });
    expect(granted.status).toBe(201);
    expect(granted.body).toMatchObject({
      topic: customersTopic,
      owner: "crm",
      reader: "shop",
      kafkaAcl: false,
    });
    expect(Object.keys(granted.body)).not.toContain("key");
    expect((await call(tokens.shop, "GET", "/v1/policies")).body.policies).toHaveLength(1);
    expect((await call(tokens.billing, "GET", "/v1/policies")).body.policies).toHaveLength(0);

    // The topic catalog marks the masked column.
    const listed = (await call(tokens.shop, "GET", "/v1/topics")).body.topics as {
      topic: string;
      masked?: Record<string, string>;
    }[];
    expect(listed.find((t) => t.topic === customersTopic)?.masked).toEqual({ email: "hash" });

    // A service cannot declare a view over a table it is not granted.
    const ungranted = await call(tokens.billing, "POST", "/v1/views", {
      sql: `CREATE VIEW billing_${tag} AS SELECT id, name FROM ${customersTopic}`,
    });
    expect(ungranted.status).toBe(403);
    expect(ungranted.body).toMatchObject({ details: { reason: "no policy", owner: "crm" } });

    // A view by shop over crm's table shows the hashed email.
    const created = await call(tokens.shop, "POST", "/v1/views", {
      sql: `CREATE VIEW ${view} AS SELECT o.id, o.status, c.name, c.email AS contact FROM ${ordersTopic} o JOIN ${customersTopic} c ON o.customer_id = c.id`,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.owner).toBe("shop");
    await until("backfilled", async () => {
      const r = await call(TEST_ADMIN_TOKEN, "GET", `/v1/views/${view}/rows/12`);
      return r.status === 200;
    });
    const clear = await call(TEST_ADMIN_TOKEN, "GET", `/v1/views/${view}/rows/12`);
    expect(clear.body.contact).toBe("ada@example.org");
    const rows = (await call(tokens.shop, "GET", `/v1/views/${view}/rows`)).body.rows as Record<
      string,
      string
    >[];
    expect(rows.map((r) => r.id)).toEqual(["10", "11", "12"]);
    for (const r of rows) expect(r.contact).toMatch(HASH);
    const ada = rows.find((r) => r.id === "10")!.contact;
    expect(rows.find((r) => r.id === "12")!.contact).toBe(ada); // stable: same value, same hash
    expect(rows.find((r) => r.id === "11")!.contact).not.toBe(ada);
    expect(JSON.stringify(rows)).not.toContain("@example.org");
    const one = await call(tokens.shop, "GET", `/v1/views/${view}/rows/12`);
    expect(one.body).toMatchObject({ id: "12", name: "Ada", contact: ada });
    const filtered = await call(tokens.shop, "GET", `/v1/views/${view}/rows?contact=ada@example.org`);
    expect(filtered.status).toBe(403);
    expect(filtered.body).toMatchObject({
      details: { reason: "masked column filtered", columns: ["contact"] },
    });

    // Ungranted services: crm has no grant on shop's orders, billing none at all.
    for (const token of [tokens.crm, tokens.billing]) {
      for (const path of [
        `/v1/views/${view}/rows`,
        `/v1/views/${view}/rows/12`,
        `/v1/views/${view}/changes`,
      ]) {
        const res = await fetch(`${apiProc.url}${path}`, { headers: authHeaders(token) });
        expect(res.status, path).toBe(403);
        expect(((await res.json()) as { details: { view: string } }).details.view).toBe(view);
      }
    }

    // A trace shows rows in clear: not under a masked grant; the owner's omits the view it cannot read.
    const trace = `/v1/trace?source=${crmSource}&table=customers&key=1`;
    expect((await call(tokens.shop, "GET", trace)).body).toMatchObject({
      code: "MESH_FORBIDDEN",
      details: { reason: "trace needs a grant in full" },
    });
    expect((await call(tokens.billing, "GET", trace)).status).toBe(403);
    const ownerTrace = await call(tokens.crm, "GET", trace);
    expect(ownerTrace.status).toBe(200);
    expect(ownerTrace.body.views).toEqual([]);
    const adminTrace = await call(TEST_ADMIN_TOKEN, "GET", trace);
    expect((adminTrace.body.views as { view: string }[]).map((v) => v.view)).toEqual([view]);

    // Change stream and topic SSE, opened before the writes.
    const changes = subscribe(`${apiProc.url}/v1/views/${view}/changes`, authHeaders(tokens.shop));
    const events = subscribe(`${apiProc.url}/v1/topics/${customersTopic}/events`, authHeaders(tokens.shop));
    const ownerEvents = subscribe(
      `${apiProc.url}/v1/topics/${customersTopic}/events`,
      authHeaders(tokens.crm),
    );
    await Promise.all([changes.opened, events.subscribed, ownerEvents.subscribed]);
    await sql(shopDb.url, "INSERT INTO orders VALUES (13, 1, 'new')");
    await sql(crmDb.url, "UPDATE customers SET email = 'grace@new.example.org' WHERE id = 2");
    await until("the new order's change", () =>
      Promise.resolve(changes.events.some((e) => (e.data.after as { id?: string } | null)?.id === "13")),
    );
    const change = changes.events.find((e) => (e.data.after as { id?: string } | null)?.id === "13")!;
    expect((change.data.after as { contact: string }).contact).toBe(ada);
    await until("the customer's update on both streams", () =>
      Promise.resolve(events.events.length > 0 && ownerEvents.events.length > 0),
    );
    const masked = events.events[0]!.data.value as { after: { email: string }; before: unknown };
    expect(masked.after.email).toMatch(HASH);
    expect(events.events[0]!.data.key).toEqual({ id: "2" });
    expect(JSON.stringify(events.events)).not.toContain("example.org");
    expect((ownerEvents.events[0]!.data.value as { after: { email: string } }).after.email).toBe(
      "grace@new.example.org",
    );
    await until("the view follows the email", async () => {
      const r = await call(tokens.shop, "GET", `/v1/views/${view}/rows/11`);
      return r.body.contact !== rows.find((x) => x.id === "11")!.contact ? r : null;
    });
    expect(JSON.stringify(changes.events)).not.toContain("example.org");
    changes.close();

    // Revoked: the open stream ends at its next event; every path refuses.
    await call(tokens.crm, "DELETE", `/v1/policies/${granted.body.id as string}`);
    await sql(crmDb.url, "UPDATE customers SET name = 'Ada L' WHERE id = 1");
    await until("the owner's stream has the next event", () =>
      Promise.resolve(ownerEvents.events.length >= 2),
    );
    // The revoked reader's stream is ended by the server at that event, not sent it.
    await events.ended;
    expect(events.events).toHaveLength(1);
    ownerEvents.close();
    events.close();
    expect((await call(tokens.shop, "GET", `/v1/views/${view}/rows`)).status).toBe(403);
    const after = (await call(tokens.shop, "GET", "/v1/topics")).body.topics as { topic: string }[];
    expect(after.map((t) => t.topic)).toEqual([ordersTopic]);
  });

  it("a dropped column makes the view unreadable and is absent from the topic's events", async () => {
    const dropped = await call(tokens.crm, "POST", "/v1/policies", {
      topic: customersTopic,
      reader: "shop",
      columns: { email: "drop" },
    });
    expect(dropped.status).toBe(201);
    const refused = await call(tokens.shop, "GET", `/v1/views/${view}/rows`);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({
      details: { reason: "dropped column shown", column: "email", policy: dropped.body.id },
    });
    const events = subscribe(
      `${apiProc.url}/v1/topics/${customersTopic}/events?from=earliest`,
      authHeaders(tokens.shop),
    );
    await until("events from the start", () => Promise.resolve(events.events.length >= 2));
    events.close();
    for (const e of events.events)
      expect((e.data.value as { after: object }).after).not.toHaveProperty("email");
    // Another service's view is not shop's to drop.
    const notYours = await call(tokens.crm, "DELETE", `/v1/views/${view}`);
    expect(notYours.body).toMatchObject({ code: "MESH_FORBIDDEN", details: { owner: "shop", view } });
  });

  it("keeps the policy's key sealed in the catalog topic", async () => {
    const client = kafka();
    try {
      const records = await readTopicToEnd(client, catalogTopic);
      const policies = records
        .filter((r) => r.key?.toString().startsWith("policy/") && r.value)
        .map((r) => JSON.parse(r.value!.toString()) as { key: string; keySealed?: string });
      expect(policies.length).toBeGreaterThanOrEqual(2);
      for (const p of policies) {
        expect(p.key).toBe("");
        expect(p.keySealed).toMatch(/^v1\./);
      }
    } finally {
      await client.close();
    }
  });
});
