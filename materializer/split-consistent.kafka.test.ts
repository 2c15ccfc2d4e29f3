// Consistent pages of a split view (docs/views.md "Consistent pages"), on `mesh materialize` processes in one
// group (startMaterializer, as the CLI runs it): transactions move an amount between two orders whose rows
// two different members hold, so every state of the source has the same sum of totals. A page read with
// `consistent=true` while they stream always has that sum (every member at the same transaction); a plain
// merged page may not. Prints the cost of a consistent page beside a plain one.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../lib/logger.ts";
import { viewKey, type ViewRecord } from "../protocol/catalog.ts";
import { startRegistry, type RunningRegistry } from "../registry/server.ts";
import { kafka, kafkaConnection, uniqueName } from "../test/support/stack.ts";
import type { RunningMaterializer } from "./main.ts";
import { CdcWriter } from "./test-support/cdc-writer.ts";
import { TestMembers } from "./test-support/members.ts";
import { SHOP_TABLES } from "./test-support/shop-workload.ts";
import { waitFor } from "./test-support/view-assert.ts";
import { authHeaders, TEST_ADMIN_TOKEN } from "../test/support/auth.ts";

const ORDERS = 24;
const cents = (total: unknown): number => Math.round(Number(total) * 100);

describe("consistent pages of a split view", () => {
  let registry: RunningRegistry;
  let writer: CdcWriter;
  const members = new TestMembers("mesh-split-consistent-");
  const k = kafka();
  const group = uniqueName("grp");
  const catalogTopic = uniqueName("_mesh_catalog_consistent");
  let a: RunningMaterializer;
  let b: RunningMaterializer;
  /** The orders' totals in cents, as the source holds them. */
  const totals = new Map<number, number>();

  beforeAll(async () => {
    registry = await startRegistry({
      adminToken: TEST_ADMIN_TOKEN,
      ...kafkaConnection(),
      port: 0,
      topic: uniqueName("_schemas_consistent"),
      logger: silentLogger(),
    });
    writer = new CdcWriter({
      kafka: k,
      registryUrl: registry.url,
      source: uniqueName("consistent"),
      tables: SHOP_TABLES,
      partitions: 4,
    });
    await writer.start();
    const orders = Array.from({ length: ORDERS }, (_, i) => {
      totals.set(i + 1, 10_000);
      return { id: BigInt(i + 1), customer_id: 1n, status: "paid", total: "100.00" };
    });
    await writer.snapshot("customers", [{ id: 1, name: "Ada", region: "eu" }]);
    await writer.snapshot("orders", orders);
    await k.admin().ensureTopics([{ topic: catalogTopic, partitions: 1, compact: true }]);
    const record: ViewRecord = {
      type: "view",
      id: randomUUID(),
      name: "m2o",
      sql: `CREATE VIEW m2o AS SELECT o.id, o.total, c.name FROM ${writer.topic("orders")} o LEFT JOIN ${writer.topic("customers")} c ON o.customer_id = c.id`,
      createdAt: new Date().toISOString(),
    };
    await k
      .producer()
      .send([{ topic: catalogTopic, key: viewKey("m2o"), value: JSON.stringify(record), partition: 0 }]);
    a = await members.start({ registryUrl: registry.url, catalogTopic, group });
    b = await members.start({ registryUrl: registry.url, catalogTopic, group });
    await waitFor(
      () =>
        [a, b].every(
          (m) => m.engine.listViews().length === 1 && m.engine.ownership("m2o")?.served.length === 2,
        ),
      60_000,
    );
  });

  afterAll(async () => {
    await members.stopAll();
    await writer?.stop();
    await registry?.stop();
  });

  /** Moves one cent... to a hundred from an order of one member's partitions to one of the other's. */
  const transfer = async (step: number): Promise<void> => {
    const mine = new Set(a.engine.ownership("m2o")?.owned ?? []);
    const ids = [...totals.keys()];
    const side = (id: number): boolean => mine.has(writer.partitionOfRow("orders", { id: BigInt(id) }));
    const from = ids.filter(side)[step % ids.filter(side).length]!;
    const to = ids.filter((id) => !side(id))[(step * 7) % ids.filter((id) => !side(id)).length]!;
    const amount = 1 + (step % 100);
    const row = (id: number, total: number): Record<string, unknown> => ({
      id: BigInt(id),
      customer_id: 1n,
      status: "paid",
      total: (total / 100).toFixed(2),
    });
    const before = [row(from, totals.get(from)!), row(to, totals.get(to)!)];
    totals.set(from, totals.get(from)! - amount);
    totals.set(to, totals.get(to)! + amount);
    await writer.transaction([
      { table: "orders", op: "u", before: before[0]!, after: row(from, totals.get(from)!) },
      { table: "orders", op: "u", before: before[1]!, after: row(to, totals.get(to)!) },
    ]);
  };

  const page = async (consistent: boolean): Promise<{ sum: number; rows: number; ms: number }> => {
    const started = performance.now();
    const res = await fetch(`${a.url}/v1/views/m2o/rows?limit=1000&consistent=${consistent}`, {
      headers: authHeaders(),
    });
    const ms = performance.now() - started;
    const body = (await res.json()) as { rows: { total: string }[] };
    expect(res.status, JSON.stringify(body)).toBe(200);
    return { sum: body.rows.reduce((s, r) => s + cents(r.total), 0), rows: body.rows.length, ms };
  };

  it("shows every member at the same transaction while transactions stream across them", async () => {
    const want = ORDERS * 10_000;
    let writing = true;
    let transferred = 0;
    const writes = (async () => {
      for (let step = 0; writing; step++) {
        await transfer(step);
        transferred++;
      }
    })();
    const consistent: number[] = [];
    const plain: number[] = [];
    let mixed = 0;
    try {
      // Let the stream get going on both members first.
      await waitFor(() => transferred >= 20, { what: "20 transfers written", timeoutMs: 30_000 });
      for (let i = 0; i < 40; i++) {
        const c = await page(true);
        expect(c.rows).toBe(ORDERS);
        expect(c.sum, `consistent page ${i}`).toBe(want);
        consistent.push(c.ms);
        const p = await page(false);
        expect(p.rows).toBe(ORDERS);
        if (p.sum !== want) mixed++;
        plain.push(p.ms);
      }
    } finally {
      writing = false;
      await writes;
    }
    const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0;
    console.log(
      `consistent page median ${median(consistent).toFixed(1)} ms, plain merged page ${median(plain).toFixed(1)} ms (${(median(consistent) / median(plain)).toFixed(2)}×); plain pages with members at different transactions: ${mixed} of ${plain.length}`,
    );
    // Once the stream stops, every member reaches the last transaction and both kinds agree.
    await waitFor(async () => (await page(false)).sum === want, 30_000);
    expect((await page(true)).sum).toBe(want);
  }, 120_000);

  it("releases its holds: the members keep applying after consistent pages", async () => {
    await page(true);
    await transfer(1);
    const [from] = [...totals.entries()].find(([, t]) => t !== 10_000) ?? [];
    await waitFor(async () => {
      const res = await fetch(`${a.url}/v1/views/m2o/rows/${from}`, { headers: authHeaders() });
      const row = (await res.json()) as { total?: string };
      return cents(row.total) === totals.get(from!);
    }, 10_000);
  });
});
