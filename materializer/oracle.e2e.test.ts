// The oracle on the real pipeline: Postgres → the Postgres connector (connectors/postgres) → Kafka + the
// registry → the materializer. A seeded random workload (inserts, updates with FK changes and NULL FKs,
// primary-key changes, deletes) runs on customers/orders/order_items/products; after it settles, each view
// must equal the same SELECT run by Postgres, row by row and value by value (numbers as Postgres prints
// them: a numeric's scale included). The views cover joins, computed columns, GROUP BY with every
// aggregate and HAVING, and views over a view (Postgres has the same view, so the SQL runs unchanged).
// Then the same again while `mesh materialize` (a child process) is SIGKILLed at random points 5 times
// and restarted.
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
import { createPgDatabase, kafka, kafkaConnection, stackEnv, uniqueName } from "../test/support/stack.ts";
import { MaterializerEngine } from "./engine.ts";
import type { Db } from "./engine/reader.ts";
import { Layout, TAG } from "./engine/layout.ts";
import { parseStored } from "./kafka/reading.ts";
import { RegistryClient } from "../lib/registry-client.ts";
import { spawnMember } from "./test-support/killable-member.ts";
import { rng } from "./test-support/shop-workload.ts";
import { waitFor } from "./test-support/view-assert.ts";
import { kindOf } from "./sql/catalog.ts";
import { columnTypes } from "./column-types.ts";
import { TEST_ADMIN_TOKEN } from "../test/support/auth.ts";

registerBuiltInBackends();

const VIEWS: Record<string, string> = {
  items_replica: "SELECT * FROM order_items",
  order_customer:
    "SELECT o.id, o.total, o.status, c.name AS customer, c.region FROM orders o LEFT JOIN customers c ON o.customer_id = c.id",
  customer_orders:
    "SELECT c.id AS cid, c.name, o.id AS oid, o.total FROM customers c LEFT JOIN orders o ON o.customer_id = c.id",
  order_lines: `SELECT o.id AS oid, c.name AS customer, i.line, i.qty, p.name AS product
     FROM orders o JOIN customers c ON c.id = o.customer_id
     LEFT JOIN order_items i ON i.order_id = o.id
     LEFT JOIN products p ON p.id = i.product_id
     WHERE c.region IN ('eu', 'us') OR p.category IS NULL`,
  order_exprs: `SELECT o.id, o.total * 2 + 1 AS x, o.total / 3 AS third, o.id % 7 AS m, -o.id AS neg,
       CASE WHEN o.total > 250 THEN 'big' WHEN o.total IS NULL THEN NULL ELSE 'small' END AS size,
       COALESCE(c.name, 'none') AS who, o.status || '-' || c.region AS tag, NULLIF(c.region, 'eu') AS region,
       CAST(o.total AS numeric(8,1)) AS rounded, o.customer_id::text AS cust, c.id + o.id AS ids,
       o.total > 100 AND c.region IS NOT NULL AS flagged
     FROM orders o LEFT JOIN customers c ON c.id = o.customer_id
     WHERE o.total / 2 > 50 OR c.region LIKE 'e%' OR o.status NOT IN ('paid') OR o.id BETWEEN 10 AND 20`,
  customer_totals: `SELECT c.region, COUNT(*) AS n, COUNT(o.customer_id) AS known, SUM(o.total) AS total,
       AVG(o.total) AS mean, MIN(o.total) AS lo, MAX(o.total) AS hi, MAX(c.name) AS last_name
     FROM orders o LEFT JOIN customers c ON o.customer_id = c.id
     GROUP BY c.region HAVING COUNT(*) > 2`,
  order_amounts: `SELECT o.id, o.status, COUNT(i.line) AS lines, SUM(i.qty * i.price) AS amount, SUM(i.qty) AS units,
       AVG(i.price) AS avg_price, AVG(i.qty) AS avg_qty, MIN(p.name) AS first_product, MAX(i.price) - MIN(i.price) AS spread
     FROM orders o LEFT JOIN order_items i ON i.order_id = o.id LEFT JOIN products p ON p.id = i.product_id
     GROUP BY o.id, o.status`,
  status_counts: `SELECT status, COUNT(*) AS n, MIN(id) AS first, MAX(id) AS last, SUM(id) AS ids, AVG(id) AS mean
     FROM orders GROUP BY status`,
  region_revenue: `SELECT region, COUNT(*) AS orders, SUM(total) AS revenue, MAX(total) AS top, MIN(customer) AS first
     FROM order_customer GROUP BY region HAVING SUM(total) > 100 OR region IS NULL`,
  paid_lines: `SELECT oc.id, oc.customer, oc.total * 2 AS doubled, i.line, i.qty * i.price AS amount
     FROM order_customer oc JOIN order_items i ON i.order_id = oc.id
     WHERE oc.status = 'paid'`,
};
/** Views Postgres must have too, for the views over them to run there unchanged. */
const PG_VIEWS = ["order_customer"];
/** The key columns of each view as its ORDER BY in Postgres (one-to-many keys included). */
const KEYS: Record<string, string> = {
  items_replica: "order_id, line",
  order_customer: "id",
  customer_orders: "cid, oid",
  order_lines: "oid, i.order_id, line",
  order_exprs: "id",
  customer_totals: "region",
  order_amounts: "id, status",
  status_counts: "status",
  region_revenue: "region",
  paid_lines: "id, i.order_id, line",
};

/**
 * One text per value, exactly as Postgres prints it, tagged number or text: pg returns bigint and numeric
 * as text (a numeric with its scale: 2.50 stays "2.50"), the view a bigint and the same text.
 */
const exact = (v: unknown, numeric: boolean): string => {
  if (v === null || v === undefined) return "null";
  if (typeof v === "bigint" || typeof v === "number") return `n:${v}`;
  if (typeof v === "boolean") return `b:${v}`;
  const text = typeof v === "string" ? v : JSON.stringify(v);
  return numeric ? `n:${text}` : `s:${text}`;
};
/** Postgres' int2, int4, int8, numeric. */
const PG_NUMBERS = new Set([21, 23, 20, 1700]);

async function pgRows(client: pg.Client, name: string): Promise<Map<string, Record<string, string>>> {
  const sql = VIEWS[name]!;
  // Select the key columns too (order_lines' i.order_id is not projected).
  const keyed = sql.replace(
    /^SELECT /,
    `SELECT ${KEYS[name]!.includes("i.order_id") ? "i.order_id AS __k, " : ""}`,
  );
  const res = await client.query<Record<string, unknown>>(
    keyed.replace(/ FROM (customers|orders|order_items|products)/g, " FROM public.$1"),
  );
  const numeric = new Set(res.fields.filter((f) => PG_NUMBERS.has(f.dataTypeID)).map((f) => f.name));
  const out = new Map<string, Record<string, string>>();
  for (const row of res.rows) {
    const keyCols = KEYS[name]!.split(", ").map((k) => (k === "i.order_id" ? "__k" : k));
    const key = keyCols.map((k) => exact(row[k], numeric.has(k))).join("|");
    delete row.__k;
    out.set(key, Object.fromEntries(Object.entries(row).map(([c, v]) => [c, exact(v, numeric.has(c))])));
  }
  return out;
}

async function expectEqualToPostgres(
  engine: MaterializerEngine,
  client: pg.Client,
  timeoutMs = 60_000,
): Promise<Record<string, number>> {
  const sizes: Record<string, number> = {};
  for (const name of Object.keys(VIEWS)) {
    const deadline = Date.now() + timeoutMs;
    let want = await pgRows(client, name);
    let got = new Map<string, Record<string, string>>();
    const info = engine.getView(name);
    const isNumber = (type: unknown): boolean => ["number", "decimal"].includes(kindOf(type as never));
    const numericKey = info.keyColumns.map((c) => isNumber(c.type));
    const numeric = new Set(info.columns.filter((c) => isNumber(c.type)).map((c) => c.name));
    const read = async (): Promise<void> => {
      got = new Map();
      let cursor: string | undefined;
      do {
        const page = await engine.queryRows(name, {
          limit: 5000,
          stale: true,
          ...(cursor ? { cursor } : {}),
        });
        for (const r of page.rows)
          got.set(
            r.key.map((v, i) => exact(v, numericKey[i] ?? false)).join("|"),
            Object.fromEntries(Object.entries(r.row).map(([c, v]) => [c, exact(v, numeric.has(c))])),
          );
        cursor = page.next ?? undefined;
      } while (cursor);
    };
    await read();
    while (JSON.stringify([...got].sort()) !== JSON.stringify([...want].sort()) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 300));
      await read();
      want = await pgRows(client, name);
    }
    expect([...got.keys()].sort(), name).toEqual([...want.keys()].sort());
    for (const [k, v] of want) expect(got.get(k), `${name} row ${k}`).toEqual(v);
    sizes[name] = want.size;
  }
  return sizes;
}

class Workload {
  private readonly r: () => number;
  constructor(seed: number) {
    this.r = rng(seed);
  }
  private int(n: number): number {
    return 1 + Math.floor(this.r() * n);
  }
  private orNull(v: number | string): number | string | null {
    return this.r() < 0.1 ? null : v;
  }
  private pick<T>(xs: T[]): T {
    return xs[Math.floor(this.r() * xs.length)]!;
  }

  /** One transaction of 1-4 random statements (every kind of change the issue lists). */
  statements(): [string, unknown[]][] {
    const out: [string, unknown[]][] = [];
    for (let n = 1 + Math.floor(this.r() * 4); n > 0; n--) {
      const d = this.r();
      const table = this.pick(["customers", "orders", "order_items", "products"]);
      if (d < 0.4) {
        if (table === "customers")
          out.push([
            "INSERT INTO customers VALUES ($1,$2,$3) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, region = EXCLUDED.region",
            [this.int(40), `c${this.int(99)}`, this.orNull(this.pick(["eu", "us", "apac"]))],
          ]);
        else if (table === "orders")
          out.push([
            "INSERT INTO orders VALUES ($1,$2,$3,$4) ON CONFLICT (id) DO UPDATE SET customer_id = EXCLUDED.customer_id, total = EXCLUDED.total",
            [
              this.int(120),
              this.orNull(this.int(45)),
              this.pick(["new", "paid"]),
              `${this.int(500)}.${this.int(89) + 10}`,
            ],
          ]);
        else if (table === "order_items")
          out.push([
            "INSERT INTO order_items VALUES ($1,$2,$3,$4,$5) ON CONFLICT (order_id, line) DO UPDATE SET product_id = EXCLUDED.product_id, qty = EXCLUDED.qty",
            [this.int(120), this.int(3), this.orNull(this.int(17)), this.int(9), `${this.int(90)}.50`],
          ]);
        else
          out.push([
            "INSERT INTO products VALUES ($1,$2,$3) ON CONFLICT (id) DO UPDATE SET category = EXCLUDED.category",
            [this.int(15), `p${this.int(99)}`, this.orNull(this.pick(["a", "b"]))],
          ]);
      } else if (d < 0.6) {
        // FK changes (including to NULL and to rows that do not exist).
        if (table === "orders" || table === "customers")
          out.push([
            "UPDATE orders SET customer_id = $2 WHERE id = $1",
            [this.int(120), this.orNull(this.int(45))],
          ]);
        else
          out.push([
            "UPDATE order_items SET product_id = $3 WHERE order_id = $1 AND line = $2",
            [this.int(120), this.int(3), this.orNull(this.int(17))],
          ]);
      } else if (d < 0.75) {
        // Primary-key changes (skipped by Postgres when the new key is taken).
        if (table === "orders")
          out.push([
            "UPDATE orders SET id = $2 WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM orders WHERE id = $2)",
            [this.int(120), this.int(120)],
          ]);
        else if (table === "customers")
          out.push([
            "UPDATE customers SET id = $2 WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM customers WHERE id = $2)",
            [this.int(40), this.int(40)],
          ]);
        else
          out.push([
            "UPDATE order_items SET line = $3 WHERE order_id = $1 AND line = $2 AND NOT EXISTS (SELECT 1 FROM order_items WHERE order_id = $1 AND line = $3)",
            [this.int(120), this.int(3), this.int(3)],
          ]);
      } else {
        const key = table === "order_items" ? "order_id = $1 AND line = $2" : "id = $1";
        out.push([
          `DELETE FROM ${table} WHERE ${key}`,
          table === "order_items"
            ? [this.int(120), this.int(3)]
            : [this.int(table === "customers" ? 40 : table === "orders" ? 120 : 15)],
        ]);
      }
    }
    return out;
  }
}

describe("views equal Postgres through the real connector", () => {
  let registry: RunningRegistry;
  let database: Awaited<ReturnType<typeof createPgDatabase>>;
  let client: pg.Client;
  let connector: Connector;
  let dir: string;
  const k = kafka();
  const source = uniqueName("shop");
  const workload = new Workload(2026);
  const started = Date.now();

  async function run(transactions: number): Promise<void> {
    for (let t = 0; t < transactions; t++) {
      await client.query("BEGIN");
      for (const [sql, params] of workload.statements()) await client.query(sql, params);
      await client.query("COMMIT");
    }
  }

  beforeAll(async () => {
    registry = await startRegistry({
      adminToken: TEST_ADMIN_TOKEN,
      ...kafkaConnection(),
      port: 0,
      topic: uniqueName("_schemas_oracle"),
      logger: silentLogger(),
    });
    database = await createPgDatabase("mat");
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
    await client.query(`
      CREATE TABLE customers (id int PRIMARY KEY, name text, region text);
      CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, status text, total numeric(12,2));
      CREATE TABLE order_items (order_id bigint, line int, product_id int, qty int, price numeric(12,2), PRIMARY KEY (order_id, line));
      CREATE TABLE products (id int PRIMARY KEY, name text, category text);`);
    for (const name of PG_VIEWS) await client.query(`CREATE VIEW ${name} AS ${VIEWS[name]}`);
    await run(60); // rows that exist before the connector: the snapshot
    connector = createConnector(
      {
        name: source,
        owner: "shop",
        kind: "postgres",
        url: database.url,
        tables: ["public.customers", "public.orders", "public.order_items", "public.products"],
        snapshot: "initial",
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
    dir = await mkdtemp(join(tmpdir(), "mesh-oracle-"));
  });

  afterAll(async () => {
    await connector?.stop();
    await client?.end();
    await database?.drop();
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
    console.log(`oracle.e2e.test.ts took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  const open = async (): Promise<{ engine: MaterializerEngine; close: () => Promise<void> }> => {
    const db: Db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
    await db.open();
    const engine = new MaterializerEngine({
      db,
      kafka: k,
      registry: new RegistryClient({ token: TEST_ADMIN_TOKEN, url: registry.url }),
      logger: silentLogger(),
    });
    await engine.start();
    return { engine, close: async () => (await engine.stop(), await db.close()) };
  };

  it("backfills from the snapshot and stays equal to Postgres through a random workload", async () => {
    const { engine, close } = await open();
    try {
      for (const [name, sql] of Object.entries(VIEWS))
        await engine.createView(`CREATE VIEW ${name} AS ${sql}`);
      await waitFor(() => engine.listViews().every((v) => v.status.state === "ready"), 60_000);
      // Every column's type is the one Postgres gives the same SELECT (what GET /v1/views/{name} shows).
      for (const name of Object.keys(VIEWS)) {
        await client.query(`CREATE TEMP VIEW type_probe AS ${VIEWS[name]}`);
        const pgTypes = await client.query<{ name: string; type: string }>(
          `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
            WHERE attrelid = 'type_probe'::regclass AND attnum > 0 ORDER BY attnum`,
        );
        await client.query("DROP VIEW type_probe");
        const ours = columnTypes(engine.getView(name)).map(({ name: n, type }) => ({ name: n, type }));
        expect(ours, `${name}'s column types`).toEqual(pgTypes.rows);
      }
      await run(150);
      const sizes = await expectEqualToPostgres(engine, client);
      expect(Object.values(sizes).every((n) => n > 0)).toBe(true);
    } finally {
      await close();
    }
  });

  it("stays exact with `mesh materialize` SIGKILLed 5 times while the workload runs", async () => {
    const r = rng(5);
    const feedSeq = async (): Promise<number> => {
      const db: Db = new ClassicLevel<Buffer, Buffer>(dir, {
        keyEncoding: "buffer",
        valueEncoding: "buffer",
      });
      await db.open();
      try {
        // How far the view had consumed: the sum of its stored offsets.
        let sum = 0;
        for await (const v of db.values(Layout.range(new Layout("order_lines").section(TAG.O))))
          sum += Number(parseStored(v, 0n).offset);
        return sum;
      } finally {
        await db.close();
      }
    };
    const before = await feedSeq();
    const progress: number[] = [];
    for (let round = 0; round < 5; round++) {
      const { proc, running, exited } = spawnMember([
        "--brokers",
        stackEnv().MESH_KAFKA_BROKERS,
        "--registry",
        registry.url,
        "--data-dir",
        dir,
        "--catalog-topic",
        "off",
      ]);
      // The workload runs until the kill, so the process is busy applying when it dies; the kill lands at a
      // random point after the child runs its views (a slow start on a busy machine cannot pre-empt all work).
      let killed = false;
      const writing = (async () => {
        while (!killed) await run(1);
      })();
      await running;
      await new Promise((res) => setTimeout(res, 1000 + Math.floor(r() * 4000)));
      proc.kill("SIGKILL");
      killed = true;
      expect(await exited).toBe("SIGKILL");
      await writing;
      progress.push(await feedSeq());
    }
    // The kills landed while the process was applying: the stored state moved between most kills.
    const moved = progress.filter((p, i) => p > (i === 0 ? before : (progress[i - 1] ?? 0))).length;
    expect(
      moved,
      `order_lines consumed offsets after each kill: ${before} → ${progress.join(", ")}`,
    ).toBeGreaterThanOrEqual(3);
    const { engine, close } = await open();
    try {
      await waitFor(() => engine.listViews().every((v) => v.status.state === "ready"), 60_000);
      await expectEqualToPostgres(engine, client);
    } finally {
      await close();
    }
    // Each start of the child runs ten views (about 10 s on the shared machine) before the kill window.
  }, 300_000);
});
