// The end-to-end scenario, through HTTP only (plus a Python consumer): two sources in two databases
// owned by different services, a third registration claiming an owned table refused, a view joining
// across the two databases, writes in both showing in the view, in a view-changes SSE stream and in a topic
// SSE stream, a Python confluent-kafka consumer decoding the same topic with our registry, and a restart
// of the API and materializer after which everything is still there and still moving.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { silentLogger } from "../../lib/logger.ts";
import { startMaterializer, type RunningMaterializer } from "../../materializer/main.ts";
import type { RunningRegistry } from "../../registry/server.ts";
import {
  createPgDatabase,
  kafkaConnection,
  kafkaEnv,
  stackEnv,
  uniqueName,
} from "../../test/support/stack.ts";
import type { RunningApi } from "../service.ts";
import { api, startTestApi, startTestRegistry, subscribe, testCatalogTopic, until } from "./harness.ts";
import { TEST_ADMIN_TOKEN } from "../../test/support/auth.ts";

const run = promisify(execFile);
// CI's venv (.ci/run exports MESH_PYTHON), else the project's .mesh/venv, else python3 with confluent-kafka.
const python =
  process.env.MESH_PYTHON ?? (existsSync(".mesh/venv/bin/python") ? ".mesh/venv/bin/python" : "python3");
let registry: RunningRegistry;
let materializer: RunningMaterializer;
let apiProc: RunningApi;
let customersDb: Awaited<ReturnType<typeof createPgDatabase>>;
let ordersDb: Awaited<ReturnType<typeof createPgDatabase>>;
const catalogTopic = testCatalogTopic();
const dataDir = mkdtempSync(join(tmpdir(), "mesh-e2e-"));
const tag = uniqueName("x").slice(2);
const customers = `cust_${tag}`;
const orders = `ord_${tag}`;
const view = `od_${tag}`;

async function sql(url: string, text: string, values: unknown[] = []): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(text, values);
  } finally {
    await c.end();
  }
}

async function startRoles(): Promise<void> {
  materializer = await startMaterializer(
    {
      adminToken: TEST_ADMIN_TOKEN,
      ...kafkaConnection(),
      registryUrl: registry.url,
      dataDir,
      views: [],
      logLevel: "silent",
    },
    silentLogger(),
  );
  apiProc = await startTestApi(registry.url, catalogTopic, materializer.engine);
}

async function stopRoles(): Promise<void> {
  await apiProc?.stop();
  await materializer?.stop();
}

async function row(id: number): Promise<Record<string, unknown> | null> {
  const res = await api(apiProc.url, "GET", `/v1/views/${view}/rows/${id}`);
  return res.status === 200 ? res.body : null;
}

beforeAll(async () => {
  customersDb = await createPgDatabase("e2e_customers");
  ordersDb = await createPgDatabase("e2e_orders");
  await sql(
    customersDb.url,
    `CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, region text NOT NULL);
     INSERT INTO customers VALUES (1, 'Ada', 'eu'), (2, 'Grace', 'us')`,
  );
  await sql(
    ordersDb.url,
    `CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, status text NOT NULL, total numeric(12,2) NOT NULL);
     INSERT INTO orders VALUES (10, 1, 'new', 12.50), (11, 2, 'paid', 99999999.99), (12, 1, 'paid', 0.10)`,
  );
  registry = await startTestRegistry();
  await startRoles();
});

afterAll(async () => {
  await stopRoles();
  await registry?.stop();
  await customersDb?.drop();
  await ordersDb?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("cross-source view end to end", () => {
  it("two owners, ownership refused, a join view across databases, SSE, Python, restart", async () => {
    // Two sources, two databases, two owning services.
    const a = await api(apiProc.url, "POST", "/v1/sources", {
      name: customers,
      owner: "customers",
      kind: "postgres",
      url: customersDb.url,
      tables: ["customers"],
    });
    const b = await api(apiProc.url, "POST", "/v1/sources", {
      name: orders,
      owner: "orders",
      kind: "postgres",
      url: ordersDb.url,
      tables: ["orders"],
    });
    expect([a.status, b.status]).toEqual([201, 201]);
    // A third registration claiming the orders service's table.
    const third = await api(apiProc.url, "POST", "/v1/sources", {
      name: `steal_${tag}`,
      owner: "billing",
      kind: "postgres",
      url: ordersDb.url,
      tables: ["public.orders"],
    });
    expect(third.status).toBe(409);
    expect(third.body).toMatchObject({ code: "MESH_TABLE_OWNED", details: { owner: "orders" } });

    const ordersTopic = `${orders}.public.orders`;
    await until("both topics have schemas", async () => {
      const topics = (await api(apiProc.url, "GET", "/v1/topics")).body.topics as {
        topic: string;
        latestVersion: number | null;
      }[];
      return topics.length === 2 && topics.every((t) => t.latestVersion !== null);
    });

    const created = await api(apiProc.url, "POST", "/v1/views", {
      sql: `CREATE VIEW ${view} AS SELECT o.id, o.status, o.total, c.name AS customer, c.region FROM ${orders}.public.orders o JOIN ${customers}.public.customers c ON o.customer_id = c.id`,
    });
    expect(created.status).toBe(201);
    expect(created.body.key).toEqual(["id"]);
    await until("backfilled", async () => (await row(11))?.customer === "Grace");
    expect(await row(11)).toEqual({
      id: "11",
      status: "paid",
      total: "99999999.99",
      customer: "Grace",
      region: "us",
    });
    const bad = await api(apiProc.url, "POST", "/v1/views", {
      sql: `CREATE VIEW bad_${tag} AS SELECT x FROM nowhere`,
    });
    expect(bad.body).toMatchObject({ code: "MESH_BAD_SQL" });
    expect(bad.status).toBe(422);
    expect(bad.body.code).toBe("MESH_BAD_SQL");

    const changes = subscribe(`${apiProc.url}/v1/views/${view}/changes`);
    const events = subscribe(`${apiProc.url}/v1/topics/${ordersTopic}/events`);
    await Promise.all([changes.opened, events.subscribed]);

    // Writes in both databases.
    await sql(ordersDb.url, "INSERT INTO orders VALUES (13, 2, 'new', 5.00)");
    await sql(customersDb.url, "UPDATE customers SET region = 'apac' WHERE id = 1");
    await until("new order in the view", async () => (await row(13))?.customer === "Grace");
    await until("customer change joined into the view", async () => (await row(10))?.region === "apac");
    const page = await api(apiProc.url, "GET", `/v1/views/${view}/rows?region=apac`);
    expect((page.body.rows as { id: string }[]).map((r) => r.id).sort()).toEqual(["10", "12"]);

    await until("view changes over SSE", () =>
      Promise.resolve(
        changes.events.some((e) => (e.data.after as { id?: string } | null)?.id === "13") &&
          changes.events.some((e) => (e.data.after as { region?: string } | null)?.region === "apac"),
      ),
    );
    await until("topic event over SSE", () =>
      Promise.resolve(events.events.some((e) => (e.data.value as { op: string }).op === "c")),
    );
    // `from=latest` (the default) starts at the feed's head: order 11, untouched since, never shows up.
    expect(changes.events.some((e) => (e.data.after as { id?: string } | null)?.id === "11")).toBe(false);
    const insert = events.events.find((e) => (e.data.value as { op: string }).op === "c")!;
    expect(insert.data.value).toMatchObject({ op: "c", after: { id: "13", total: "5.00", status: "new" } });
    changes.close();
    events.close();

    // A Python service reads the same topic with confluent-kafka and our registry.
    const py = await run(
      python,
      [
        "test/python/mesh_topic_consumer.py",
        registry.url,
        stackEnv().MESH_KAFKA_BROKERS,
        ordersTopic,
        "4",
        "60",
      ],
      {
        timeout: 90_000,
        env: { ...process.env, ...kafkaEnv(), MESH_TOKEN: TEST_ADMIN_TOKEN },
      },
    );
    const lines = py.stdout
      .trim()
      .split("\n")
      .map(
        (l) =>
          JSON.parse(l) as {
            op: string;
            key: { id: number };
            after: { id: number; total: string };
            total_is_decimal: boolean;
          },
      );
    expect(lines.map((l) => l.after.id).sort()).toEqual([10, 11, 12, 13]);
    expect(lines.find((l) => l.after.id === 11)).toMatchObject({
      op: "r",
      key: { id: 11 },
      after: { total: "99999999.99" },
      total_is_decimal: true,
    });

    // Restart the API and the materializer: sources, ownership, the view and its rows are all still there.
    await stopRoles();
    await startRoles();
    expect(
      ((await api(apiProc.url, "GET", "/v1/sources")).body.sources as { name: string }[])
        .map((s) => s.name)
        .sort(),
    ).toEqual([customers, orders].sort());
    expect((await api(apiProc.url, "GET", `/v1/views/${view}`)).body).toMatchObject({
      name: view,
      key: ["id"],
    });
    expect(await row(13)).toMatchObject({ customer: "Grace" });
    expect(
      (
        await api(apiProc.url, "POST", "/v1/sources", {
          name: `steal2_${tag}`,
          owner: "billing",
          kind: "postgres",
          url: ordersDb.url,
          tables: ["orders"],
        })
      ).status,
    ).toBe(409);
    await until("sources streaming after restart", async () => {
      const list = (await api(apiProc.url, "GET", "/v1/sources")).body.sources as {
        status: { state: string };
      }[];
      return list.every((s) => s.status.state === "streaming");
    });
    await sql(ordersDb.url, "UPDATE orders SET status = 'shipped' WHERE id = 13");
    await until(
      "a write after the restart reaches the view",
      async () => (await row(13))?.status === "shipped",
    );
  });
});
