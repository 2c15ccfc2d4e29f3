// A MySQL/MariaDB source registered as a user does (HTTP API and `mesh source add`), next to a Postgres one:
// prerequisite problems come back with their fix, the source streams, its topics are `<name>.<db>.<table>`
// with the same key/envelope shape as Postgres topics, and a view joins a MariaDB table with a Postgres
// table, following writes on both servers.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import mysql from "mysql2/promise";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, startTestApi, startTestRegistry, testCatalogTopic, until } from "../../api/e2e/harness.ts";
import type { RunningApi } from "../../api/service.ts";
import { silentLogger } from "../../lib/logger.ts";
import { startMaterializer, type RunningMaterializer } from "../../materializer/main.ts";
import type { RunningRegistry } from "../../registry/server.ts";
import {
  createMysqlDatabase,
  createPgDatabase,
  kafkaConnection,
  stackEnv,
  uniqueName,
} from "../../test/support/stack.ts";
import { authHeaders, TEST_ADMIN_TOKEN, TEST_AUTH_ENV } from "../../test/support/auth.ts";

const run = promisify(execFile);
let registry: RunningRegistry;
let materializer: RunningMaterializer;
let apiProc: RunningApi;
let my: Awaited<ReturnType<typeof createMysqlDatabase>>;
let orders: Awaited<ReturnType<typeof createPgDatabase>>;
const dataDir = mkdtempSync(join(tmpdir(), "mesh-mysql-e2e-"));
const tag = uniqueName("m").slice(2);
const customers = `mcust_${tag}`;
const ordersSource = `mord_${tag}`;
const view = `mod_${tag}`;

/** The stack's CDC user (REPLICATION SLAVE, REPLICATION CLIENT, SELECT) on the test database. */
function cdcUrl(database: string): string {
  const u = new URL(stackEnv().MESH_MYSQL_CDC_URL);
  u.pathname = `/${database}`;
  return u.toString();
}

async function mysqlExec(...statements: string[]): Promise<void> {
  const c = await mysql.createConnection(my.url);
  try {
    for (const s of statements) await c.query(s);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  my = await createMysqlDatabase("e2e_mcust");
  orders = await createPgDatabase("e2e_mord");
  await mysqlExec(
    "CREATE TABLE customers (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, region VARCHAR(10) NOT NULL, balance DECIMAL(20,4) NOT NULL)",
    "INSERT INTO customers VALUES (1, 'Ada 😀', 'eu', 12.5), (2, 'Grace', 'us', '99999999999999.9999')",
  );
  const c = new pg.Client({ connectionString: orders.url });
  await c.connect();
  await c.query(
    `CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, total numeric(12,2) NOT NULL);
     INSERT INTO orders VALUES (10, 1, 12.50), (11, 2, 99.99)`,
  );
  await c.end();
  registry = await startTestRegistry();
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
  apiProc = await startTestApi(registry.url, testCatalogTopic(), materializer.engine);
});

afterAll(async () => {
  await apiProc?.stop();
  await materializer?.stop();
  await registry?.stop();
  await my?.drop();
  await orders?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("a MySQL/MariaDB source through the API and the CLI", () => {
  it("refuses a missing table with the fix, like any source", async () => {
    const res = await api(apiProc.url, "POST", "/v1/sources", {
      name: `mbad_${tag}`,
      owner: "customers",
      kind: "mysql",
      url: cdcUrl(my.name),
      tables: ["nope"],
    });
    expect(res.status).toBe(422);
    expect(JSON.stringify(res.body)).toContain(`${my.name}.nope`);
  });

  it("registers with `mesh source add`, streams, and joins with a Postgres table in a view", async () => {
    const cli = await run(
      process.execPath,
      [
        "bin/mesh.js",
        "source",
        "add",
        "--api",
        apiProc.url,
        "--json",
        "--name",
        customers,
        "--owner",
        "customers",
        "--kind",
        "mysql",
        "--url",
        cdcUrl(my.name),
        "--table",
        "customers",
      ],
      { timeout: 60_000, env: { ...process.env, ...TEST_AUTH_ENV } },
    );
    const added = JSON.parse(cli.stdout) as { kind: string; tables: string[]; topics: string[]; url: string };
    expect(added).toMatchObject({
      kind: "mysql",
      tables: [`${my.name}.customers`],
      topics: [`${customers}.${my.name}.customers`],
    });
    expect(added.url).not.toContain(":cdc@");
    const pgRes = await api(apiProc.url, "POST", "/v1/sources", {
      name: ordersSource,
      owner: "orders",
      kind: "postgres",
      url: orders.url,
      tables: ["orders"],
    });
    expect(pgRes.status).toBe(201);

    const topic = `${customers}.${my.name}.customers`;
    await until("both topics have schemas", async () => {
      const topics = (await api(apiProc.url, "GET", "/v1/topics")).body.topics as {
        topic: string;
        latestVersion: number | null;
      }[];
      return [topic, `${ordersSource}.public.orders`].every((t) =>
        topics.some((x) => x.topic === t && x.latestVersion !== null),
      );
    });
    const source = await api(apiProc.url, "GET", `/v1/sources/${customers}`);
    expect(source.body).toMatchObject({ kind: "mysql", status: { state: "streaming" } });
    expect((source.body.status as { offset: string }).offset).toMatch(/^mariadb-bin\.\d+:\d+/);

    // Same subjects and envelope as a Postgres topic: a Key record of the primary key, an Envelope value.
    const key = (await (
      await fetch(`${registry.url}/subjects/${topic}-key/versions/latest`, { headers: authHeaders() })
    ).json()) as {
      schema: string;
    };
    const value = (await (
      await fetch(`${registry.url}/subjects/${topic}-value/versions/latest`, { headers: authHeaders() })
    ).json()) as {
      schema: string;
    };
    const pgValue = (await (
      await fetch(`${registry.url}/subjects/${ordersSource}.public.orders-value/versions/latest`, {
        headers: authHeaders(),
      })
    ).json()) as { schema: string };
    expect(JSON.parse(key.schema)).toMatchObject({
      type: "record",
      name: "Key",
      fields: [{ name: "id", type: "long" }],
    });
    const fieldsOf = (s: string): string[] =>
      (JSON.parse(s) as { fields: { name: string }[] }).fields.map((f) => f.name);
    expect(fieldsOf(value.schema)).toEqual(fieldsOf(pgValue.schema));

    const created = await api(apiProc.url, "POST", "/v1/views", {
      sql: `CREATE VIEW ${view} AS SELECT o.id, o.total, c.name AS customer, c.region, c.balance FROM ${ordersSource}.public.orders o JOIN ${topic} c ON o.customer_id = c.id`,
    });
    expect(created.status).toBe(201);
    const row = async (id: number): Promise<Record<string, unknown> | null> => {
      const res = await api(apiProc.url, "GET", `/v1/views/${view}/rows/${id}`);
      return res.status === 200 ? res.body : null;
    };
    await until("backfilled", async () => (await row(11))?.customer === "Grace");
    expect(await row(10)).toEqual({
      id: "10",
      total: "12.50",
      customer: "Ada 😀",
      region: "eu",
      balance: "12.5000",
    });
    expect((await row(11))?.balance).toBe("99999999999999.9999");

    // Writes on both servers reach the view.
    await mysqlExec("UPDATE customers SET region = 'apac' WHERE id = 1");
    const c = new pg.Client({ connectionString: orders.url });
    await c.connect();
    await c.query("INSERT INTO orders VALUES (12, 2, 5.00)");
    await c.end();
    await until("the MariaDB update joined into the view", async () => (await row(10))?.region === "apac");
    await until(
      "the Postgres insert joined with its MariaDB customer",
      async () => (await row(12))?.customer === "Grace",
    );

    const events = (await api(apiProc.url, "GET", `/v1/sources/${customers}`)).body.status as {
      events: Record<string, number>;
    };
    expect(events.events[`${my.name}.customers`]).toBeGreaterThanOrEqual(3);
  });
});
