// A view reading records whose schemas it cannot fetch (the registry is down) neither fails nor parks them:
// its reading stops at the first such record, restarts from the positions stored in LevelDB with a backoff,
// and once the registry answers again it converges exactly (nothing skipped, nothing applied twice).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../lib/logger.ts";
import { silentLogger } from "../lib/logger.ts";
import { startRegistry, type RunningRegistry } from "../registry/server.ts";
import { kafka, kafkaConnection, uniqueName } from "../test/support/stack.ts";
import type { MaterializerEngine } from "./engine.ts";
import { CdcWriter } from "./test-support/cdc-writer.ts";
import { openTestDb, startTestEngine, type TestDb } from "./test-support/engine-setup.ts";
import { SHOP_TABLES } from "./test-support/shop-workload.ts";
import { waitFor } from "./test-support/view-assert.ts";
import { TEST_ADMIN_TOKEN } from "../test/support/auth.ts";

describe("a registry outage while a view reads", () => {
  const topic = uniqueName("_schemas_outage");
  let registry: RunningRegistry | undefined;
  let store: TestDb | undefined;
  let engine: MaterializerEngine | undefined;
  let writer: CdcWriter;
  const warnings: string[] = [];
  const logger = createLogger({
    level: "warn",
    destination: { write: (line: string) => void warnings.push(line) },
  });

  const startOn = (port: number): Promise<RunningRegistry> =>
    startRegistry({
      adminToken: TEST_ADMIN_TOKEN,
      ...kafkaConnection(),
      port,
      topic,
      logger: silentLogger(),
    });

  beforeAll(async () => {
    registry = await startOn(0);
    store = await openTestDb({ name: "outage" });
    writer = new CdcWriter({
      kafka: kafka(),
      registryUrl: registry.url,
      source: uniqueName("outage"),
      tables: SHOP_TABLES,
    });
    await writer.start();
    await writer.snapshot(
      "customers",
      Array.from({ length: 50 }, (_, i) => ({ id: i, name: `c${i}`, region: "eu" })),
    );
  });

  afterAll(async () => {
    await engine?.stop();
    await writer?.stop();
    await store?.remove();
    await registry?.stop();
  });

  it("restarts from the stored positions until the registry answers, then converges exactly", async () => {
    const db = store!.db;
    engine = await startTestEngine(db, registry!.url);
    await engine.createView("CREATE VIEW names AS SELECT id, name FROM customers");
    await waitFor(() => engine!.getView("names").status.state === "ready");
    await engine.stop();

    // Written while no engine runs; a new engine has fetched no schema yet, so it needs the registry.
    for (let i = 0; i < 20; i++) {
      await writer.transaction([
        { table: "customers", op: "u", after: { id: i, name: `renamed${i}`, region: "eu" } },
        { table: "customers", op: "c", after: { id: 100 + i, name: `new${i}`, region: "us" } },
      ]);
    }
    const port = Number(new URL(registry!.url).port);
    await registry!.stop();
    registry = undefined;

    engine = await startTestEngine(db, `http://127.0.0.1:${port}`, { logger });
    const restarts = (): number => warnings.filter((l) => l.includes("restarting from the stored")).length;
    await waitFor(() => restarts() >= 2, 30_000);
    expect(engine.getView("names").status).toMatchObject({ state: "backfilling", parked: [], error: null });

    registry = await startOn(port);
    await waitFor(() => engine!.getView("names").status.state === "ready", 60_000);
    const rows = (await engine.queryRows("names", { limit: 1000 })).rows.map((r) => r.row);
    const expected = [
      ...Array.from({ length: 50 }, (_, i) => ({ id: i, name: i < 20 ? `renamed${i}` : `c${i}` })),
      ...Array.from({ length: 20 }, (_, i) => ({ id: 100 + i, name: `new${i}` })),
    ];
    expect(rows).toEqual(expected);
    expect(engine.getView("names").status).toMatchObject({ rows: 70, parked: [], error: null });
  });
});
