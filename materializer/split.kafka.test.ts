// Split views on the real stack: two engines in one group share a 4-partition driving topic (each its own
// LevelDB), joined tables read in full by both. Their rows together equal the oracle, each holds only its
// partitions; stopping one hands everything to the other, which converges exactly; multi-table transactions
// stay whole per member; markers without per-partition counts fail a split view with a clear error.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningRegistry } from "../registry/server.ts";
import { kafka, uniqueName } from "../test/support/stack.ts";
import type { MaterializerEngine } from "./engine.ts";
import { CdcWriter } from "./test-support/cdc-writer.ts";
import { openTestDb, startTestEngine, startTestRegistry, type TestDb } from "./test-support/engine-setup.ts";
import { allRows, expectSettled, waitFor } from "./test-support/view-assert.ts";
import { SHOP_TABLES, ShopWorkload } from "./test-support/shop-workload.ts";

const M2O =
  "CREATE VIEW m2o AS SELECT o.id, o.total, o.status, c.name AS customer, c.region FROM orders o LEFT JOIN customers c ON o.customer_id = c.id; CREATE INDEX ON m2o (status)";
const REPLICA = "CREATE VIEW replica AS SELECT * FROM orders";
const TOTALS =
  "CREATE VIEW totals AS SELECT o.id, o.total, i.line, i.price FROM orders o LEFT JOIN order_items i ON i.order_id = o.id";

interface Member {
  engine: MaterializerEngine;
  store: TestDb;
}

describe("split views (consumer-group members)", () => {
  let registry: RunningRegistry;
  let writer: CdcWriter;
  let workload: ShopWorkload;
  const members: Member[] = [];
  const k = kafka();
  const group = uniqueName("grp");

  const startMember = async (url: string): Promise<Member> => {
    const store = await openTestDb({ name: "split" });
    const engine = await startTestEngine(store.db, registry.url, {
      group: { name: group, advertisedUrl: url, sessionTimeout: 10_000 },
    });
    const m = { engine, store };
    members.push(m);
    return m;
  };

  const stopMember = async (m: Member): Promise<void> => {
    await m.engine.stop();
    await m.store.remove();
    members.splice(members.indexOf(m), 1);
  };

  /** Waits until the ready engines serve disjoint partition sets covering all 4; returns them. */
  const settled = async (engines: MaterializerEngine[], view: string): Promise<number[][]> => {
    let owned: number[][] = [];
    await waitFor(() => {
      owned = engines.map((e) => (e.getView(view).status.state === "ready" ? served(e, view) : []));
      const all = owned.flat().sort((x, y) => x - y);
      return all.join(",") === "0,1,2,3" && owned.every((o) => o.length > 0);
    }, 60_000).catch((err: unknown) => {
      // What each member thinks, to tell a stuck rebalance from a stuck catch-up.
      for (const e of engines) console.log(view, e.ownership(view), e.getView(view).status);
      throw err;
    });
    return owned;
  };

  beforeAll(async () => {
    registry = await startTestRegistry("split");
    writer = new CdcWriter({
      kafka: k,
      registryUrl: registry.url,
      source: uniqueName("split"),
      tables: SHOP_TABLES,
      partitions: 4,
    });
    await writer.start();
    workload = new ShopWorkload(7, (t) => writer.topic(t));
    for (const [table, rows] of workload.initial()) await writer.snapshot(table, rows);
  });

  afterAll(async () => {
    for (const m of [...members]) await stopMember(m);
    await writer?.stop();
    await registry?.stop();
  });

  it("splits the driving partitions between two members whose rows together equal the oracle", async () => {
    const a = await startMember("http://member-a.test");
    for (const sql of [M2O, REPLICA, TOTALS]) await a.engine.createView(sql);
    const b = await startMember("http://member-b.test");
    for (const sql of [M2O, REPLICA, TOTALS]) await b.engine.createView(sql);
    for (let i = 0; i < 100; i++) await writer.transaction(workload.transaction(0));
    for (const view of ["m2o", "replica", "totals"]) {
      const owned = await settled([a.engine, b.engine], view);
      expect(owned.map((o) => o.length)).toEqual([2, 2]);
    }
    for (const sql of [M2O, REPLICA, TOTALS])
      await expectSettled([a.engine, b.engine], sql, [writer], workload.tables, 60_000);

    // Each member answers only for its own partitions, and members() says who has which.
    for (const m of [a, b]) {
      const mine = served(m.engine, "m2o");
      const rows = await allRows(m.engine, "m2o");
      expect(rows.size).toBeGreaterThan(0);
      for (const row of rows.values())
        expect(mine).toContain(writer.partitionOfRow("orders", { id: row.id }));
    }
    const list = await a.engine.members("m2o");
    expect(list.map((m) => m.url).sort()).toEqual(["http://member-a.test", "http://member-b.test"]);
    expect(list.flatMap((m) => m.partitions).sort()).toEqual([0, 1, 2, 3]);
  });

  it("keeps whole transactions per member while orders and their items change together", async () => {
    const engines = members.map((m) => m.engine);
    const orders = [910_001n, 910_002n, 910_003n, 910_004n, 910_005n, 910_006n];
    await writer.transaction(
      orders.map((id) => ({
        table: "orders",
        op: "c" as const,
        after: { id, customer_id: 1n, status: "new", total: "0.00" },
      })),
    );
    const lines = new Map<bigint, number[]>(orders.map((o) => [o, []]));
    let stop = false;
    const violations: string[] = [];
    let polls = 0;
    const reader = (async () => {
      while (!stop) {
        for (const e of engines) {
          const page = await e.queryRows("totals", {
            filters: [{ column: "id", op: "gte", value: "910001" }],
            limit: 10_000,
            stale: true,
          });
          const sums = new Map<string, { total: number; sum: number }>();
          for (const r of page.rows) {
            const s = sums.get(String(r.row.id)) ?? { total: Math.round(Number(r.row.total) * 100), sum: 0 };
            if (r.row.price !== null) s.sum += Math.round(Number(r.row.price) * 100);
            sums.set(String(r.row.id), s);
          }
          for (const [id, s] of sums)
            if (s.total !== s.sum) violations.push(`order ${id}: ${s.total} ≠ ${s.sum}`);
        }
        polls++;
      }
    })();
    for (let i = 0; i < 60; i++) {
      const order = orders[i % orders.length]!;
      const current = lines.get(order)!;
      const cents = 100 + ((i * 37) % 900);
      current.push(cents);
      const total = current.reduce((x, y) => x + y, 0);
      await writer.transaction([
        {
          table: "order_items",
          op: "c",
          after: {
            order_id: order,
            line: current.length,
            product_id: 1,
            qty: 1,
            price: (cents / 100).toFixed(2),
          },
        },
        {
          table: "orders",
          op: "u",
          after: { id: order, customer_id: 1n, status: "new", total: (total / 100).toFixed(2) },
        },
      ]);
    }
    await waitFor(async () => {
      let n = 0;
      for (const e of engines)
        n += (
          await e.queryRows("totals", {
            filters: [{ column: "id", op: "gte", value: "910001" }],
            limit: 1000,
          })
        ).rows.length;
      return n === 60;
    });
    stop = true;
    await reader;
    expect(polls).toBeGreaterThan(3);
    expect(violations).toEqual([]);
    // Remove them again, so the views keep matching the workload's model (the oracle).
    await writer.transaction(
      orders.flatMap((id) => [
        ...lines.get(id)!.map((cents, i) => ({
          table: "order_items",
          op: "d" as const,
          before: { order_id: id, line: i + 1, product_id: 1, qty: 1, price: (cents / 100).toFixed(2) },
        })),
        { table: "orders", op: "d" as const, before: { id, customer_id: 1n, status: "new", total: "0.00" } },
      ]),
    );
  });

  it("feeds each member the changes of the rows in its own partitions", async () => {
    const [a, b] = members as [Member, Member];
    // A customer with orders on several partitions: renaming it changes m2o rows on both members.
    const orders = [...workload.tables.get(writer.topic("orders"))!.values()].map((o) => o.row);
    const customers = [...workload.tables.get(writer.topic("customers"))!.values()].map((c) => c.row);
    const idOf = (v: unknown): string => String(v);
    const partitionsOf = (cid: string): Set<number> =>
      new Set(
        orders
          .filter((o) => o.customer_id !== null && idOf(o.customer_id) === cid)
          .map((o) => writer.partitionOfRow("orders", { id: o.id })),
      );
    const customer = customers.find((c) => partitionsOf(idOf(c.id)).size >= 2)!;
    expect(customer).toBeDefined();
    const cid = idOf(customer.id);
    const affected = orders
      .filter((o) => o.customer_id !== null && idOf(o.customer_id) === cid)
      .map((o) => Number(o.id));
    const seen = new Map<Member, number[]>();
    const abort = new AbortController();
    const follow = async (m: Member, after: number): Promise<void> => {
      const got: number[] = [];
      seen.set(m, got);
      for await (const c of m.engine.changes("m2o", after, abort.signal))
        if (c.op === "update" && c.after?.customer === "renamed") got.push(Number(c.key[0]));
    };
    // Each feed starts after its current head, resolved before anything is written.
    const heads = await Promise.all(
      [a, b].map(async (m) => (await m.engine.changeStart("m2o", Number.MAX_SAFE_INTEGER)).after),
    );
    const feeds = [follow(a, heads[0]!), follow(b, heads[1]!)];
    await writer.transaction([{ table: "customers", op: "u", after: { ...customer, name: "renamed" } }]);
    await waitFor(() => [...seen.values()].flat().length >= affected.length, 30_000);
    // Back to the model's state, so the oracle still holds.
    await writer.transaction([{ table: "customers", op: "u", after: customer }]);
    abort.abort();
    await Promise.allSettled(feeds);
    for (const m of [a, b]) {
      const mine = served(m.engine, "m2o");
      expect(seen.get(m)!.length).toBeGreaterThan(0);
      for (const id of seen.get(m)!)
        expect(mine).toContain(writer.partitionOfRow("orders", { id: BigInt(id) }));
    }
    expect([...seen.values()].flat().sort((x, y) => x - y)).toEqual(affected.sort((x, y) => x - y));
  });

  it("hands every partition to the remaining member when one stops, which converges exactly", async () => {
    const [a, b] = members as [Member, Member];
    // Transactions keep coming while the group rebalances.
    let written = 0;
    const writing = (async () => {
      for (let i = 0; i < 50; i++, written++) await writer.transaction(workload.transaction(0));
    })();
    await waitFor(() => written >= 5, 30_000, "the first transactions");
    await stopMember(b);
    await writing;
    for (const view of ["m2o", "replica", "totals"]) {
      const owned = await settled([a.engine], view);
      expect(owned).toEqual([[0, 1, 2, 3]]);
    }
    for (const sql of [M2O, REPLICA, TOTALS])
      await expectSettled(a.engine, sql, [writer], workload.tables, 60_000);
    expect((await a.engine.members("m2o")).map((m) => m.partitions)).toEqual([[0, 1, 2, 3]]);
  });
});

function served(engine: MaterializerEngine, view: string): number[] {
  return engine.ownership(view)?.served ?? [];
}

describe("split views over a connector without per-partition counts", () => {
  let registry: RunningRegistry;
  let writer: CdcWriter;
  const engines: { engine: MaterializerEngine; store: TestDb }[] = [];
  const k = kafka();

  beforeAll(async () => {
    registry = await startTestRegistry("legacy");
    writer = new CdcWriter({
      kafka: k,
      registryUrl: registry.url,
      source: uniqueName("legacy"),
      tables: SHOP_TABLES,
      partitions: 2,
      legacyMarkers: true,
    });
    await writer.start();
  });

  afterAll(async () => {
    for (const e of engines) {
      await e.engine.stop();
      await e.store.remove();
    }
    await writer?.stop();
    await registry?.stop();
  });

  it("fails the view with MESH_CONNECTOR_OUTDATED on a member that reads only some partitions", async () => {
    const group = uniqueName("legacygrp");
    for (const url of ["http://l1.test", "http://l2.test"]) {
      const store = await openTestDb({ name: "legacy" });
      const engine = await startTestEngine(store.db, registry.url, {
        group: { name: group, advertisedUrl: url, sessionTimeout: 10_000 },
      });
      await engine.createView(REPLICA);
      engines.push({ engine, store });
    }
    await waitFor(() => engines.every((e) => e.engine.ownership("replica")?.owned.length === 1), 60_000);
    // Orders on both partitions in one transaction: each member reads one of them.
    const ids = [1n, 2n, 3n, 4n, 5n, 6n];
    expect(new Set(ids.map((id) => writer.partitionOfRow("orders", { id }))).size).toBe(2);
    await writer.transaction(
      ids.map((id) => ({
        table: "orders",
        op: "c" as const,
        after: { id, customer_id: 1n, status: "new", total: "1.00" },
      })),
    );
    await waitFor(() => engines.every((e) => e.engine.getView("replica").status.state === "failed"), 30_000);
    for (const e of engines)
      expect(e.engine.getView("replica").status.error).toMatchObject({
        code: "MESH_CONNECTOR_OUTDATED",
        message: expect.stringMatching(/upgrade the source's connector/),
      });
  });
});
