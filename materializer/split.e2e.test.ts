// Split views fed by the real Postgres connector (4 partitions per table, END markers with per-partition
// counts): two engines in one group, each with its own LevelDB, together equal the same SELECT run by
// Postgres through a random workload (FK changes, PK changes, deletes); after one leaves, the other alone
// does.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerBuiltInBackends } from "../connectors/backends.ts";
import { createConnector, type Connector } from "../connectors/core/change-source.ts";
import { kafkaOffsetStore } from "../connectors/core/offset-store.ts";
import { silentLogger } from "../lib/logger.ts";
import { startRegistry, type RunningRegistry } from "../registry/server.ts";
import { createPgDatabase, kafka, kafkaConnection, uniqueName } from "../test/support/stack.ts";
import { MaterializerEngine } from "./engine.ts";
import type { Db } from "./engine/reader.ts";
import { RegistryClient } from "../lib/registry-client.ts";
import { rng } from "./test-support/shop-workload.ts";
import { unionRows, waitFor } from "./test-support/view-assert.ts";
import { TEST_ADMIN_TOKEN } from "../test/support/auth.ts";

registerBuiltInBackends();

const VIEWS: Record<string, { sql: string; key: string }> = {
  order_customer: {
    sql: "SELECT o.id, o.total, c.name AS customer FROM orders o LEFT JOIN customers c ON o.customer_id = c.id",
    key: "id",
  },
  customer_items: {
    sql: "SELECT c.id AS cid, c.name, i.order_id, i.line, i.qty FROM customers c JOIN order_items i ON i.order_id = c.id",
    key: "cid, order_id, line",
  },
};

/** Postgres returns bigint and numeric as text: compare numeric-looking values as numbers. */
const loose = (v: unknown): string => {
  if (v === null || v === undefined) return "null";
  if (typeof v === "bigint" || typeof v === "number") return `n${Number(v)}`;
  if (typeof v === "string" && /^-?\d+(\.\d+)?$/.test(v)) return `n${Number(v)}`;
  return `s${typeof v === "string" ? v : JSON.stringify(v)}`;
};

describe("split views equal Postgres through the real connector", () => {
  let registry: RunningRegistry;
  let database: Awaited<ReturnType<typeof createPgDatabase>>;
  let client: pg.Client;
  let connector: Connector;
  const engines: { engine: MaterializerEngine; db: Db; dir: string }[] = [];
  const k = kafka();
  const r = rng(77);
  const int = (n: number): number => 1 + Math.floor(r() * n);
  const group = uniqueName("pgsplit");

  async function run(transactions: number): Promise<void> {
    for (let t = 0; t < transactions; t++) {
      await client.query("BEGIN");
      for (let n = 1 + int(3); n > 0; n--) {
        const d = r();
        if (d < 0.3)
          await client.query(
            "INSERT INTO orders VALUES ($1,$2,$3) ON CONFLICT (id) DO UPDATE SET customer_id = EXCLUDED.customer_id, total = EXCLUDED.total",
            [int(150), r() < 0.1 ? null : int(40), `${int(500)}.${int(89) + 10}`],
          );
        else if (d < 0.45)
          await client.query(
            "INSERT INTO customers VALUES ($1,$2) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
            [int(40), `c${int(99)}`],
          );
        else if (d < 0.6)
          await client.query(
            "INSERT INTO order_items VALUES ($1,$2,$3) ON CONFLICT (order_id, line) DO UPDATE SET qty = EXCLUDED.qty",
            [int(40), int(3), int(9)],
          );
        else if (d < 0.7)
          await client.query(
            "UPDATE orders SET id = $2 WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM orders WHERE id = $2)",
            [int(150), int(150)],
          );
        else if (d < 0.8)
          await client.query(
            "UPDATE customers SET id = $2 WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM customers WHERE id = $2)",
            [int(40), int(40)],
          );
        else if (d < 0.9) await client.query("DELETE FROM orders WHERE id = $1", [int(150)]);
        else await client.query("DELETE FROM customers WHERE id = $1", [int(40)]);
      }
      await client.query("COMMIT");
    }
  }

  const pgRows = async (name: string): Promise<Map<string, Record<string, string>>> => {
    const { sql, key } = VIEWS[name]!;
    const res = await client.query<Record<string, unknown>>(sql);
    return new Map(
      res.rows.map((row) => [
        key
          .split(", ")
          .map((c) => loose(row[c]))
          .join("|"),
        Object.fromEntries(Object.entries(row).map(([c, v]) => [c, loose(v)])),
      ]),
    );
  };

  const expectEqualToPostgres = async (members: MaterializerEngine[]): Promise<void> => {
    for (const name of Object.keys(VIEWS)) {
      const read = async (): Promise<Map<string, Record<string, string>>> => {
        const got = new Map<string, Record<string, string>>();
        for (const [key, row] of await unionRows(members, name))
          got.set(
            key
              .split("|")
              .map((p) => (/^s-?\d+(\.\d+)?$/.test(p) ? `n${Number(p.slice(1))}` : p))
              .join("|"),
            Object.fromEntries(Object.entries(row).map(([c, v]) => [c, loose(v)])),
          );
        return got;
      };
      const want = await pgRows(name);
      let got = await read();
      const deadline = Date.now() + 60_000;
      while (JSON.stringify([...got].sort()) !== JSON.stringify([...want].sort()) && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 300));
        got = await read();
      }
      expect([...got.keys()].sort(), name).toEqual([...want.keys()].sort());
      for (const [key, v] of want) expect(got.get(key), `${name} row ${key}`).toEqual(v);
      expect(want.size, name).toBeGreaterThan(0);
    }
  };

  const startEngine = async (url: string): Promise<MaterializerEngine> => {
    const dir = await mkdtemp(join(tmpdir(), "mesh-pgsplit-"));
    const db: Db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
    await db.open();
    const engine = new MaterializerEngine({
      db,
      kafka: k,
      registry: new RegistryClient({ token: TEST_ADMIN_TOKEN, url: registry.url }),
      logger: silentLogger(),
      group: { name: group, advertisedUrl: url, sessionTimeout: 10_000 },
    });
    await engine.start();
    for (const [name, v] of Object.entries(VIEWS)) await engine.createView(`CREATE VIEW ${name} AS ${v.sql}`);
    engines.push({ engine, db, dir });
    return engine;
  };

  beforeAll(async () => {
    registry = await startRegistry({
      adminToken: TEST_ADMIN_TOKEN,
      ...kafkaConnection(),
      port: 0,
      topic: uniqueName("_schemas_pgsplit"),
      logger: silentLogger(),
    });
    database = await createPgDatabase("pgsplit");
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
    await client.query(`
      CREATE TABLE customers (id int PRIMARY KEY, name text);
      CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, total numeric(12,2));
      CREATE TABLE order_items (order_id bigint, line int, qty int, PRIMARY KEY (order_id, line));`);
    await run(40);
    connector = createConnector(
      {
        name: uniqueName("pgsplit"),
        owner: "shop",
        kind: "postgres",
        url: database.url,
        tables: ["public.customers", "public.orders", "public.order_items"],
        snapshot: "initial",
        partitions: 4,
      },
      {
        kafka: k,
        registry: new RegistryClient({ token: TEST_ADMIN_TOKEN, url: registry.url }),
        offsets: kafkaOffsetStore(k),
        logger: silentLogger(),
        heartbeatIntervalMs: 1000,
        retryDelayMs: 200,
      },
    );
    await connector.start();
    await waitFor(() => connector.status().state === "streaming", 60_000);
  });

  afterAll(async () => {
    for (const e of engines) {
      await e.engine.stop();
      await e.db.close();
      await rm(e.dir, { recursive: true, force: true });
    }
    await connector?.stop();
    await client?.end();
    await database?.drop();
    await registry?.stop();
  });

  it("two members together equal Postgres; the one left alone does too", async () => {
    const a = await startEngine("http://a.test");
    const b = await startEngine("http://b.test");
    await run(120);
    await waitFor(
      () =>
        Object.keys(VIEWS).every(
          (v) =>
            [a, b].every((e) => e.ownership(v)?.served.length === 2) &&
            [a, b].every((e) => e.getView(v).status.state === "ready"),
        ),
      60_000,
    );
    await expectEqualToPostgres([a, b]);
    // Postgres keeps committing while the group rebalances.
    const writing = run(60);
    await new Promise((res) => setTimeout(res, 100));
    const e = engines.pop()!;
    await e.engine.stop();
    await e.db.close();
    await rm(e.dir, { recursive: true, force: true });
    await writing;
    await waitFor(() => Object.keys(VIEWS).every((v) => a.ownership(v)?.served.length === 4), 60_000);
    await expectEqualToPostgres([a]);
  });
});
