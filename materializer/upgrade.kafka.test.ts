// State written before marker floors existed (stored offsets "<offset>", one marker position per source)
// keeps working: a restarted engine takes the source's marker position as every partition's floor, resumes
// where it was and converges, and from then on stores "<offset>/<floor>".
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningRegistry } from "../registry/server.ts";
import { kafka, uniqueName } from "../test/support/stack.ts";
import type { MaterializerEngine } from "./engine.ts";
import { Layout, TAG } from "./engine/layout.ts";
import type { Db } from "./engine/reader.ts";
import { CdcWriter } from "./test-support/cdc-writer.ts";
import { openTestDb, startTestEngine, startTestRegistry } from "./test-support/engine-setup.ts";
import { expectSettled, waitFor } from "./test-support/view-assert.ts";
import { SHOP_TABLES, ShopWorkload } from "./test-support/shop-workload.ts";

const M2O =
  "CREATE VIEW m2o AS SELECT o.id, o.total, c.name AS customer FROM orders o LEFT JOIN customers c ON o.customer_id = c.id";

describe("stored offsets written before marker floors", () => {
  let registry: RunningRegistry;
  let writer: CdcWriter;
  let dir: string;
  const k = kafka();

  beforeAll(async () => {
    registry = await startTestRegistry("upgrade");
    writer = new CdcWriter({
      kafka: k,
      registryUrl: registry.url,
      source: uniqueName("upg"),
      tables: SHOP_TABLES,
      legacyMarkers: true,
    });
    await writer.start();
    dir = await mkdtemp(join(tmpdir(), "mesh-upgrade-"));
  });

  afterAll(async () => {
    await writer?.stop();
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const open = async (): Promise<{ db: Db; engine: MaterializerEngine }> => {
    // The same dir each time: the engine reopens what the previous one stored.
    const { db } = await openTestDb({ dir });
    return { db, engine: await startTestEngine(db, registry.url) };
  };

  it("resumes from old-format offsets and converges", async () => {
    const workload = new ShopWorkload(5, (t) => writer.topic(t));
    for (const [table, rows] of workload.initial()) await writer.snapshot(table, rows);
    let { db, engine } = await open();
    await engine.createView(M2O);
    for (let i = 0; i < 40; i++) await writer.transaction(workload.transaction(0));
    await expectSettled(engine, M2O, [writer], workload.tables);
    await engine.stop();
    // Rewrite the stored positions as the previous version wrote them: offsets only.
    const section = Layout.range(new Layout("m2o").section(TAG.O));
    let rewritten = 0;
    for await (const [key, value] of db.iterator(section)) {
      expect(value.toString()).toMatch(/^\d+\/\d+$/);
      await db.put(key, Buffer.from(value.toString().split("/")[0]!));
      rewritten++;
    }
    expect(rewritten).toBeGreaterThan(0);
    await db.close();

    ({ db, engine } = await open());
    await waitFor(() => engine.getView("m2o").status.state === "ready");
    for (let i = 0; i < 40; i++) await writer.transaction(workload.transaction(0));
    await expectSettled(engine, M2O, [writer], workload.tables);
    expect(engine.getView("m2o").status.error).toBeNull();
    await engine.stop();
    for await (const value of db.values(section)) expect(value.toString()).toMatch(/^\d+\/\d+$/);
    await db.close();
  });
});
