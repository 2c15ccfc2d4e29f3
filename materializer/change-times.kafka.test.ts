// A view's change stream started at a time (docs/api.md, `from=<ISO time>`): it begins at the first change
// applied at or after the time, a time newer than every change waits for the next one, and a time older
// than the oldest change kept (the feed is trimmed to its retention) starts at the oldest kept change with
// an `event: notice` first. Read through EngineViews, which the API and `mesh materialize --listen` serve.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { changesFrom } from "../lib/http/change-start.ts";
import { ManualClock } from "../lib/clock.ts";
import type { RunningRegistry } from "../registry/server.ts";
import { kafka, uniqueName } from "../test/support/stack.ts";
import type { ViewChange } from "./contract.ts";
import { EngineViews } from "./engine-views.ts";
import type { MaterializerEngine } from "./engine.ts";
import type { Db } from "./engine/reader.ts";
import { CdcWriter } from "./test-support/cdc-writer.ts";
import { openTestDb, startTestEngine, startTestRegistry, type TestDb } from "./test-support/engine-setup.ts";
import { waitFor } from "./test-support/view-assert.ts";
import { SHOP_TABLES } from "./test-support/shop-workload.ts";

describe("view change streams from a time", () => {
  let registry: RunningRegistry;
  let store: TestDb | undefined;
  let db: Db;
  let engine: MaterializerEngine;
  let views: EngineViews;
  let writer: CdcWriter;
  const view = uniqueName("times").replace(/[^A-Za-z0-9_]/g, "_");
  /** Stamps the feed's entries: the test moves it between the first and the second batch of changes. */
  const clock = new ManualClock(Date.now());
  /** Between the first and the second batch of changes. */
  let between = 0;

  /** The first `n` events of a stream starting at `from`. */
  const first = async (from: string, n: number, more?: () => Promise<void>): Promise<ViewChange[]> => {
    const ac = new AbortController();
    const opened = await views.openChanges(view, from, ac.signal);
    const out: ViewChange[] = [];
    const timer = setTimeout(() => ac.abort(), 20_000);
    if (more) void more();
    for await (const e of opened.events) {
      out.push(e);
      if (out.length === n) break;
    }
    clearTimeout(timer);
    ac.abort();
    return out;
  };
  const head = async (): Promise<number> => (await engine.changeStart(view, Number.MAX_SAFE_INTEGER)).after;

  beforeAll(async () => {
    registry = await startTestRegistry("times");
    store = await openTestDb({ name: "times" });
    db = store.db;
    writer = new CdcWriter({
      kafka: kafka(),
      registryUrl: registry.url,
      source: uniqueName("times"),
      tables: SHOP_TABLES,
    });
    await writer.start();
    await writer.snapshot("orders", [{ id: 0n, customer_id: 1n, status: "new", total: "1.00" }]);
    // A small retention: the 1000th change trims the feed to its newest 100 (engine.ts).
    engine = await startTestEngine(db, registry.url, { changeRetention: 100, now: () => clock.now() });
    views = new EngineViews(engine);
    await engine.createView(`CREATE VIEW ${view} AS SELECT id, status FROM orders`);
    await waitFor(() => engine.getView(view).status.state === "ready");
    const ids = Array.from({ length: 1000 }, (_v, i) => BigInt(i + 1));
    await writer.transaction(
      ids.map((id) => ({
        table: "orders",
        op: "c" as const,
        after: { id, customer_id: 1n, status: "new", total: "1.00" },
      })),
    );
    await waitFor(async () => (await head()) === 1000);
    await waitFor(async () => (await engine.changeStart(view, 0)).trimmed !== null);
    clock.advance(30);
    between = clock.now();
    clock.advance(30);
    await writer.transaction(
      [1n, 2n, 3n].map((id) => ({
        table: "orders",
        op: "u" as const,
        before: { id, customer_id: 1n, status: "new", total: "1.00" },
        after: { id, customer_id: 1n, status: "paid", total: "1.00" },
      })),
    );
    await waitFor(async () => (await head()) === 1003);
  }, 120_000);

  afterAll(async () => {
    await engine?.stop();
    await writer?.stop();
    await store?.remove();
    await registry?.stop();
  });

  it("starts at the first change applied at or after the time, each change saying when it was applied", async () => {
    const events = await first(new Date(between).toISOString(), 3);
    expect(events.map((e) => e.id)).toEqual(["1001", "1002", "1003"]);
    for (const e of events) {
      expect(e.event ?? "change").toBe("change");
      const data = e.data as { op: string; after: { status: string }; at: string };
      expect(data.op).toBe("update");
      expect(data.after.status).toBe("paid");
      expect(Date.parse(data.at)).toBeGreaterThanOrEqual(between);
    }
    // The change just before the time was applied before it.
    const before = await first("999", 1);
    expect(before[0]?.id).toBe("1000");
    expect(Date.parse((before[0]?.data as { at: string }).at)).toBeLessThan(between);
  }, 60_000);

  it("a time newer than every change waits for the next one", async () => {
    // Written once the stream is open: openChanges resolves its start before it returns.
    const events = await first(new Date(clock.now() + 60_000).toISOString(), 1, async () => {
      await writer.transaction([
        {
          table: "orders",
          op: "u",
          before: { id: 4n, customer_id: 1n, status: "new", total: "1.00" },
          after: { id: 4n, customer_id: 1n, status: "shipped", total: "1.00" },
        },
      ]);
    });
    expect(events[0]?.id).toBe("1004");
    expect((events[0]?.data as { after: { status: string } }).after.status).toBe("shipped");
  }, 60_000);

  it("a time older than the oldest change kept starts there, with a notice first", async () => {
    const { trimmed } = await engine.changeStart(view, 0);
    const oldest = trimmed?.oldest ?? 0;
    expect(oldest).toBeGreaterThan(1); // changes 1.. were trimmed
    expect(oldest).toBeLessThanOrEqual(901);
    const [notice, change] = await first("2020-01-01T00:00:00Z", 2);
    expect(notice?.event).toBe("notice");
    expect(notice?.id).toBe(String(oldest - 1));
    expect(notice?.data).toMatchObject({
      notice: "trimmed",
      from: "2020-01-01T00:00:00Z",
      oldestId: String(oldest),
    });
    expect(change?.id).toBe(String(oldest));
    // A time within what is kept says nothing.
    const [plain] = await first(new Date(between).toISOString(), 1);
    expect(plain?.event ?? "change").toBe("change");
  }, 60_000);

  it("refuses a `from` that is neither a keyword, an id nor a time before streaming", async () => {
    expect(changesFrom("2026-11-27T17:00:00Z", undefined)).toBe("2026-11-27T17:00:00Z");
    expect(() => changesFrom("2026-13-45Tnope", undefined)).toThrow(/ISO-8601/);
    expect(() => changesFrom("yesterday", undefined)).toThrow(/ISO-8601/);
    await expect(views.openChanges(view, "soon", new AbortController().signal)).rejects.toMatchObject({
      code: "MESH_BAD_QUERY",
    });
  });
});
