// A view declared the moment its source is registered (issue 16), through the real Postgres connector: the
// API accepts it at once (201, state `waiting`, naming the tables whose schemas are not registered yet), the
// view backfills once the connector registers them and is then ready and equal to the source; a table no
// registered source captures is still refused (422 MESH_BAD_SQL naming it). Through the API's embedded
// engine, and through `mesh api --materializer` in front of a catalog-following `mesh materialize`.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../lib/logger.ts";
import { startMaterializer, type RunningMaterializer } from "../../materializer/main.ts";
import type { RunningRegistry } from "../../registry/server.ts";
import { createPgDatabase, kafkaConnection, kafkaEnv, uniqueName } from "../../test/support/stack.ts";
import { parseApiConfig } from "../config.ts";
import { startApi, type RunningApi } from "../service.ts";
import { api, startTestApi, startTestRegistry, testCatalogTopic, until } from "./harness.ts";
import { TEST_ADMIN_TOKEN } from "../../test/support/auth.ts";

let registry: RunningRegistry;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  registry = await startTestRegistry();
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await registry?.stop();
});

async function database(): Promise<{ url: string; sql: (text: string) => Promise<pg.QueryResult> }> {
  const db = await createPgDatabase("early");
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  cleanups.push(async () => {
    await client.end();
    await db.drop();
  });
  await client.query(
    `CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
     CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int, total numeric(12,2) NOT NULL)`,
  );
  return { url: db.url, sql: (text) => client.query(text) };
}

/** Polls the view's state until it is ready, recording each state seen (in order, without repeats). */
async function statesUntilReady(base: string, view: string, first: string): Promise<string[]> {
  const seen = [first];
  await until(
    `view ${view} ready`,
    async () => {
      const res = await api(base, "GET", `/v1/views/${view}`);
      const state = (res.body.status as { state: string }).state;
      if (seen.at(-1) !== state) seen.push(state);
      if (state === "failed") throw new Error(`view failed: ${JSON.stringify(res.body.status)}`);
      return state === "ready";
    },
    90_000,
  );
  return seen;
}

async function viewRows(base: string, view: string): Promise<Record<string, unknown>[]> {
  const res = await api(base, "GET", `/v1/views/${view}/rows?limit=1000`);
  expect(res.status).toBe(200);
  return res.body.rows as Record<string, unknown>[];
}

/** The join as Postgres computes it, in the view's JSON form (bigint and numeric as strings). */
async function sourceRows(db: Awaited<ReturnType<typeof database>>): Promise<Record<string, unknown>[]> {
  const { rows } = await db.sql(
    `SELECT o.id::text AS id, o.total::text AS total, c.name
     FROM orders o LEFT JOIN customers c ON o.customer_id = c.id ORDER BY o.id`,
  );
  return rows as Record<string, unknown>[];
}

const viewSql = (name: string, source: string): string =>
  `CREATE VIEW ${name} AS SELECT o.id, o.total, c.name FROM ${source}.public.orders o ` +
  `LEFT JOIN ${source}.public.customers c ON o.customer_id = c.id`;

/** Registers the source, declares the view at once, and follows the view to ready and equal to the source. */
async function declareEarly(
  base: string,
  db: Awaited<ReturnType<typeof database>>,
  snapshot: "initial" | "never",
): Promise<string> {
  const source = uniqueName("early").replace(/-/g, "_");
  const view = `v_${source}`;
  const registered = await api(base, "POST", "/v1/sources", {
    name: source,
    owner: "early",
    kind: "postgres",
    url: db.url,
    tables: ["orders", "customers"],
    snapshot,
  });
  expect(registered.status).toBe(201);
  const declared = await api(base, "POST", "/v1/views", { sql: viewSql(view, source) });
  expect(declared.status).toBe(201);
  const status = declared.body.status as { state: string; waitingFor?: { schemas: string[] } };
  expect(status.state).toBe("waiting");
  const tables = [`${source}.public.customers`, `${source}.public.orders`];
  expect(status.waitingFor?.schemas.length).toBeGreaterThan(0);
  for (const t of status.waitingFor?.schemas ?? []) expect(tables).toContain(t);

  // A table no registered source captures is refused at once, naming it.
  const unknown = await api(base, "POST", "/v1/views", {
    sql: `CREATE VIEW bad_${source} AS SELECT * FROM ${source}.public.nowhere`,
  });
  expect(unknown.status).toBe(422);
  expect(unknown.body.code).toBe("MESH_BAD_SQL");
  expect(unknown.body.details?.table).toBe(`${source}.public.nowhere`);

  // Without a snapshot the schemas come with the first changes.
  if (snapshot === "never")
    await db.sql(
      "INSERT INTO customers VALUES (3, 'Edsger'); INSERT INTO orders VALUES (3, 3, 7.00), (4, 99, 1.50)",
    );
  const states = await statesUntilReady(base, view, status.state);
  // waiting, then (briefly, for a small table) backfilling, then ready: never back, never failed.
  expect(states[0]).toBe("waiting");
  expect(states.at(-1)).toBe("ready");
  expect(states.filter((s) => !["waiting", "backfilling", "ready"].includes(s))).toEqual([]);
  expect(states.indexOf("backfilling") === -1 || states.indexOf("backfilling") > 0).toBe(true);
  await until("view equals the source", async () =>
    JSON.stringify(await viewRows(base, view)) === JSON.stringify(await sourceRows(db)) ? true : null,
  );
  expect((await viewRows(base, view)).length).toBeGreaterThan(0);

  // And it keeps following the source.
  await db.sql("UPDATE customers SET name = 'Ada L.' WHERE id = 1; INSERT INTO orders VALUES (5, 1, 2.25)");
  await db.sql("UPDATE customers SET name = 'Edsger D.' WHERE id = 3; DELETE FROM orders WHERE id = 4");
  await until("view follows the source", async () =>
    JSON.stringify(await viewRows(base, view)) === JSON.stringify(await sourceRows(db)) ? true : null,
  );
  return view;
}

describe("a view declared right after its source is registered", () => {
  it("through the API's embedded engine: waiting, then backfilled from the snapshot, ready and equal", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "mesh-early-"));
    const materializer: RunningMaterializer = await startMaterializer(
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
    const apiProc: RunningApi = await startTestApi(registry.url, testCatalogTopic(), materializer.engine);
    cleanups.push(async () => {
      await apiProc.stop();
      await materializer.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });
    const db = await database();
    await db.sql(
      "INSERT INTO customers VALUES (1, 'Ada'), (2, 'Grace'); INSERT INTO orders VALUES (1, 1, 12.50), (2, 2, 99999999.99), (3, NULL, 0.10)",
    );
    await declareEarly(apiProc.url, db, "initial");
  }, 180_000);

  it("through mesh api --materializer and a catalog-following mesh materialize: waiting until the first changes", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "mesh-early-"));
    const catalogTopic = testCatalogTopic();
    const member = await startMaterializer(
      {
        adminToken: TEST_ADMIN_TOKEN,
        ...kafkaConnection(),
        registryUrl: registry.url,
        dataDir,
        views: [],
        logLevel: "silent",
        catalogTopic,
        listen: { host: "127.0.0.1", port: 0 },
      },
      silentLogger(),
    );
    const config = parseApiConfig(
      [
        "--port",
        "0",
        "--catalog-topic",
        catalogTopic,
        "--registry",
        registry.url,
        "--materializer",
        member.url!,
      ],
      { ...kafkaEnv(), MESH_ADMIN_TOKEN: TEST_ADMIN_TOKEN },
    );
    const apiProc = await startApi(config, {
      logger: silentLogger(),
      connector: { heartbeatIntervalMs: 1000, retryDelayMs: 200 },
    });
    cleanups.push(async () => {
      await apiProc.stop();
      await member.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });
    const db = await database();
    const view = await declareEarly(apiProc.url, db, "never");
    // The member created it from the catalog record the API wrote.
    expect(member.engine.getView(view).status.state).toBe("ready");
  }, 180_000);
});
