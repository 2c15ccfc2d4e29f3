// The catalog on the real Kafka of the local stack: two processes agree, and a restart loses nothing.
import { afterAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../lib/logger.ts";
import { kafka, uniqueName } from "../../test/support/stack.ts";
import { waitFor } from "../../test/support/wait.ts";
import { Catalog } from "./catalog.ts";
import { KafkaCatalogLog } from "./kafka-log.ts";
import { sourceRecord, viewRecord } from "./records-fixture.ts";

const topic = uniqueName("_mesh_catalog_test");
const open: Catalog[] = [];
const client = kafka();

async function startCatalog(): Promise<Catalog> {
  // Each catalog its own client, as each process has.
  const catalog = new Catalog(new KafkaCatalogLog({ kafka: kafka(), logger: silentLogger(), topic }));
  await catalog.start();
  open.push(catalog);
  return catalog;
}

afterAll(async () => {
  await Promise.all(open.map((c) => c.stop()));
  await client.admin().deleteTopics([topic]);
});

describe("catalog on Kafka", () => {
  it("creates a compacted one-partition topic; two processes agree; the race loser gets 409; a restart loses nothing", async () => {
    const a = await startCatalog();
    const b = await startCatalog();

    const admin = client.admin();
    expect((await admin.partitionCounts([topic])).get(topic)).toBe(1);
    expect(await admin.topicConfig(topic, ["cleanup.policy"])).toEqual({ "cleanup.policy": "compact" });

    await a.putSource(sourceRecord("orders-db", "orders", ["public.orders", "public.items"], "orders"));
    // Written before the answer, and b tails it.
    await waitFor(() => b.source("orders-db") !== undefined);
    await expect(
      b.putSource(sourceRecord("thief", "billing", ["public.items"], "orders")),
    ).rejects.toMatchObject({
      code: "MESH_TABLE_OWNED",
      details: { owner: "orders" },
    });

    // Both race for the same table: exactly one wins, and both processes see the same winner.
    const race = await Promise.allSettled([
      a.putSource(sourceRecord("cust-a", "customers", ["public.customers"], "customers")),
      b.putSource(sourceRecord("cust-b", "crm", ["public.customers"], "customers")),
    ]);
    expect(race.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const rejected = race.find((r) => r.status === "rejected");
    expect((rejected as PromiseRejectedResult).reason).toMatchObject({ code: "MESH_TABLE_OWNED" });
    await waitFor(() => a.sources().length === 2 && b.sources().length === 2);
    expect(a.sources().map((s) => s.name)).toEqual(b.sources().map((s) => s.name));

    await b.putView(viewRecord("order_details"));
    const paused = { ...a.source("orders-db")!, paused: true };
    await a.putSource(paused);
    await a.putView(viewRecord("gone"));
    await a.deleteView("gone");

    // Restart: a new process replays the topic and has everything.
    await a.stop();
    const c = await startCatalog();
    expect(c.sources().map((s) => s.name)).toEqual(b.sources().map((s) => s.name));
    expect(c.source("orders-db")?.paused).toBe(true);
    expect(c.views().map((v) => v.name)).toEqual(["order_details"]);
    expect(c.tables().get("postgres://127.0.0.1:5432/orders/public.items")?.owner).toBe("orders");
  });
});
