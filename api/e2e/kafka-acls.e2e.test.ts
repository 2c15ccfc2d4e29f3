// Kafka is a path too: on the real stack (Kafka with SASL/SCRAM and ACLs), a service's Kafka login from
// POST /v1/tokens/{id}/kafka-credentials reads, with a stock client (confluent-kafka / librdkafka), exactly the
// raw topics granted to it in full: refused without a policy, refused under a masked grant, reading once a
// grant in full holds, refused again once it is revoked; only the admin or the token itself gets the login.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { silentLogger } from "../../lib/logger.ts";
import { authHeaders, TEST_ADMIN_TOKEN } from "../../test/support/auth.ts";
import { createPgDatabase, kafkaConnection, kafkaEnv, uniqueName } from "../../test/support/stack.ts";
import { parseApiConfig } from "../config.ts";
import { startApi, type RunningApi } from "../service.ts";
import { startTestRegistry, testCatalogTopic, until, type JsonResponse } from "./harness.ts";
import type { RunningRegistry } from "../../registry/server.ts";

const python =
  process.env.MESH_PYTHON ?? (existsSync(".mesh/venv/bin/python") ? ".mesh/venv/bin/python" : "python3");
let registry: RunningRegistry;
let apiProc: RunningApi;
let db: Awaited<ReturnType<typeof createPgDatabase>>;
const catalogTopic = testCatalogTopic();
const source = `crm_${uniqueName("x").slice(2)}`;
const topic = `${source}.public.customers`;
const tokens: Record<string, { id: string; token: string }> = {};

async function call(token: string, method: string, path: string, body?: unknown): Promise<JsonResponse> {
  const res = await fetch(`${apiProc.url}${path}`, {
    method,
    headers: { ...authHeaders(token), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as JsonResponse["body"] };
}

/** What the broker answers a principal without READ on the topic (or, without any ACL, on its group). */
const REFUSED = /^(TOPIC|GROUP)_AUTHORIZATION_FAILED$/;

interface Probe {
  values?: string[];
  error?: string;
}

/** The stock client reads `topic` as `login`, in a group of its own prefix. */
async function probe(login: { user: string; password: string }): Promise<Probe> {
  const group = `${login.user}.${uniqueName("g")}`;
  const { stdout } = await promisify(execFile)(
    python,
    ["test/python/kafka_access_probe.py", kafkaConnection().brokers.join(","), topic, group, "2", "20"],
    {
      timeout: 60_000,
      env: {
        PATH: process.env.PATH ?? "",
        PROBE_SASL_USERNAME: login.user,
        PROBE_SASL_PASSWORD: login.password,
      },
    },
  ).catch((e: { stderr?: string; message: string }) => {
    throw new Error(`the Python client failed: ${e.stderr ?? ""} ${e.message}`);
  });
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as Probe;
}

async function login(service: string, as = TEST_ADMIN_TOKEN): Promise<{ user: string; password: string }> {
  const res = await call(as, "POST", `/v1/tokens/${tokens[service]!.id}/kafka-credentials`);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { user: res.body.user as string, password: res.body.password as string };
}

beforeAll(async () => {
  db = await createPgDatabase("acl_crm");
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  await c.query(
    "CREATE TABLE customers (id bigint PRIMARY KEY, email text NOT NULL); INSERT INTO customers VALUES (1, 'a@x.org'), (2, 'b@x.org')",
  );
  await c.end();
  registry = await startTestRegistry(catalogTopic);
  const config = parseApiConfig(
    ["--port", "0", "--catalog-topic", catalogTopic, "--registry", registry.url],
    {
      ...kafkaEnv(),
      MESH_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    },
  );
  apiProc = await startApi(config, { logger: silentLogger(), connector: { heartbeatIntervalMs: 1000 } });
  for (const [service, scopes] of [
    ["crm", ["read", "write"]],
    ["shop", ["read"]],
    ["billing", ["read"]],
  ] as const) {
    const made = await call(TEST_ADMIN_TOKEN, "POST", "/v1/tokens", { service, scopes });
    expect(made.status).toBe(201);
    tokens[service] = { id: made.body.id as string, token: made.body.token as string };
  }
  const created = await call(tokens.crm!.token, "POST", "/v1/sources", {
    name: source,
    kind: "postgres",
    url: db.url,
    tables: ["customers"],
  });
  expect(created.status).toBe(201);
  await until("the topic has its snapshot", async () => {
    const topics = (await call(TEST_ADMIN_TOKEN, "GET", "/v1/topics")).body.topics as {
      topic: string;
      latestVersion: number | null;
    }[];
    return topics.some((t) => t.topic === topic && t.latestVersion !== null);
  });
}, 120_000);

afterAll(async () => {
  await apiProc?.stop();
  await registry?.stop();
  await db?.drop();
});

describe("Kafka logins and ACLs from policies", () => {
  it("hands the login to the admin or the token itself, the password only in that answer", async () => {
    // crm may write, but another service's login is not its to ask for.
    const refused = await call(tokens.crm!.token, "POST", `/v1/tokens/${tokens.shop!.id}/kafka-credentials`);
    expect(refused.status).toBe(403);
    expect(refused.body.message).toContain("the token itself");
    const own = await call(tokens.crm!.token, "POST", `/v1/tokens/${tokens.crm!.id}/kafka-credentials`);
    expect(own.status, JSON.stringify(own.body)).toBe(201);
    expect(own.body).toMatchObject({
      user: "svc-crm",
      mechanism: "SCRAM-SHA-512",
      groupPrefix: "svc-crm.",
      topics: [topic, `${source}.transactions`],
    });
    const listing = JSON.stringify((await call(TEST_ADMIN_TOKEN, "GET", "/v1/tokens")).body);
    expect(listing).not.toContain(own.body.password as string);
  });

  it("the owner reads its topic; others only under a grant in full, and no more once revoked", async () => {
    expect((await probe(await login("crm"))).values).toHaveLength(2);
    const shop = await login("shop");
    expect(await probe(shop)).toMatchObject({ error: expect.stringMatching(REFUSED) });

    const masked = await call(tokens.crm!.token, "POST", "/v1/policies", {
      table: topic,
      reader: "billing",
      columns: { email: "hash" },
    });
    expect(masked.body.kafkaAcl).toBe(false);
    expect(await probe(await login("billing"))).toMatchObject({ error: expect.stringMatching(REFUSED) });

    const full = await call(tokens.crm!.token, "POST", "/v1/policies", { table: topic, reader: "shop" });
    expect(full.body.kafkaAcl).toBe(true);
    const read = await probe(shop);
    expect(read.values, JSON.stringify(read)).toHaveLength(2);

    await call(tokens.crm!.token, "DELETE", `/v1/policies/${full.body.id as string}`);
    expect(await probe(shop)).toMatchObject({ error: expect.stringMatching(REFUSED) });
  });

  it("a service whose last token is revoked loses its Kafka login", async () => {
    const shop = await login("shop");
    await call(tokens.crm!.token, "POST", "/v1/policies", { table: topic, reader: "shop" });
    expect((await probe(shop)).values).toHaveLength(2);
    expect((await call(TEST_ADMIN_TOKEN, "DELETE", `/v1/tokens/${tokens.shop!.id}`)).status).toBe(200);
    await until("the login stops working", async () => {
      const p = await probe(shop);
      return p.error !== undefined && !REFUSED.test(p.error) ? p : null;
    });
  });
});
