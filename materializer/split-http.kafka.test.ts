// `mesh materialize` processes in one group (startMaterializer, as the CLI runs it): views come from the
// control-plane catalog topic, each process serves its partitions over HTTP, and a query to any of them is
// forwarded to every member and merged: every row exactly once, point lookups of keys another member owns,
// cursor pages across members, 503 MESH_UNAVAILABLE when a member does not answer.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { viewKey, type CatalogRecord, type ViewRecord } from "../protocol/catalog.ts";
import { silentLogger } from "../lib/logger.ts";
import { startRegistry, type RunningRegistry } from "../registry/server.ts";
import { kafka, kafkaConnection, uniqueName } from "../test/support/stack.ts";
import type { RunningMaterializer } from "./main.ts";
import { compileViewSql } from "./sql/compile.ts";
import { forwardRows } from "./split-query.ts";
import { CdcWriter } from "./test-support/cdc-writer.ts";
import { TestMembers } from "./test-support/members.ts";
import { naiveView, norm } from "./test-support/naive-view.ts";
import { waitFor } from "./test-support/view-assert.ts";
import { SHOP_TABLES, ShopWorkload } from "./test-support/shop-workload.ts";
import { authHeaders, TEST_ADMIN_TOKEN } from "../test/support/auth.ts";

const M2O =
  "CREATE VIEW m2o AS SELECT o.id, o.total, o.status, c.name AS customer FROM orders o LEFT JOIN customers c ON o.customer_id = c.id; CREATE INDEX ON m2o (status)";

describe("split views over HTTP (mesh materialize --group --listen)", () => {
  let registry: RunningRegistry;
  let writer: CdcWriter;
  let workload: ShopWorkload;
  const members = new TestMembers("mesh-split-http-");
  const procs = members.started;
  const k = kafka();
  /** Writes the catalog as the API does (api/catalog/kafka-log.ts): JSON records on partition 0. */
  const appendCatalog = async (key: string, value: CatalogRecord | null): Promise<void> => {
    await k
      .producer()
      .send([
        { topic: catalogTopic, key, value: value === null ? null : JSON.stringify(value), partition: 0 },
      ]);
  };
  const group = uniqueName("grp");
  const catalogTopic = uniqueName("_mesh_catalog_split");

  const startProc = (): Promise<RunningMaterializer> =>
    members.start({ registryUrl: registry.url, catalogTopic, group });

  /** The shapes these routes answer with (a page, a row, members, an error). */
  interface Body {
    rows: Record<string, unknown>[];
    next: string | null;
    split: boolean;
    members: { url: string }[];
    id: unknown;
    code: string;
  }
  const get = async (base: string, path: string): Promise<{ status: number; body: Body }> => {
    const res = await fetch(`${base}${path}`, { headers: authHeaders() });
    return { status: res.status, body: (await res.json()) as Body };
  };

  /** Every row of m2o through one process's HTTP, in pages of `limit`. */
  const pages = async (base: string, limit: number, order = ""): Promise<Record<string, unknown>[]> => {
    const out: Record<string, unknown>[] = [];
    let cursor: string | null = null;
    do {
      const qs = `limit=${limit}${order}${cursor ? `&cursor=${cursor}` : ""}`;
      const { status, body } = await get(base, `/v1/views/m2o/rows?${qs}`);
      expect(status, JSON.stringify(body)).toBe(200);
      out.push(...body.rows);
      cursor = body.next;
    } while (cursor);
    return out;
  };

  const expected = (): Map<string, Record<string, unknown>> =>
    naiveView(compileViewSql(M2O.split(";")[0]!, { tables: writer.tableInfos() }), workload.tables);

  beforeAll(async () => {
    registry = await startRegistry({
      adminToken: TEST_ADMIN_TOKEN,
      ...kafkaConnection(),
      port: 0,
      topic: uniqueName("_schemas_splith"),
      logger: silentLogger(),
    });
    writer = new CdcWriter({
      kafka: k,
      registryUrl: registry.url,
      source: uniqueName("splith"),
      tables: SHOP_TABLES,
      partitions: 4,
    });
    await writer.start();
    workload = new ShopWorkload(11, (t) => writer.topic(t));
    for (const [table, rows] of workload.initial()) await writer.snapshot(table, rows);
    await k.admin().ensureTopics([{ topic: catalogTopic, partitions: 1, compact: true }]);
    const sql = M2O.replaceAll(" orders ", ` ${writer.topic("orders")} `).replaceAll(
      " customers ",
      ` ${writer.topic("customers")} `,
    );
    const record: ViewRecord = {
      type: "view",
      id: randomUUID(),
      name: "m2o",
      sql,
      createdAt: new Date().toISOString(),
    };
    await appendCatalog(viewKey("m2o"), record);
  });

  afterAll(async () => {
    await members.stopAll();
    await writer?.stop();
    await registry?.stop();
  });

  it("creates views from the catalog and answers every row exactly once through either member", async () => {
    const a = await startProc();
    const b = await startProc();
    for (let i = 0; i < 80; i++) await writer.transaction(workload.transaction(0));
    await waitFor(() => {
      const served = [a, b].map(
        (p) => p.engine.listViews().length === 1 && p.engine.ownership("m2o")?.served,
      );
      return served.every((s) => s && s.length === 2);
    }, 60_000);
    const want = expected();
    for (const base of [a.url!, b.url!]) {
      await waitFor(async () => (await pages(base, 1000)).length === want.size, 30_000);
      for (const limit of [7, 1000]) {
        const rows = await pages(base, limit);
        const ids = rows.map((r) => norm(Number(r.id)));
        expect(new Set(ids).size).toBe(ids.length); // exactly once
        expect(ids).toEqual([...ids].sort((x, y) => Number(x.slice(1)) - Number(y.slice(1))));
        expect(new Set(ids)).toEqual(new Set(want.keys()));
        for (const r of rows) expect(Number(r.total)).toBe(Number(want.get(norm(Number(r.id)))?.total));
      }
      // Ordered by an index, descending, paged across members.
      const byStatus = await pages(base, 9, "&order=-status");
      expect(byStatus.length).toBe(want.size);
      const statuses = byStatus.map((r) => String(r.status));
      expect(statuses).toEqual([...statuses].sort().reverse());
    }
    // Point lookups of rows owned by either member, through both.
    const members = (await get(a.url!, "/v1/views/m2o/members")).body;
    expect(members.split).toBe(true);
    expect(members.members.map((m) => m.url).sort()).toEqual([a.url, b.url].sort());
    for (const id of [...want.keys()].slice(0, 12)) {
      const key = id.slice(1);
      for (const base of [a.url!, b.url!]) {
        const { status, body } = await get(base, `/v1/views/m2o/rows/${key}`);
        expect(status).toBe(200);
        expect(String(body.id)).toBe(key);
      }
    }
    expect((await get(a.url!, "/v1/views/m2o/rows/99999999")).status).toBe(404);
    // A member's local answer holds only its own partitions.
    const local = await fetch(`${a.url}/v1/views/m2o/rows?limit=1000`, {
      headers: { ...authHeaders(), "x-mesh-local": "1" },
    });
    const localRows = ((await local.json()) as { rows: { id: string }[] }).rows;
    const mine = a.engine.ownership("m2o")?.served ?? [];
    expect(localRows.length).toBeLessThan(want.size);
    for (const r of localRows) expect(mine).toContain(writer.partitionOfRow("orders", { id: BigInt(r.id) }));
  });

  it("answers 503 MESH_UNAVAILABLE naming the view and partitions when a member does not answer", async () => {
    const [a] = procs;
    const members = await a!.m.engine.members("m2o");
    const broken = members.map((m, i) => (i === 0 ? { ...m, url: "http://127.0.0.1:9" } : m));
    const query = { filters: [], limit: 10 };
    await expect(forwardRows("m2o", broken, 4, query)).rejects.toMatchObject({
      code: "MESH_UNAVAILABLE",
      details: { view: "m2o", partitions: members[0]!.partitions },
    });
    await expect(forwardRows("m2o", members.slice(1), 4, query)).rejects.toMatchObject({
      code: "MESH_UNAVAILABLE",
      details: { view: "m2o", partitions: members[0]!.partitions },
    });
  });

  it("drops the view on every member when the catalog deletes it", async () => {
    await appendCatalog(viewKey("m2o"), null);
    await waitFor(() => procs.every((p) => p.m.engine.listViews().length === 0), 30_000);
    expect((await get(procs[0]!.m.url!, "/v1/views/m2o/rows")).body.code).toBe("MESH_NOT_FOUND");
  });
});
