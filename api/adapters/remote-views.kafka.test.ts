// `mesh api --materializer URL,URL` in front of two `mesh materialize --group --listen` members (both started
// as the CLI starts them): POST /v1/views through the API creates the view on the members (they follow the
// API's catalog), every row comes back exactly once across pages, point lookups find keys either member
// owns, GET /v1/views/{name} shows the members' status, and /readyz names a member that stopped.
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
import { TEST_ADMIN_TOKEN } from "../../test/support/auth.ts";

describe("mesh api --materializer (views answered by split mesh materialize members)", () => {
  let registry: RunningRegistry;
  let writer: CdcWriter;
  let workload: ShopWorkload;
  let server: RunningApi;
  const members = new TestMembers("mesh-remote-views-");
  const procs = members.started;
  const group = uniqueName("grp");
  const catalogTopic = uniqueName("_mesh_catalog_remote");
  const view = uniqueName("rv");

  const startMember = (): Promise<RunningMaterializer> =>
    members.start({ registryUrl: registry.url, catalogTopic, group });

  const sql = (): string =>
    `CREATE VIEW ${view} AS SELECT o.id, o.total, o.status, c.name AS customer FROM ${writer.topic("orders")} o LEFT JOIN ${writer.topic("customers")} c ON o.customer_id = c.id`;

  /** Every row through the API, in pages of `limit`. */
  const pages = async (limit: number): Promise<Record<string, unknown>[]> => {
    const out: Record<string, unknown>[] = [];
    let cursor: string | null = null;
    do {
      const res = await api(
        server.url,
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
      topic: uniqueName("_schemas_remote"),
      logger: silentLogger(),
    });
    writer = new CdcWriter({
      kafka: kafka(),
      registryUrl: registry.url,
      source: uniqueName("remote"),
      tables: SHOP_TABLES,
      partitions: 4,
    });
    await writer.start();
    workload = new ShopWorkload(7, (t) => writer.topic(t));
    for (const [table, rows] of workload.initial()) await writer.snapshot(table, rows);
    for (let i = 0; i < 60; i++) await writer.transaction(workload.transaction(0));
    const a = await startMember();
    const b = await startMember();
    const dataDir = await members.dir();
    const config = parseApiConfig(
      [
        "--port",
        "0",
        "--catalog-topic",
        catalogTopic,
        "--registry",
        registry.url,
        "--data-dir",
        dataDir,
        "--connect",
        "false",
        "--materializer",
        `${a.url},${b.url}`,
      ],
      { ...kafkaEnv(), MESH_ADMIN_TOKEN: TEST_ADMIN_TOKEN },
    );
    server = await startApi(config, { logger: silentLogger() });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await members.stopAll();
    await writer?.stop();
    await registry?.stop();
  });

  it("refuses SQL the members could not compile before writing the catalog", async () => {
    const bad = await api(server.url, "POST", "/v1/views", {
      sql: `CREATE VIEW ${view}_bad AS SELECT nope FROM ${writer.topic("orders")}`,
    });
    expect(bad.status).toBe(422);
    expect(bad.body.code).toBe("MESH_BAD_SQL");
    expect((await api(server.url, "GET", `/v1/views/${view}_bad`)).status).toBe(404);
  });

  it("creates the view on the members and answers every row once, and lookups either member owns", async () => {
    const created = await api(server.url, "POST", "/v1/views", { sql: sql() });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const [a, b] = procs.map((p) => p.m);
    await until(
      "both members split the view",
      () =>
        Promise.resolve(
          [a!, b!].every(
            (m) =>
              m.engine.listViews().some((v) => v.name === view) &&
              m.engine.ownership(view)?.served.length === 2,
          ),
        ),
      60_000,
    );
    const status = await until(
      "the view is ready through the API",
      async () => {
        const res = await api(server.url, "GET", `/v1/views/${view}`);
        return (res.body.status as { state: string } | undefined)?.state === "ready" ? res.body : null;
      },
      60_000,
    );
    expect(status.columns).toEqual(["id", "total", "status", "customer"]);
    expect(status.key).toEqual(["id"]);

    const want = naiveView(compileViewSql(sql(), { tables: writer.tableInfos() }), workload.tables);
    await until("every row is served", async () => (await pages(1000)).length === want.size, 30_000);
    const all = await pages(1000);
    for (const limit of [7, 1000]) {
      const rows = await pages(limit);
      const ids = rows.map((r) => norm(Number(r.id)));
      expect(new Set(ids).size).toBe(ids.length); // exactly once
      expect(new Set(ids)).toEqual(new Set(want.keys()));
    }
    expect(all.length).toBe(want.size);

    // Keys of both members' partitions, looked up through the API.
    const owners = new Set<number>();
    for (const id of [...want.keys()].slice(0, 16)) {
      const key = id.slice(1);
      owners.add(writer.partitionOfRow("orders", { id: BigInt(key) }));
      const res = await api(server.url, "GET", `/v1/views/${view}/rows/${key}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(String(res.body.id)).toBe(key);
      expect(Number(res.body.total)).toBe(Number(want.get(id)?.total));
    }
    const ownedBy = (m: RunningMaterializer): number[] => m.engine.ownership(view)?.owned ?? [];
    expect([...owners].some((p) => ownedBy(a!).includes(p))).toBe(true);
    expect([...owners].some((p) => ownedBy(b!).includes(p))).toBe(true);
    const missing = await api(server.url, "GET", `/v1/views/${view}/rows/99999999`);
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe("MESH_NOT_FOUND");
  }, 180_000);

  it("is ready with both members, and /readyz names the member that stopped", async () => {
    const ready = await api(server.url, "GET", "/readyz");
    expect(ready.status, JSON.stringify(ready.body)).toBe(200);
    const names = (ready.body.checks as { name: string }[]).map((c) => c.name);
    for (const p of procs) expect(names).toContain(`materializer ${p.m.url}`);

    const stopped = procs[1]!.m;
    await stopped.stop();
    const res = await api(server.url, "GET", "/readyz");
    expect(res.status).toBe(503);
    expect(res.body.code).toBe("MESH_NOT_READY");
    expect(res.body.message).toContain(`materializer ${stopped.url}`);
    expect(res.body.message).not.toContain(`materializer ${procs[0]!.m.url}`);
  }, 60_000);

  it("drops the view on the members when DELETE /v1/views goes through the API", async () => {
    const res = await api(server.url, "DELETE", `/v1/views/${view}`);
    expect(res.status).toBe(200);
    const alive = procs[0]!.m;
    await until(
      "the member drops it",
      () => Promise.resolve(!alive.engine.listViews().some((v) => v.name === view)),
      30_000,
    );
    const gone = await api(server.url, "GET", `/v1/views/${view}/rows`);
    expect(gone.status).toBe(404);
  }, 60_000);
});
