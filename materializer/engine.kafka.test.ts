// The materializer on the real stack (Kafka + the schema registry), fed by the CDC writer test helper with
// Debezium-shaped events per docs/contracts.md: backfill, incremental maintenance against the naive oracle,
// parking, restart from stored offsets, whole-transaction visibility and a cross-source view.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningRegistry } from "../registry/server.ts";
import { kafka, uniqueName } from "../test/support/stack.ts";
import type { MaterializerEngine } from "./engine.ts";
import type { Db } from "./engine/reader.ts";
import { CdcWriter } from "./test-support/cdc-writer.ts";
import { openTestDb, startTestEngine, startTestRegistry, type TestDb } from "./test-support/engine-setup.ts";
import type { Tables } from "./test-support/naive-view.ts";
import { expectSettled, waitFor } from "./test-support/view-assert.ts";
import { SHOP_TABLES, ShopWorkload } from "./test-support/shop-workload.ts";

const VIEWS = {
  replica: "CREATE VIEW replica AS SELECT * FROM order_items",
  m2o: "CREATE VIEW m2o AS SELECT o.id, o.total, o.status, c.name AS customer, c.region FROM orders o LEFT JOIN customers c ON o.customer_id = c.id; CREATE INDEX ON m2o (status)",
  o2m: "CREATE VIEW o2m AS SELECT c.id AS cid, c.name, o.id AS oid, o.total FROM customers c LEFT JOIN orders o ON o.customer_id = c.id",
  chain: `CREATE VIEW chain AS SELECT o.id AS oid, c.name AS customer, i.line, i.qty, p.name AS product
          FROM orders o JOIN customers c ON c.id = o.customer_id
          LEFT JOIN order_items i ON i.order_id = o.id
          LEFT JOIN products p ON p.id = i.product_id
          WHERE c.region IN ('eu', 'us') OR p.category IS NULL`,
};

describe("materializer on Kafka and the registry", () => {
  let registry: RunningRegistry;
  let store: TestDb | undefined;
  let db: Db;
  let engine: MaterializerEngine;
  let writer: CdcWriter;
  let workload: ShopWorkload;
  const k = kafka();
  const started = Date.now();

  const makeEngine = (): Promise<MaterializerEngine> => startTestEngine(db, registry.url);

  beforeAll(async () => {
    registry = await startTestRegistry("mat");
    store = await openTestDb({ name: "mat" });
    db = store.db;
    writer = new CdcWriter({
      kafka: k,
      registryUrl: registry.url,
      source: uniqueName("src"),
      tables: SHOP_TABLES,
    });
    await writer.start();
    workload = new ShopWorkload(42, (t) => writer.topic(t));
    for (const [table, rows] of workload.initial()) await writer.snapshot(table, rows);
    engine = await makeEngine();
  });

  afterAll(async () => {
    await engine?.stop();
    await writer?.stop();
    await store?.remove();
    await registry?.stop();
    console.log(`engine.kafka.test.ts took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  it("backfills views created after the data exists, then maintains them incrementally (oracle)", async () => {
    for (const sql of Object.values(VIEWS)) await engine.createView(sql);
    expect(() => engine.getView("nope")).toThrow(/no view named nope/);
    await waitFor(() => engine.listViews().every((v) => v.status.state === "ready"));
    for (const sql of Object.values(VIEWS)) await expectSettled(engine, sql, [writer], workload.tables);
    expect(engine.getView("m2o").status).toMatchObject({ state: "ready", progress: 1, parked: [] });

    for (let i = 0; i < 150; i++) await writer.transaction(workload.transaction(0.02));
    for (const sql of Object.values(VIEWS)) await expectSettled(engine, sql, [writer], workload.tables);
    const info = engine.getView("chain");
    expect(info.key).toEqual(["oid", "i.order_id", "line"]);
    expect(info.status.rows).toBeGreaterThan(0);

    // Point lookups and index-ordered pages.
    const some = (await engine.queryRows("m2o", { limit: 1 })).rows[0]!;
    expect(await engine.getRow("m2o", some.key)).toEqual(some);
    expect(await engine.getRow("m2o", [999_999])).toBeNull();
    const paid = await engine.queryRows("m2o", {
      filters: [{ column: "status", op: "eq", value: "paid" }],
      limit: 1000,
    });
    expect(paid.rows.length).toBeGreaterThan(0);
    expect(paid.rows.every((r) => r.row.status === "paid")).toBe(true);
    const big = await engine.queryRows("m2o", {
      filters: [{ column: "total", op: "gte", value: "250" }],
      order: "status",
      limit: 1000,
    });
    expect(big.rows.every((r) => Number(r.row.total) >= 250)).toBe(true);
    const statuses = big.rows.map((r) => r.row.status as string);
    expect(statuses).toEqual([...statuses].sort());

    // An index added to a live view is built over its existing rows, then maintained.
    expect((await engine.createView("CREATE INDEX ON o2m (name)")).indexes).toEqual([["name"]]);
    await waitFor(() => engine.getView("o2m").status.state === "ready");
    const byName = await engine.queryRows("o2m", { order: "name", limit: 10_000 });
    const names = byName.rows.map((r) => String(r.row.name));
    expect(byName.rows.length).toBe(engine.getView("o2m").status.rows);
    expect(names).toEqual([...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
  });

  it("parks an undecodable record per key, keeps other keys flowing, and lets an operator skip it", async () => {
    const customer = { id: 7, name: "parked", region: "eu" };
    await writer.garbage("customers", customer);
    await writer.transaction([{ table: "customers", op: "c", after: customer }]);
    await writer.transaction([
      { table: "customers", op: "c", after: { id: 8, name: "flows", region: "us" } },
    ]);
    await waitFor(async () =>
      (await engine.queryRows("o2m", { filters: [{ column: "cid", op: "eq", value: 8 }] })).rows.some(
        (r) => r.row.name === "flows",
      ),
    );
    const parked = engine.getView("o2m").status.parked;
    expect(parked).toHaveLength(2);
    expect(parked[0]?.reason).toMatch(/cannot apply the record's value/);
    expect(
      (await engine.queryRows("o2m", { filters: [{ column: "cid", op: "eq", value: 7 }] })).rows.every(
        (r) => r.row.name !== "parked",
      ),
    ).toBe(true);

    const result = await engine.resolveParked("o2m", parked[0]!.topic, parked[0]!.key, "skip");
    expect(result).toEqual({ applied: 1, stillParked: 0 });
    expect(engine.getView("o2m").status.parked).toEqual([]);
    expect(
      (await engine.queryRows("o2m", { filters: [{ column: "cid", op: "eq", value: 7 }] })).rows.every(
        (r) => r.row.name === "parked",
      ),
    ).toBe(true);
    // The other views parked the same records; skip them there too, and keep the model in step.
    for (const v of ["chain", "m2o"])
      for (const p of engine.getView(v).status.parked) await engine.resolveParked(v, p.topic, p.key, "skip");
    workload.tables
      .get(writer.topic("customers"))!
      .set(workload.keyId("customers", customer), { p: 0, row: customer });
    workload.tables
      .get(writer.topic("customers"))!
      .set(workload.keyId("customers", { id: 8 }), { p: 0, row: { id: 8, name: "flows", region: "us" } });
    for (const sql of Object.values(VIEWS)) await expectSettled(engine, sql, [writer], workload.tables);
  });

  it("resumes from its stored offsets after a restart and converges", async () => {
    await engine.stop();
    for (let i = 0; i < 60; i++) await writer.transaction(workload.transaction(0));
    engine = await makeEngine();
    expect(
      engine
        .listViews()
        .map((v) => v.name)
        .sort(),
    ).toEqual(Object.keys(VIEWS).sort());
    for (const sql of Object.values(VIEWS)) await expectSettled(engine, sql, [writer], workload.tables);
    const feed: number[] = [];
    const ac = new AbortController();
    for await (const c of engine.changes("replica", 0, ac.signal)) {
      feed.push(c.seq);
      if (feed.length === 5) ac.abort();
    }
    expect(feed).toEqual([...feed].sort((a, b) => a - b));
  });

  it("never shows half a transaction: order totals always equal the sum of their items", async () => {
    await engine.createView(
      "CREATE VIEW totals AS SELECT o.id, o.total, i.line, i.price FROM orders o LEFT JOIN order_items i ON i.order_id = o.id",
    );
    await waitFor(() => engine.getView("totals").status.state === "ready");
    const orders = [900_001n, 900_002n, 900_003n];
    // Make every order consistent first: total = sum(price) (in cents).
    const lines = new Map<bigint, number[]>(orders.map((o) => [o, []]));
    const ops = orders.map((id) => ({
      table: "orders",
      op: "c" as const,
      after: { id, customer_id: 1n, status: "new", total: "0.00" },
    }));
    await writer.transaction(ops);
    let stop = false;
    let polls = 0;
    const violations: string[] = [];
    const reader = (async () => {
      while (!stop) {
        const page = await engine.queryRows("totals", {
          filters: [{ column: "id", op: "gte", value: "900001" }],
          limit: 10_000,
        });
        const sums = new Map<string, { total: number; sum: number }>();
        for (const r of page.rows) {
          const id = String(r.row.id);
          const s = sums.get(id) ?? { total: Math.round(Number(r.row.total) * 100), sum: 0 };
          if (r.row.price !== null) s.sum += Math.round(Number(r.row.price) * 100);
          sums.set(id, s);
        }
        for (const [id, s] of sums)
          if (s.total !== s.sum) violations.push(`order ${id}: total ${s.total} ≠ items ${s.sum}`);
        polls++;
      }
    })();
    for (let i = 0; i < 80; i++) {
      const order = orders[i % orders.length]!;
      const current = lines.get(order)!;
      const txOps: Parameters<CdcWriter["transaction"]>[0] = [];
      if (current.length < 3 || i % 4 === 0) {
        const line = current.length + 1;
        const cents = 100 + ((i * 37) % 900);
        current.push(cents);
        txOps.push({
          table: "order_items",
          op: "c",
          after: { order_id: order, line, product_id: 1, qty: 1, price: (cents / 100).toFixed(2) },
        });
      } else {
        const line = current.length;
        const cents = current.pop()!;
        txOps.push({
          table: "order_items",
          op: "d",
          before: { order_id: order, line, product_id: 1, qty: 1, price: (cents / 100).toFixed(2) },
        });
      }
      const total = current.reduce((a, b) => a + b, 0);
      txOps.push({
        table: "orders",
        op: "u",
        after: { id: order, customer_id: 1n, status: "new", total: (total / 100).toFixed(2) },
      });
      await writer.transaction(i % 2 ? txOps : txOps.reverse());
    }
    await waitFor(async () => {
      const rows = (
        await engine.queryRows("totals", {
          filters: [{ column: "id", op: "gte", value: "900001" }],
          limit: 10_000,
        })
      ).rows;
      return orders.every(
        (o) => rows.filter((r) => r.row.id === o && r.row.price !== null).length === lines.get(o)!.length,
      );
    });
    stop = true;
    await reader;
    // Keep the oracle's model in step for the tests that follow.
    for (const order of orders) {
      const cents = lines.get(order)!;
      const total = (cents.reduce((a, b) => a + b, 0) / 100).toFixed(2);
      const row = { id: order, customer_id: 1n, status: "new", total };
      workload.tables.get(writer.topic("orders"))!.set(workload.keyId("orders", row), { p: 0, row });
      cents.forEach((c, i) => {
        const item = { order_id: order, line: i + 1, product_id: 1, qty: 1, price: (c / 100).toFixed(2) };
        workload.tables
          .get(writer.topic("order_items"))!
          .set(workload.keyId("order_items", item), { p: 0, row: item });
      });
    }
    expect(violations).toEqual([]);
    expect(polls).toBeGreaterThan(20);
  });

  // The other source writes MySQL-shaped events (database, binlog position, GTID transaction ids), as the MySQL
  // connector will: the materializer reads only the contract, so a Postgres table joins a MySQL one unchanged.
  it("joins tables of two sources, a Postgres one and a MySQL one (cross-source view)", async () => {
    const other = new CdcWriter({
      kafka: k,
      registryUrl: registry.url,
      source: uniqueName("crm"),
      tables: SHOP_TABLES.filter((t) => t.table === "customers"),
      connector: "mysql",
    });
    await other.start();
    try {
      const crm = new ShopWorkload(7, (t) => other.topic(t));
      await other.snapshot("customers", crm.initial().get("customers")!);
      const sql = `CREATE VIEW cross_src AS SELECT o.id, o.total, c.name FROM ${writer.topic("orders")} o LEFT JOIN ${other.topic("customers")} c ON o.customer_id = c.id`;
      await engine.createView(sql);
      const tables: Tables = new Map([...workload.tables, ...crm.tables]);
      for (let i = 0; i < 40; i++) {
        await other.transaction(crm.transaction(0).filter((op) => op.table === "customers"));
        await writer.transaction(workload.transaction(0));
      }
      // The workload's customers table of `crm` only saw customer ops; keep the model exact.
      await expectSettled(engine, sql, [writer, other], new Map([...tables, ...crm.tables]));
      await engine.dropView("cross_src");
      expect(engine.listViews().map((v) => v.name)).not.toContain("cross_src");
      expect(() => engine.getView("cross_src")).toThrow(/no view named cross_src/);
    } finally {
      await other.stop();
    }
  });
});
