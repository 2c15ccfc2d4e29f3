// Through the real Postgres connector, two sources (two databases):
// - transaction consistency: a reader polling a view during multi-table transactions that keep every order's
//   total equal to the sum of its items never sees them differ;
// - a cross-source view (orders of one database joined to customers of the other) equals the join of the
//   two databases' tables after a random workload.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../lib/logger.ts";
import { startRegistry, type RunningRegistry } from "../registry/server.ts";
import { registerBuiltInBackends } from "../connectors/backends.ts";
import { createConnector, type Connector } from "../connectors/core/change-source.ts";
import { kafkaOffsetStore } from "../connectors/core/offset-store.ts";
import { createPgDatabase, kafka, kafkaConnection, uniqueName } from "../test/support/stack.ts";
import { MaterializerEngine } from "./engine.ts";
import type { Db } from "./engine/reader.ts";
import { RegistryClient } from "../lib/registry-client.ts";
import { registryTables } from "./sql/registry-tables.ts";
import { rng } from "./test-support/shop-workload.ts";
import { allRows, waitFor } from "./test-support/view-assert.ts";
import { TEST_ADMIN_TOKEN } from "../test/support/auth.ts";

registerBuiltInBackends();

describe("two Postgres sources through the connector", () => {
  let registry: RunningRegistry;
  const dbs: Awaited<ReturnType<typeof createPgDatabase>>[] = [];
  const clients: pg.Client[] = [];
  const connectors: Connector[] = [];
  let dir: string;
  let db: Db;
  let engine: MaterializerEngine;
  const k = kafka();
  const sales = uniqueName("sales");
  const crm = uniqueName("crm");
  const started = Date.now();

  beforeAll(async () => {
    registry = await startRegistry({
      adminToken: TEST_ADMIN_TOKEN,
      ...kafkaConnection(),
      port: 0,
      topic: uniqueName("_schemas_cons"),
      logger: silentLogger(),
    });
    const schemas = [
      "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int, total numeric(12,2) NOT NULL); CREATE TABLE order_items (order_id bigint, line int, price numeric(12,2), PRIMARY KEY (order_id, line));",
      "CREATE TABLE customers (id int PRIMARY KEY, name text);",
    ];
    for (const [i, name] of [sales, crm].entries()) {
      const database = await createPgDatabase("cons");
      dbs.push(database);
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      clients.push(client);
      await client.query(schemas[i]!);
      const tables = i === 0 ? ["public.orders", "public.order_items"] : ["public.customers"];
      const connector = createConnector(
        { name, owner: name, kind: "postgres", url: database.url, tables, snapshot: "initial" },
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
      connectors.push(connector);
    }
    await waitFor(() => connectors.every((c) => c.status().state === "streaming"), 60_000);
    // Schemas are registered with the first event of each table.
    await clients[0]!.query(
      "INSERT INTO orders VALUES (1, 1, 0); DELETE FROM orders WHERE id = 1; INSERT INTO order_items VALUES (1, 1, 1); DELETE FROM order_items;",
    );
    await clients[1]!.query("INSERT INTO customers VALUES (1, 'first')");
    const rc = new RegistryClient({ token: TEST_ADMIN_TOKEN, url: registry.url });
    await waitFor(async () => (await registryTables(rc)).length === 3, 30_000);
    dir = await mkdtemp(join(tmpdir(), "mesh-cons-"));
    db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
    await db.open();
    engine = new MaterializerEngine({ db, kafka: k, registry: rc, logger: silentLogger() });
    await engine.start();
  });

  afterAll(async () => {
    await engine?.stop();
    await db?.close();
    for (const c of connectors) await c.stop();
    for (const c of clients) await c.end();
    for (const d of dbs) await d.drop();
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
    console.log(`consistency.e2e.test.ts took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  it("never shows an order whose total differs from the sum of its items", async () => {
    await engine.createView(
      `CREATE VIEW totals AS SELECT o.id, o.total, i.line, i.price FROM ${sales}.public.orders o LEFT JOIN ${sales}.public.order_items i ON i.order_id = o.id`,
    );
    await waitFor(() => engine.getView("totals").status.state === "ready", 60_000);
    const c = clients[0]!;
    await c.query("INSERT INTO orders SELECT g, 1, 0 FROM generate_series(100, 104) g");
    let stop = false;
    let polls = 0;
    let seenItems = 0;
    const violations: string[] = [];
    const reader = (async () => {
      while (!stop) {
        const page = await engine.queryRows("totals", {
          filters: [{ column: "id", op: "gte", value: 100 }],
          limit: 10_000,
          stale: true,
        });
        const sums = new Map<string, { total: number; sum: number }>();
        for (const r of page.rows) {
          const s = sums.get(String(r.row.id)) ?? { total: Math.round(Number(r.row.total) * 100), sum: 0 };
          if (r.row.price !== null) s.sum += Math.round(Number(r.row.price) * 100);
          sums.set(String(r.row.id), s);
        }
        seenItems = Math.max(seenItems, page.rows.filter((r) => r.row.price !== null).length);
        for (const [id, s] of sums)
          if (s.total !== s.sum) violations.push(`order ${id}: total ${s.total} ≠ items ${s.sum}`);
        polls++;
      }
    })();
    const r = rng(11);
    for (let t = 0; t < 120; t++) {
      const order = 100 + Math.floor(r() * 5);
      const line = 1 + Math.floor(r() * 4);
      const price = (1 + Math.floor(r() * 5000)) / 100;
      await c.query("BEGIN");
      // Items first or total first, at random: only the committed whole is ever consistent.
      if (r() < 0.5) {
        await c.query(
          "INSERT INTO order_items VALUES ($1, $2, $3) ON CONFLICT (order_id, line) DO UPDATE SET price = EXCLUDED.price",
          [order, line, price],
        );
        await c.query(
          "UPDATE orders SET total = (SELECT coalesce(sum(price), 0) FROM order_items WHERE order_id = $1) WHERE id = $1",
          [order],
        );
      } else {
        await c.query("DELETE FROM order_items WHERE order_id = $1 AND line = $2", [order, line]);
        await c.query(
          "UPDATE orders SET total = (SELECT coalesce(sum(price), 0) FROM order_items WHERE order_id = $1) WHERE id = $1",
          [order],
        );
      }
      await c.query("COMMIT");
    }
    const want = (await c.query<{ n: string }>("SELECT count(*) AS n FROM order_items WHERE order_id >= 100"))
      .rows[0]!.n;
    await waitFor(
      async () =>
        (
          await engine.queryRows("totals", {
            filters: [
              { column: "id", op: "gte", value: 100 },
              { column: "price", op: "gte", value: 0 },
            ],
            limit: 10_000,
          })
        ).rows.length === Number(want),
      60_000,
    );
    stop = true;
    await reader;
    expect(violations).toEqual([]);
    expect(polls).toBeGreaterThan(20);
    expect(seenItems).toBeGreaterThan(0);
  });

  it("keeps a view across the two sources equal to the join of both databases", async () => {
    await engine.createView(
      `CREATE VIEW cross_db AS SELECT o.id, o.total, c.name FROM ${sales}.public.orders o LEFT JOIN ${crm}.public.customers c ON o.customer_id = c.id`,
    );
    const r = rng(12);
    for (let t = 0; t < 100; t++) {
      const which = r() < 0.5 ? 0 : 1;
      if (which === 0) {
        await clients[0]!.query(
          "INSERT INTO orders VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET customer_id = EXCLUDED.customer_id, total = EXCLUDED.total",
          [
            200 + Math.floor(r() * 30),
            r() < 0.1 ? null : 1 + Math.floor(r() * 12),
            (Math.floor(r() * 10000) / 100).toFixed(2),
          ],
        );
      } else if (r() < 0.8) {
        await clients[1]!.query(
          "INSERT INTO customers VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
          [1 + Math.floor(r() * 10), `n${Math.floor(r() * 100)}`],
        );
      } else await clients[1]!.query("DELETE FROM customers WHERE id = $1", [1 + Math.floor(r() * 10)]);
    }
    const expected = async (): Promise<string[]> => {
      const orders = (
        await clients[0]!.query<{ id: string; customer_id: number | null; total: string }>(
          "SELECT id, customer_id, total FROM orders",
        )
      ).rows;
      const customers = new Map(
        (await clients[1]!.query<{ id: number; name: string }>("SELECT id, name FROM customers")).rows.map(
          (c) => [c.id, c.name],
        ),
      );
      return orders
        .map((o) =>
          JSON.stringify([
            String(o.id),
            o.total,
            o.customer_id === null ? null : (customers.get(o.customer_id) ?? null),
          ]),
        )
        .sort();
    };
    const actual = async (): Promise<string[]> =>
      [...(await allRows(engine, "cross_db")).values()]
        .map((row) => JSON.stringify([String(row.id), row.total, row.name]))
        .sort();
    const want = await expected();
    await waitFor(async () => JSON.stringify(await actual()) === JSON.stringify(want), 60_000).catch(
      () => undefined,
    );
    expect(await actual()).toEqual(want);
    expect(want.length).toBeGreaterThan(10);
  });
});
