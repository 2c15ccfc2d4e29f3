// The API's embedded engine as a member of a split-view group (what `mesh up --materializer-group` starts):
// it advertises the API's own URL, the API's view routes answer other members' forwarded queries
// (`x-mesh-local: 1`) from its partitions only, and a query to either the API or the other member (a
// `mesh materialize --group --listen`) returns every row exactly once.
import { createServer, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../lib/logger.ts";
import type { RunningMaterializer } from "../../materializer/main.ts";
import { compileViewSql } from "../../materializer/sql/compile.ts";
import { CdcWriter } from "../../materializer/test-support/cdc-writer.ts";
import { TestMembers } from "../../materializer/test-support/members.ts";
import { naiveView, norm } from "../../materializer/test-support/naive-view.ts";
import { SHOP_TABLES, ShopWorkload } from "../../materializer/test-support/shop-workload.ts";
import { startRegistry, type RunningRegistry } from "../../registry/server.ts";
import { kafka, kafkaConnection, kafkaEnv, uniqueName } from "../../test/support/stack.ts";
import { parseApiConfig } from "../config.ts";
import { startApi, type RunningApi } from "../service.ts";
import { api, until } from "../e2e/harness.ts";
import { authHeaders, TEST_ADMIN_TOKEN } from "../../test/support/auth.ts";

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe("the API's embedded engine in a split-view group", () => {
  let registry: RunningRegistry;
  let writer: CdcWriter;
  let workload: ShopWorkload;
  let server: RunningApi;
  let embedded: RunningMaterializer;
  let member: RunningMaterializer;
  const members = new TestMembers("mesh-local-answers-");
  const group = uniqueName("grp");
  const catalogTopic = uniqueName("_mesh_catalog_local");
  const view = uniqueName("lv");

  const pages = async (base: string, limit: number): Promise<Record<string, unknown>[]> => {
    const out: Record<string, unknown>[] = [];
    let cursor: string | null = null;
    do {
      const res = await api(
        base,
        "GET",
        `/v1/views/${view}/rows?limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`,
      );
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      out.push(...(res.body.rows as Record<string, unknown>[]));
      cursor = res.body.next as string | null;
    } while (cursor);
    return out;
  };

  beforeAll(async () => {
    registry = await startRegistry({
      adminToken: TEST_ADMIN_TOKEN,
      ...kafkaConnection(),
      port: 0,
      topic: uniqueName("_schemas_local"),
      logger: silentLogger(),
    });
    writer = new CdcWriter({
      kafka: kafka(),
      registryUrl: registry.url,
      source: uniqueName("local"),
      tables: SHOP_TABLES,
      partitions: 4,
    });
    await writer.start();
    workload = new ShopWorkload(5, (t) => writer.topic(t));
    for (const [table, rows] of workload.initial()) await writer.snapshot(table, rows);
    for (let i = 0; i < 40; i++) await writer.transaction(workload.transaction(0));
    const port = await freePort();
    const apiUrl = `http://127.0.0.1:${port}`;
    // As `mesh up --materializer-group` starts it: no catalog of its own (the API's reconciler drives it).
    embedded = await members.start({ registryUrl: registry.url, group, advertise: apiUrl, listen: false });
    const config = parseApiConfig(
      [
        "--port",
        String(port),
        "--catalog-topic",
        catalogTopic,
        "--registry",
        registry.url,
        "--data-dir",
        await members.dir(),
        "--connect",
        "false",
      ],
      { ...kafkaEnv(), MESH_ADMIN_TOKEN: TEST_ADMIN_TOKEN },
    );
    server = await startApi(config, { logger: silentLogger(), viewEngine: embedded.engine });
    member = await members.start({ registryUrl: registry.url, catalogTopic, group });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await members.stopAll();
    await writer?.stop();
    await registry?.stop();
  });

  it("answers every row once through the API and the other member, and forwarded queries locally", async () => {
    const sql = `CREATE VIEW ${view} AS SELECT o.id, o.total, c.name AS customer FROM ${writer.topic("orders")} o LEFT JOIN ${writer.topic("customers")} c ON o.customer_id = c.id`;
    const created = await api(server.url, "POST", "/v1/views", { sql });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await until(
      "both members own two partitions each",
      () =>
        Promise.resolve(
          [embedded, member].every(
            (m) =>
              m.engine.listViews().some((v) => v.name === view) &&
              m.engine.ownership(view)?.served.length === 2,
          ),
        ),
      60_000,
    );
    const members = await embedded.engine.members(view);
    expect(members.map((m) => m.url).sort()).toEqual([server.url, member.url].sort());

    const want = naiveView(compileViewSql(sql, { tables: writer.tableInfos() }), workload.tables);
    for (const base of [server.url, member.url!]) {
      await until("every row is served", async () => (await pages(base, 1000)).length === want.size, 30_000);
      const ids = (await pages(base, 9)).map((r) => norm(Number(r.id)));
      expect(new Set(ids).size).toBe(ids.length);
      expect(new Set(ids)).toEqual(new Set(want.keys()));
    }

    // A forwarded query to the API: only the embedded engine's partitions, with the covered partitions named.
    const res = await fetch(`${server.url}/v1/views/${view}/rows?limit=1000`, {
      headers: { ...authHeaders(), "x-mesh-local": "1" },
    });
    expect(res.status).toBe(200);
    const served = embedded.engine.ownership(view)?.served ?? [];
    expect(res.headers.get("x-mesh-served")).toBe(served.join(","));
    const page = (await res.json()) as { rows: { id: string }[]; positions: string[] };
    expect(page.rows.length).toBeGreaterThan(0);
    expect(page.rows.length).toBeLessThan(want.size);
    expect(page.positions.length).toBe(page.rows.length);
    for (const r of page.rows)
      expect(served).toContain(writer.partitionOfRow("orders", { id: BigInt(r.id) }));
    // A key the other member owns is not found locally, but is through the API's normal route.
    const theirs = [...want.keys()].find(
      (id) => !served.includes(writer.partitionOfRow("orders", { id: BigInt(id.slice(1)) })),
    )!;
    const local = await fetch(`${server.url}/v1/views/${view}/rows/${theirs.slice(1)}`, {
      headers: { ...authHeaders(), "x-mesh-local": "1" },
    });
    expect(local.status).toBe(404);
    const routed = await api(server.url, "GET", `/v1/views/${view}/rows/${theirs.slice(1)}`);
    expect(routed.status).toBe(200);
    expect(String(routed.body.id)).toBe(theirs.slice(1));
  }, 180_000);
});
