// Exact after any crash: `mesh materialize` (materializer/main.ts) runs as a child process over one LevelDB
// directory while a workload of transactions flows, and is SIGKILLed at random moments (6 times) and
// restarted. Afterwards the views, resumed from their stored offsets, must equal the oracle row by row.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../lib/logger.ts";
import { startRegistry, type RunningRegistry } from "../registry/server.ts";
import { kafka, kafkaConnection, stackEnv, uniqueName } from "../test/support/stack.ts";
import { MaterializerEngine } from "./engine.ts";
import type { Db } from "./engine/reader.ts";
import { Layout, TAG } from "./engine/layout.ts";
import { parseStored } from "./kafka/reading.ts";
import { RegistryClient } from "../lib/registry-client.ts";
import { CdcWriter } from "./test-support/cdc-writer.ts";
import { spawnMember, type KillableMember } from "./test-support/killable-member.ts";
import { rng, SHOP_TABLES, ShopWorkload } from "./test-support/shop-workload.ts";
import { expectSettled, waitFor } from "./test-support/view-assert.ts";
import { TEST_ADMIN_TOKEN } from "../test/support/auth.ts";

const VIEWS = [
  "CREATE VIEW m2o AS SELECT o.id, o.total, c.name AS customer FROM orders o LEFT JOIN customers c ON o.customer_id = c.id",
  "CREATE VIEW o2m AS SELECT c.id AS cid, c.region, o.id AS oid, o.status FROM customers c LEFT JOIN orders o ON o.customer_id = c.id",
  `CREATE VIEW chain AS SELECT o.id AS oid, c.name AS customer, i.line, i.qty, p.name AS product
     FROM orders o JOIN customers c ON c.id = o.customer_id
     LEFT JOIN order_items i ON i.order_id = o.id
     LEFT JOIN products p ON p.id = i.product_id`,
];

describe("materializer killed with SIGKILL and restarted", () => {
  let registry: RunningRegistry;
  let dir: string;
  let writer: CdcWriter;
  const started = Date.now();

  beforeAll(async () => {
    registry = await startRegistry({
      adminToken: TEST_ADMIN_TOKEN,
      ...kafkaConnection(),
      port: 0,
      topic: uniqueName("_schemas_crash"),
      logger: silentLogger(),
    });
    dir = await mkdtemp(join(tmpdir(), "mesh-crash-"));
    writer = new CdcWriter({
      kafka: kafka(),
      registryUrl: registry.url,
      source: uniqueName("crash"),
      tables: SHOP_TABLES,
    });
    await writer.start();
  });

  afterAll(async () => {
    await writer?.stop();
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
    console.log(`crash.kafka.test.ts took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  function child(): KillableMember {
    const args = [
      "--brokers",
      stackEnv().MESH_KAFKA_BROKERS,
      "--registry",
      registry.url,
      "--data-dir",
      dir,
      "--catalog-topic",
      "off",
    ];
    for (const v of VIEWS) args.push("--view", v);
    return spawnMember(args);
  }

  it("converges to exactly the source's state after 6 SIGKILLs", async () => {
    const workload = new ShopWorkload(9, (t) => writer.topic(t));
    for (const [table, rows] of workload.initial()) await writer.snapshot(table, rows);
    const r = rng(77);
    let kills = 0;
    const progress: number[] = [];
    // How far the chain view had consumed (sum of its stored offsets) when the killed process stopped.
    const appliedChanges = async (): Promise<number> => {
      const db: Db = new ClassicLevel<Buffer, Buffer>(dir, {
        keyEncoding: "buffer",
        valueEncoding: "buffer",
      });
      await db.open();
      try {
        let sum = 0;
        for await (const v of db.values(Layout.range(new Layout("chain").section(TAG.O))))
          sum += Number(parseStored(v, 0n).offset);
        return sum;
      } finally {
        await db.close();
      }
    };
    for (let round = 0; round < 6; round++) {
      const { proc, running, exited } = child();
      // Write while the child backfills / applies, and kill it at a random point of that (counted from the
      // child's start, so a slow start on a busy machine cannot make the kill land before any work).
      const killAfter = 1000 + Math.floor(r() * 4000);
      let killed = false;
      const writing = (async () => {
        while (!killed) await writer.transaction(workload.transaction(0.01));
      })();
      await running;
      await new Promise((res) => setTimeout(res, killAfter));
      proc.kill("SIGKILL");
      killed = true;
      expect(await exited).toBe("SIGKILL");
      kills++;
      await writing;
      progress.push(await appliedChanges());
    }
    expect(kills).toBeGreaterThanOrEqual(5);
    // The kills landed while the views were working: their stored state moved between most kills.
    const moved = progress.filter((p, i) => i > 0 && p > (progress[i - 1] ?? 0)).length;
    expect(moved, `chain's consumed offsets after each kill: ${progress.join(", ")}`).toBeGreaterThanOrEqual(
      3,
    );

    // Resume in this process from what the killed processes stored, and compare with the oracle.
    const db: Db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
    await db.open();
    const engine = new MaterializerEngine({
      db,
      kafka: kafka(),
      registry: new RegistryClient({ token: TEST_ADMIN_TOKEN, url: registry.url }),
      logger: silentLogger(),
    });
    try {
      await engine.start();
      expect(
        engine
          .listViews()
          .map((v) => v.name)
          .sort(),
      ).toEqual(["chain", "m2o", "o2m"]);
      await waitFor(() => engine.listViews().every((v) => v.status.state === "ready"), 60_000);
      for (const sql of VIEWS) await expectSettled(engine, sql, [writer], workload.tables);
    } finally {
      await engine.stop();
      await db.close();
    }
  });
});
