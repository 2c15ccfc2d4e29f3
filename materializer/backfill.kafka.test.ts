// Backfill gating and the change feed's images on the real stack (Kafka + the schema registry): queries of
// a backfilling view answer MESH_VIEW_NOT_READY unless asked for a stale page, progress moves through the
// backfill, and once live every change carries the row before and after it (docs/views.md).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningRegistry } from "../registry/server.ts";
import { kafka, uniqueName } from "../test/support/stack.ts";
import type { ViewChangeEvent } from "./contract.ts";
import type { MaterializerEngine } from "./engine.ts";
import type { Db } from "./engine/reader.ts";
import { CdcWriter } from "./test-support/cdc-writer.ts";
import { openTestDb, startTestEngine, startTestRegistry, type TestDb } from "./test-support/engine-setup.ts";
import { waitFor } from "./test-support/view-assert.ts";
import { SHOP_TABLES } from "./test-support/shop-workload.ts";

const ORDERS = 30_000;

describe("backfill and change feed on Kafka", () => {
  let registry: RunningRegistry;
  let store: TestDb | undefined;
  let db: Db;
  let engine: MaterializerEngine;
  let writer: CdcWriter;
  const k = kafka();

  beforeAll(async () => {
    registry = await startTestRegistry("backfill");
    store = await openTestDb({ name: "backfill" });
    db = store.db;
    writer = new CdcWriter({
      kafka: k,
      registryUrl: registry.url,
      source: uniqueName("bf"),
      tables: SHOP_TABLES,
    });
    await writer.start();
    await writer.snapshot(
      "orders",
      Array.from({ length: ORDERS }, (_, i) => ({
        id: BigInt(i + 1),
        customer_id: BigInt(i % 40),
        status: "new",
        total: `${i % 500}.25`,
      })),
    );
    engine = await startTestEngine(db, registry.url);
  });

  afterAll(async () => {
    await engine?.stop();
    await writer?.stop();
    await store?.remove();
    await registry?.stop();
  });

  it("refuses queries while backfilling (MESH_VIEW_NOT_READY) unless stale, and reports progress between 0 and 1", async () => {
    await engine.createView("CREATE VIEW orders_v AS SELECT * FROM orders");
    expect(engine.getView("orders_v").status.state).toBe("backfilling");
    await expect(engine.queryRows("orders_v", { limit: 5 })).rejects.toMatchObject({
      code: "MESH_VIEW_NOT_READY",
    });
    await expect(engine.getRow("orders_v", [1])).rejects.toMatchObject({ code: "MESH_VIEW_NOT_READY" });
    const stale = await engine.queryRows("orders_v", { limit: 5, stale: true });
    expect(stale.stale).toBe(true);

    const seen: number[] = [];
    let midStale: boolean | null = null;
    while (engine.getView("orders_v").status.state === "backfilling") {
      const { progress } = engine.getView("orders_v").status;
      seen.push(progress);
      if (progress > 0 && progress < 1 && midStale === null)
        midStale = (await engine.queryRows("orders_v", { limit: 5, stale: true })).stale;
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(engine.getView("orders_v").status).toMatchObject({ state: "ready", progress: 1, rows: ORDERS });
    expect(
      seen.some((p) => p > 0 && p < 1),
      `progress seen: ${[...new Set(seen)].join(", ")}`,
    ).toBe(true);
    // Progress only grows.
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(midStale).toBe(true);
    const page = await engine.queryRows("orders_v", { limit: 5 });
    expect(page.stale).toBe(false);
    expect(page.rows).toHaveLength(5);
  });

  it("feeds each live change with the row before and after it (insert, update, delete)", async () => {
    await waitFor(() => engine.getView("orders_v").status.state === "ready");
    const abort = new AbortController();
    const got: ViewChangeEvent[] = [];
    const reading = (async () => {
      for await (const c of engine.changes("orders_v", -1, abort.signal)) {
        got.push(c);
        if (got.length === 3) abort.abort();
      }
    })().catch(() => undefined);
    const old = (await engine.getRow("orders_v", [7]))!.row;
    expect(old).toMatchObject({ id: 7n, status: "new", total: "6.25" });
    await writer.transaction([
      { table: "orders", op: "c", after: { id: 90_001n, customer_id: 1n, status: "new", total: "1.50" } },
    ]);
    await writer.transaction([
      { table: "orders", op: "u", after: { id: 7n, customer_id: 6n, status: "paid", total: "99.00" } },
    ]);
    await writer.transaction([{ table: "orders", op: "d", before: { id: 8n } }]);
    await waitFor(() => got.length === 3);
    abort.abort();
    await reading;
    expect(got.map((c) => c.op)).toEqual(["insert", "update", "delete"]);
    expect(got[0]).toMatchObject({
      key: [90_001n],
      before: null,
      after: { id: 90_001n, customer_id: 1n, status: "new", total: "1.50" },
    });
    expect(got[1]).toMatchObject({
      key: [7n],
      before: old,
      after: { id: 7n, customer_id: 6n, status: "paid", total: "99.00" },
    });
    expect(got[2]).toMatchObject({
      key: [8n],
      before: { id: 8n, customer_id: 7n, status: "new", total: "7.25" },
      after: null,
    });
    expect(got[1]!.seq).toBeGreaterThan(got[0]!.seq);
  });
});
