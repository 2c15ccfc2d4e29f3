// The demo's two service databases on two kinds of server: `customers` on MariaDB (customers) and `orders`
// on Postgres (orders, order_items, products), with sample data and a small write workload in both.
import mysql from "mysql2/promise";
import pg from "pg";

export interface DemoDatabases {
  /** `mysql://…/<prefix>customers` */
  customersUrl: string;
  /** The MariaDB database holding `customers` (the middle part of its topic). */
  customersDb: string;
  ordersUrl: string;
}

const customersDdl = `
CREATE TABLE IF NOT EXISTS customers (
  id BIGINT PRIMARY KEY, name VARCHAR(200) NOT NULL, email VARCHAR(200) NOT NULL, region VARCHAR(20) NOT NULL,
  created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))`;

const ordersDdl = `
CREATE TABLE IF NOT EXISTS products (id bigint PRIMARY KEY, name text NOT NULL, price numeric(10,2) NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
  id bigint PRIMARY KEY, customer_id bigint NOT NULL, status text NOT NULL, total numeric(12,2) NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS order_items (
  order_id bigint NOT NULL, line int NOT NULL, product_id bigint NOT NULL, quantity int NOT NULL,
  price numeric(10,2) NOT NULL, PRIMARY KEY (order_id, line));`;

const regions = ["eu", "us", "apac"];
const statuses = ["new", "paid", "shipped"];

function dbUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function withMysql<T>(url: string, fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const c = await mysql.createConnection(url);
  c.on("error", () => undefined);
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * Creates both databases (if missing) with sample data: customers on MariaDB (`mysqlAdminUrl`), orders on
 * Postgres (`adminUrl`); returns their URLs. Idempotent.
 */
export async function createDemoDatabases(
  adminUrl: string,
  mysqlAdminUrl: string,
  prefix = "",
): Promise<DemoDatabases> {
  const customersDb = `${prefix}customers`;
  const ordersDb = `${prefix}orders`;
  await withClient(adminUrl, async (c) => {
    const exists = await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [ordersDb]);
    if (exists.rowCount === 0) await c.query(`CREATE DATABASE "${ordersDb}"`);
  });
  const customersUrl = dbUrl(mysqlAdminUrl, customersDb);
  const ordersUrl = dbUrl(adminUrl, ordersDb);
  await withMysql(mysqlAdminUrl, (c) => c.query(`CREATE DATABASE IF NOT EXISTS \`${customersDb}\``));
  await withMysql(customersUrl, async (c) => {
    await c.query(customersDdl);
    const rows = Array.from({ length: 50 }, (_, k) => {
      const i = k + 1;
      return [i, `Customer ${i}`, `customer${i}@example.com`, regions[i % 3]];
    });
    await c.query("INSERT IGNORE INTO customers (id, name, email, region) VALUES ?", [rows]);
  });
  await withClient(ordersUrl, async (c) => {
    await c.query(ordersDdl);
    await c.query(
      `INSERT INTO products SELECT i, 'Product ' || i, round((5 + i * 3.75)::numeric, 2) FROM generate_series(1, 20) i
       ON CONFLICT (id) DO NOTHING`,
    );
    await c.query(
      `INSERT INTO orders (id, customer_id, status, total)
       SELECT i, 1 + i % 50, (ARRAY['new','paid','shipped'])[1 + i % 3], 0 FROM generate_series(1, 200) i
       ON CONFLICT (id) DO NOTHING`,
    );
    await c.query(
      `INSERT INTO order_items SELECT o, l, 1 + (o * l) % 20, 1 + l, round((5 + ((o * l) % 20 + 1) * 3.75)::numeric, 2)
       FROM generate_series(1, 200) o, generate_series(1, 2) l ON CONFLICT DO NOTHING`,
    );
    await c.query(
      `UPDATE orders o SET total = s.total FROM (SELECT order_id, sum(quantity * price) AS total FROM order_items GROUP BY order_id) s
       WHERE s.order_id = o.id AND o.total = 0`,
    );
  });
  return { customersUrl, customersDb, ordersUrl };
}

/**
 * A small write workload in both databases (new orders, status changes, customer region changes), one
 * step every `intervalMs`, until stop().
 */
export function startWorkload(
  dbs: DemoDatabases,
  intervalMs = 1000,
): { stop: () => Promise<void>; steps: () => number } {
  let stopped = false;
  let steps = 0;
  let customers: mysql.Connection | null = null;
  const orders = new pg.Client({ connectionString: dbs.ordersUrl });
  const loop = (async () => {
    customers = await mysql.createConnection(dbs.customersUrl);
    customers.on("error", () => undefined);
    await orders.connect();
    const { rows } = await orders.query<{ max: string | null }>("SELECT max(id)::text AS max FROM orders");
    let nextOrder = Number(rows[0]?.max ?? 0) + 1;
    while (!stopped) {
      const customer = 1 + Math.floor(Math.random() * 50);
      await orders.query("BEGIN");
      await orders.query("INSERT INTO orders (id, customer_id, status, total) VALUES ($1, $2, 'new', $3)", [
        nextOrder,
        customer,
        (Math.random() * 500 + 1).toFixed(2),
      ]);
      await orders.query("INSERT INTO order_items VALUES ($1, 1, $2, 1, 9.99)", [
        nextOrder,
        1 + (nextOrder % 20),
      ]);
      await orders.query("COMMIT");
      await orders.query("UPDATE orders SET status = $1 WHERE id = $2", [
        statuses[nextOrder % 3],
        nextOrder - 5,
      ]);
      if (nextOrder % 5 === 0) {
        await customers.query("UPDATE customers SET region = ? WHERE id = ?", [
          regions[nextOrder % 3],
          customer,
        ]);
      }
      nextOrder++;
      steps++;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })().catch(() => undefined);
  return {
    steps: () => steps,
    async stop() {
      stopped = true;
      await loop;
      await customers?.end().catch(() => undefined);
      await orders.end().catch(() => undefined);
    },
  };
}
