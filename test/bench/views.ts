// Views benchmark (`npm run bench -- views`): the materializer's apply engine and queries on LevelDB,
// each printed beside raw classic-level rates measured in the same run (the storage ceiling):
// - changes/s for a replica, a 2-way and a 3-way join view (batches of 100 changes = one LevelDB batch each);
// - backfill rows/s (snapshot rows applied in batches of 5 000) building a 1M-row replica;
// - point lookup p50/p99 and 100-row range page p99 at 1M view rows.
// It drives ViewState directly: Kafka consumption and Avro decoding are not part of these figures.
// Each apply rate is measured twice: with the engine's warm caches (engine/warm-cache.ts; this workload's
// 60k hot input rows fit their 100k-row budget) and with them off (every lookup goes to LevelDB), so the
// figure for a working set larger than the cache is printed too. The 2-way workload re-sends customer rows
// unchanged (such a change is stored but reaches no view row); a third 2-way run renames the customers,
// so each customer change rewrites its 5 orders' view rows. The orders and order items of the replica,
// 2-way and 3-way runs are inserts with ascending keys (new views; ids wrap only past the default 50k
// changes), which need no stored-row read (engine/key-ceiling.ts); the "updates" and "deleted" runs preload
// every row first, so each change updates or deletes a stored row (read unless still warm). A GROUP BY view
// over the 2-way join (one group per customer) takes the 2-way changes. Targets: replica 50k, 2-way 40k,
// 3-way and GROUP BY 25k changes/s.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { ClassicLevel } from "classic-level";
import { DB_OPTIONS, type Db } from "../../materializer/engine/reader.ts";
import { ViewState, type TableChange } from "../../materializer/engine/view-state.ts";
import { getRow, queryRows } from "../../materializer/query/rows.ts";
import { compileViewSql } from "../../materializer/sql/compile.ts";
import { shopCatalog } from "../../materializer/test-support/shop-catalog.ts";

export interface BenchOptions {
  rows?: number;
  changes?: number;
}

const T = (t: string): string => `shop.public.${t}`;
const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

async function rawCeiling(db: Db, n: number): Promise<{ writes: number; gets: number }> {
  const value = Buffer.alloc(100, 7);
  const key = (i: number): Buffer => Buffer.from(`raw:${String(i).padStart(10, "0")}`);
  let t = performance.now();
  for (let i = 0; i < n; i += 1000) {
    const ops = [];
    for (let j = i; j < i + 1000; j++) ops.push({ type: "put" as const, key: key(j), value });
    await db.batch(ops);
  }
  const writes = n / ((performance.now() - t) / 1000);
  t = performance.now();
  const gets = Math.min(n, 100_000);
  for (let i = 0; i < gets; i++) await db.get(key(Math.floor(Math.random() * n)));
  return { writes, gets: gets / ((performance.now() - t) / 1000) };
}

async function applyRate(
  db: Db,
  sql: string,
  changes: TableChange[],
  preload: TableChange[],
  batch: number,
  warmRows?: number,
): Promise<Rate> {
  const options = warmRows === undefined ? {} : { warmRows };
  const state = new ViewState(db, compileViewSql(sql, shopCatalog()), options);
  await state.load();
  for (let i = 0; i < preload.length; i += 5000) await state.apply(preload.slice(i, i + 5000));
  const cpu = process.cpuUsage();
  const t = performance.now();
  for (let i = 0; i < changes.length; i += batch)
    await state.apply(changes.slice(i, i + batch), [], { feed: true });
  const used = process.cpuUsage(cpu);
  return {
    perSecond: changes.length / ((performance.now() - t) / 1000),
    cpuMicros: (used.user + used.system) / changes.length,
  };
}

/**
 * An apply rate, and the process CPU time per change (main thread and LevelDB's threads): on a machine
 * shared with other jobs the rate follows the load, the CPU cost much less.
 */
interface Rate {
  perSecond: number;
  cpuMicros: number;
}

const order = (id: number, customers: number, total?: string): TableChange => ({
  op: "upsert",
  topic: T("orders"),
  partition: 0,
  key: [BigInt(id)],
  row: {
    id: BigInt(id),
    customer_id: BigInt(1 + (id % customers)),
    status: id % 3 ? "paid" : "new",
    total: total ?? `${id % 1000}.25`,
  },
});
const customer = (id: number, name = `c${id}`): TableChange => ({
  op: "upsert",
  topic: T("customers"),
  partition: 0,
  key: [id],
  row: { id, name, region: id % 2 ? "eu" : "us" },
});
const removed = (table: string, key: unknown[]): TableChange => ({
  op: "delete",
  topic: T(table),
  partition: 0,
  key,
});
const item = (orderId: number, line: number): TableChange => ({
  op: "upsert",
  topic: T("order_items"),
  partition: 0,
  key: [BigInt(orderId), line],
  row: { order_id: BigInt(orderId), line, product_id: line, qty: 1 + (orderId % 5), price: "9.50" },
});

export async function run(options: BenchOptions = {}): Promise<void> {
  // `npm run bench -- views freshness`: end to end through Postgres, the connector and the API instead.
  if (process.env.MESH_BENCH_VIEWS_ONLY?.split(",").includes("freshness")) {
    const { run: freshness } = await import("./views-freshness.ts");
    return freshness();
  }
  const rows = options.rows ?? 1_000_000;
  const n = options.changes ?? 50_000;
  const dir = await mkdtemp(join(tmpdir(), "mesh-bench-views-"));
  // The options the materializer opens its database with (main.ts).
  const db: Db = new ClassicLevel<Buffer, Buffer>(dir, DB_OPTIONS);
  await db.open();
  try {
    const raw = await rawCeiling(db, 200_000);
    console.log(
      `raw classic-level: batch-write ${fmt(raw.writes)} puts/s, get ${fmt(raw.gets)} gets/s (the ceiling)`,
    );

    // Ids wrap around a 50k key space (with the default 50k changes: all inserts); a batch is one
    // LevelDB batch (the runner merges whole transactions into a batch: small under light load, large in bursts).
    const customers = 10_000;
    const preloadCustomers = Array.from({ length: customers }, (_, i) => customer(i + 1));
    const preloadOrders = Array.from({ length: 50_000 }, (_, i) => order(i + 1, customers));
    const ratio = (x: number): string => `${(x / raw.writes).toFixed(2)}× raw writes`;
    const both = async (
      label: string,
      target: string,
      run: (warmRows?: number) => Promise<Rate>,
    ): Promise<void> => {
      const warm = await run();
      const cold = await run(0);
      const cpu = (r: Rate): string => `${r.cpuMicros.toFixed(0)} µs CPU/change`;
      console.log(
        `${label}: ${fmt(warm.perSecond)} changes/s (target ${target}; ${ratio(warm.perSecond)}; ${cpu(warm)}); warm caches off: ${fmt(cold.perSecond)} (${ratio(cold.perSecond)}; ${cpu(cold)})`,
      );
    };
    let view = 0;
    const name = (kind: string): string => `b_${kind}_${++view}`;
    // Warm-up on throwaway views, so the first figure does not include V8 compiling the engine (it measured
    // up to 3× slower than the same code run later in the process).
    const warmupChanges = Array.from({ length: 10_000 }, (_, i) =>
      i % 10 === 9 ? customer(1 + (i % customers)) : order(1 + i, customers),
    );
    await applyRate(db, `CREATE VIEW ${name("warmup")} AS SELECT * FROM orders`, warmupChanges, [], 100);
    await applyRate(
      db,
      `CREATE VIEW ${name("warmup")} AS SELECT i.order_id, i.qty, o.total, c.name FROM order_items i JOIN orders o ON o.id = i.order_id LEFT JOIN customers c ON c.id = o.customer_id`,
      [...warmupChanges, ...warmupChanges.map((_, i) => item(1 + i, 1))],
      [],
      100,
    );
    for (const batch of [100, 1000]) {
      const replicaChanges = Array.from({ length: n }, (_, i) => order(1 + (i % 50_000), customers));
      await both(`replica apply, ${batch} changes/batch`, "50k", (warm) =>
        applyRate(
          db,
          `CREATE VIEW ${name("replica")} AS SELECT * FROM orders`,
          replicaChanges,
          [],
          batch,
          warm,
        ),
      );
      const replicaUpdates = replicaChanges.map((_, i) => order(1 + (i % 50_000), customers, "7.75"));
      await both(`replica apply, updates, ${batch} changes/batch`, "50k", (warm) =>
        applyRate(
          db,
          `CREATE VIEW ${name("replica_upd")} AS SELECT * FROM orders`,
          replicaUpdates,
          preloadOrders,
          batch,
          warm,
        ),
      );
      const replicaDeletes = replicaChanges.map((_, i) => removed("orders", [BigInt(1 + (i % 50_000))]));
      await both(`replica apply, deletes, ${batch} changes/batch`, "50k", (warm) =>
        applyRate(
          db,
          `CREATE VIEW ${name("replica_del")} AS SELECT * FROM orders`,
          replicaDeletes,
          preloadOrders,
          batch,
          warm,
        ),
      );
      const twoWaySql = (v: string): string =>
        `CREATE VIEW ${v} AS SELECT o.id, o.total, c.name FROM orders o LEFT JOIN customers c ON o.customer_id = c.id`;
      const twoWayChanges = Array.from({ length: n }, (_, i) =>
        i % 10 === 9 ? customer(1 + (i % customers)) : order(1 + (i % 50_000), customers),
      );
      await both(`2-way join apply, ${batch} changes/batch`, "40k", (warm) =>
        applyRate(db, twoWaySql(name("two")), twoWayChanges, preloadCustomers, batch, warm),
      );
      const renames = twoWayChanges.map((c, i) =>
        c.topic === T("customers") ? customer(1 + (i % customers), `renamed${i}`) : c,
      );
      await both(`2-way join apply, customers renamed, ${batch} changes/batch`, "40k", (warm) =>
        applyRate(db, twoWaySql(name("two_rename")), renames, preloadCustomers, batch, warm),
      );
      const orderUpdates = twoWayChanges.map((c, i) =>
        c.topic === T("orders") ? order(1 + (i % 50_000), customers, "7.75") : c,
      );
      await both(`2-way join apply, orders updated, ${batch} changes/batch`, "40k", (warm) =>
        applyRate(
          db,
          twoWaySql(name("two_upd")),
          orderUpdates,
          [...preloadCustomers, ...preloadOrders],
          batch,
          warm,
        ),
      );
      const orderDeletes = twoWayChanges.map((c, i) =>
        c.topic === T("orders") ? removed("orders", [BigInt(1 + (i % 50_000))]) : c,
      );
      await both(`2-way join apply, orders deleted, ${batch} changes/batch`, "40k", (warm) =>
        applyRate(
          db,
          twoWaySql(name("two_del")),
          orderDeletes,
          [...preloadCustomers, ...preloadOrders],
          batch,
          warm,
        ),
      );
      const threeWaySql = (v: string): string =>
        `CREATE VIEW ${v} AS SELECT i.order_id, i.line, i.qty, o.total, c.name FROM order_items i JOIN orders o ON o.id = i.order_id JOIN customers c ON c.id = o.customer_id`;
      const threeWayChanges = Array.from({ length: n }, (_, i) => item(1 + (i % 50_000), 1 + (i % 3)));
      await both(`3-way join apply, ${batch} changes/batch`, "25k", (warm) =>
        applyRate(
          db,
          threeWaySql(name("three")),
          threeWayChanges,
          [...preloadCustomers, ...preloadOrders],
          batch,
          warm,
        ),
      );
      const itemDeletes = threeWayChanges.map((c) => removed("order_items", c.op === "upsert" ? c.key : []));
      await both(`3-way join apply, items deleted, ${batch} changes/batch`, "25k", (warm) =>
        applyRate(
          db,
          threeWaySql(name("three_del")),
          itemDeletes,
          [...preloadCustomers, ...preloadOrders, ...threeWayChanges],
          batch,
          warm,
        ),
      );
      // GROUP BY over the 2-way join: one group per customer (10 000), each order change updates its group.
      await both(`GROUP BY over a 2-way join, orders inserted, ${batch} changes/batch`, "25k", (warm) =>
        applyRate(
          db,
          `CREATE VIEW ${name("grouped")} AS SELECT c.id, c.region, COUNT(*) AS orders, SUM(o.total) AS total FROM orders o JOIN customers c ON o.customer_id = c.id GROUP BY c.id, c.region`,
          twoWayChanges,
          preloadCustomers,
          batch,
          warm,
        ),
      );
    }

    // Backfill: a 1M-row replica from snapshot reads, 5 000 rows per batch.
    const big = compileViewSql("CREATE VIEW b_big AS SELECT * FROM orders", shopCatalog());
    const state = new ViewState(db, big);
    await state.load();
    let t = performance.now();
    for (let i = 0; i < rows; i += 5000) {
      const batch: TableChange[] = [];
      for (let j = i; j < Math.min(rows, i + 5000); j++) batch.push(order(j + 1, customers));
      await state.apply(batch);
    }
    const backfill = rows / ((performance.now() - t) / 1000);
    console.log(
      `backfill: ${fmt(backfill)} rows/s into a ${fmt(rows)}-row replica (target 50k; ${ratio(backfill)})`,
    );

    const lookups: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const id = 1 + Math.floor(Math.random() * rows);
      t = performance.now();
      const r = await getRow(db, state, [id]);
      lookups.push(performance.now() - t);
      if (!r) throw new Error(`row ${id} missing`);
    }
    lookups.sort((a, b) => a - b);
    const pages: number[] = [];
    for (let i = 0; i < 2_000; i++) {
      const from = 1 + Math.floor(Math.random() * (rows - 200));
      t = performance.now();
      const page = await queryRows(db, state, {
        filters: [{ column: "id", op: "gte", value: String(from) }],
        limit: 100,
      });
      pages.push(performance.now() - t);
      if (page.rows.length !== 100) throw new Error("short page");
    }
    pages.sort((a, b) => a - b);
    const perGet = 1000 / raw.gets;
    const perGets = (ms: number): string => `${(ms / perGet).toFixed(1)}× a raw get`;
    const [l50, l99] = [percentile(lookups, 0.5), percentile(lookups, 0.99)];
    const [p50, p99] = [percentile(pages, 0.5), percentile(pages, 0.99)];
    console.log(
      `point lookup at ${fmt(rows)} rows: p50 ${l50.toFixed(3)} ms (${perGets(l50)}), p99 ${l99.toFixed(3)} ms (${perGets(l99)}; target p99 < 2 ms; raw get ${perGet.toFixed(3)} ms mean)`,
    );
    console.log(
      `100-row page at ${fmt(rows)} rows: p50 ${p50.toFixed(3)} ms (${perGets(p50)}), p99 ${p99.toFixed(3)} ms (${perGets(p99)}; target p99 < 10 ms)`,
    );
  } finally {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
}
