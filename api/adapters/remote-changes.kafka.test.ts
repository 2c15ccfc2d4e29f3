// `mesh api --materializer` proxies view change streams and parked retry/skip to real `mesh materialize
// --listen` members: an unsplit view streams from its one member (ids and resume as on the member); a split
// view's two members' streams are merged with composite ids (`<member url>=<seq>,...`) that resume every
// member where it was; parked retry/skip reaches the member holding the key and says what each did.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../lib/logger.ts";
import type { RunningMaterializer } from "../../materializer/main.ts";
import { CdcWriter } from "../../materializer/test-support/cdc-writer.ts";
import { TestMembers } from "../../materializer/test-support/members.ts";
import { SHOP_TABLES } from "../../materializer/test-support/shop-workload.ts";
import { startRegistry, type RunningRegistry } from "../../registry/server.ts";
import { kafka, kafkaConnection, kafkaEnv, uniqueName } from "../../test/support/stack.ts";
import { parseApiConfig } from "../config.ts";
import { startApi, type RunningApi } from "../service.ts";
import { api, until } from "../e2e/harness.ts";
import { authHeaders, TEST_ADMIN_TOKEN } from "../../test/support/auth.ts";

interface Event {
  id: string;
  event: string;
  data: Record<string, unknown>;
}

/** The first `n` events of an SSE stream (fails after 30 s), or its error answer. */
async function events(
  url: string,
  n: number,
  headers: Record<string, string> = {},
): Promise<{ status: number; events: Event[]; body?: Record<string, unknown> }> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 30_000);
  try {
    const res = await fetch(url, {
      headers: { ...authHeaders(), accept: "text/event-stream", ...headers },
      signal: ac.signal,
    });
    if (res.status !== 200)
      return { status: res.status, events: [], body: (await res.json()) as Record<string, unknown> };
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    const out: Event[] = [];
    let buf = "";
    while (out.length < n) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buf.indexOf("\n\n")) >= 0 && out.length < n) {
        const lines = buf.slice(0, end).split("\n");
        buf = buf.slice(end + 2);
        const field = (name: string): string | undefined =>
          lines.find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
        const data = field("data");
        if (data !== undefined)
          out.push({
            id: field("id") ?? "",
            event: field("event") ?? "message",
            data: JSON.parse(data) as Record<string, unknown>,
          });
      }
    }
    return { status: 200, events: out };
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}

describe("mesh api --materializer: view change streams and parked records through the members", () => {
  let registry: RunningRegistry;
  let writer: CdcWriter;
  let split: RunningApi;
  let solo: RunningApi;
  const pool = new TestMembers("mesh-remote-changes-");
  const procs = pool.started;
  const group = uniqueName("grp");
  const splitCatalog = uniqueName("_mesh_catalog_rc");
  const soloCatalog = uniqueName("_mesh_catalog_rc_solo");
  const splitView = uniqueName("rcs");
  const soloView = uniqueName("rcu");
  const order = (id: bigint, status: string) => ({ id, customer_id: 1n, status, total: "1.00" });

  const startMember = (catalogTopic: string, inGroup: boolean): Promise<RunningMaterializer> =>
    pool.start({ registryUrl: registry.url, catalogTopic, ...(inGroup ? { group } : {}) });
  const startFront = async (catalogTopic: string, members: RunningMaterializer[]): Promise<RunningApi> => {
    const dataDir = await pool.dir();
    const config = parseApiConfig(
      [
        ...["--port", "0", "--catalog-topic", catalogTopic, "--registry", registry.url],
        ...["--data-dir", dataDir, "--connect", "false"],
        ...["--materializer", members.map((m) => m.url).join(",")],
      ],
      { ...kafkaEnv(), MESH_ADMIN_TOKEN: TEST_ADMIN_TOKEN },
    );
    return startApi(config, { logger: silentLogger() });
  };
  const ready = (server: RunningApi, view: string): Promise<unknown> =>
    until(
      `${view} is ready through the API`,
      async () => {
        const res = await api(server.url, "GET", `/v1/views/${view}`);
        return (res.body.status as { state: string } | undefined)?.state === "ready";
      },
      60_000,
    );
  const update = (ids: bigint[], status: string): Promise<string> =>
    writer.transaction(
      ids.map((id) => ({
        table: "orders",
        op: "u" as const,
        before: order(id, "new"),
        after: order(id, status),
      })),
    );

  beforeAll(async () => {
    registry = await startRegistry({
      adminToken: TEST_ADMIN_TOKEN,
      ...kafkaConnection(),
      port: 0,
      topic: uniqueName("_schemas_rc"),
      logger: silentLogger(),
    });
    writer = new CdcWriter({
      kafka: kafka(),
      registryUrl: registry.url,
      source: uniqueName("rc"),
      tables: SHOP_TABLES,
      partitions: 4,
    });
    await writer.start();
    await writer.snapshot(
      "orders",
      Array.from({ length: 40 }, (_v, i) => order(BigInt(i + 1), "new")),
    );
    const a = await startMember(splitCatalog, true);
    const b = await startMember(splitCatalog, true);
    const c = await startMember(soloCatalog, false);
    split = await startFront(splitCatalog, [a, b]);
    solo = await startFront(soloCatalog, [c]);
    const orders = writer.topic("orders");
    for (const [server, view] of [
      [split, splitView],
      [solo, soloView],
    ] as const) {
      const created = await api(server.url, "POST", "/v1/views", {
        sql: `CREATE VIEW ${view} AS SELECT id, status FROM ${orders}`,
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
    }
    await until(
      "both members split the view",
      () =>
        Promise.resolve(
          [a, b].every(
            (m) =>
              m.engine.listViews().some((v) => v.name === splitView) &&
              m.engine.ownership(splitView)?.served.length === 2,
          ),
        ),
      60_000,
    );
    await ready(split, splitView);
    await ready(solo, soloView);
  }, 180_000);

  afterAll(async () => {
    await split?.stop();
    await solo?.stop();
    await pool.stopAll();
    await writer?.stop();
    await registry?.stop();
  });

  it("streams an unsplit view's changes from its member, from a time, resumable by id", async () => {
    const from = new Date().toISOString();
    await update([1n, 2n, 3n], "paid");
    const url = `${solo.url}/v1/views/${soloView}/changes?from=${encodeURIComponent(from)}`;
    const got = await events(url, 3);
    expect(got.status, JSON.stringify(got.body)).toBe(200);
    expect(got.events.map((e) => e.event)).toEqual(["change", "change", "change"]);
    // One transaction over 4 partitions: applied per partition, so in no fixed order across them.
    expect(got.events.map((e) => String(e.data.key)).sort()).toEqual(["1", "2", "3"]);
    for (const e of got.events) {
      expect(e.id).toMatch(/^\d+$/);
      expect((e.data.after as { status: string }).status).toBe("paid");
      expect(Date.parse(e.data.at as string)).toBeGreaterThanOrEqual(Date.parse(from));
    }
    const resumed = await events(url, 1, { "last-event-id": got.events[1]!.id });
    expect(resumed.events[0]?.id).toBe(got.events[2]!.id);
    // Ids of a split view's stream mean nothing here.
    const bad = await events(url, 1, { "last-event-id": "http://m1=4" });
    expect(bad.status).toBe(422);
    expect(bad.body?.code).toBe("MESH_BAD_QUERY");
  }, 60_000);

  it("merges a split view's members' streams with composite ids that resume each member", async () => {
    const members = procs.slice(0, 2).map((p) => p.m.url);
    const ids = Array.from({ length: 12 }, (_v, i) => BigInt(i + 1));
    const from = new Date().toISOString();
    await update(ids, "shipped");
    const url = `${split.url}/v1/views/${splitView}/changes?from=${encodeURIComponent(from)}`;
    const got = await events(url, 12);
    expect(got.status, JSON.stringify(got.body)).toBe(200);
    expect(new Set(got.events.map((e) => String(e.data.key)))).toEqual(new Set(ids.map(String)));
    for (const e of got.events) {
      expect(e.event).toBe("change");
      expect((e.data.after as { status: string }).status).toBe("shipped");
      expect(members).toContain(e.data.member);
      // Every member's position, keyed by its URL.
      expect(e.id.split(",").map((p) => p.slice(0, p.lastIndexOf("=")))).toEqual([...members].sort());
    }
    expect(new Set(got.events.map((e) => e.data.member))).toEqual(new Set(members));

    // Resuming after the 6th event gives exactly the 6 after it, whichever member they came from.
    const resumed = await events(url, 6, { "last-event-id": got.events[5]!.id });
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
    expect(new Set(resumed.events.map((e) => String(e.data.key)))).toEqual(
      new Set(got.events.slice(6).map((e) => String(e.data.key))),
    );

    // A plain change id names no member.
    const plain = await events(`${split.url}/v1/views/${splitView}/changes?from=5`, 1);
    expect(plain.status).toBe(422);
    expect(plain.body?.code).toBe("MESH_BAD_QUERY");
  }, 60_000);

  it("retries and skips a parked key on the member holding it, saying what each member did", async () => {
    await writer.garbage("orders", { id: 77n });
    const topic = writer.topic("orders");
    for (const [server, view, memberCount] of [
      [split, splitView, 2],
      [solo, soloView, 1],
    ] as const) {
      const parked = await until(
        `${view} parks the record`,
        async () => {
          const res = await api(server.url, "GET", `/v1/views/${view}`);
          const list = (res.body.status as { parked: { topic: string; key: string }[] }).parked;
          return list.length === 1 && list[0] ? { topic: list[0].topic, key: list[0].key } : null;
        },
        30_000,
      );
      expect(parked.topic).toBe(topic);
      const retry = await api(server.url, "POST", `/v1/views/${view}/parked/retry`, parked);
      expect(retry.status, JSON.stringify(retry.body)).toBe(200);
      expect(retry.body).toMatchObject({ applied: 0, stillParked: 1 });
      const results = retry.body.members as {
        member: string;
        stillParked: number;
        error?: { code: string };
      }[];
      expect(results).toHaveLength(memberCount);
      expect(results.filter((r) => !r.error)).toHaveLength(1);
      for (const r of results.filter((x) => x.error)) expect(r.error?.code).toBe("MESH_NOT_FOUND");

      const skip = await api(server.url, "POST", `/v1/views/${view}/parked/skip`, parked);
      expect(skip.status, JSON.stringify(skip.body)).toBe(200);
      expect(skip.body.stillParked).toBe(0);
      await until(
        `${view} lists nothing parked`,
        async () => {
          const res = await api(server.url, "GET", `/v1/views/${view}`);
          return (res.body.status as { parked: unknown[] }).parked.length === 0;
        },
        10_000,
      );
      const again = await api(server.url, "POST", `/v1/views/${view}/parked/skip`, parked);
      expect(again.status).toBe(404);
      expect(again.body.code).toBe("MESH_NOT_FOUND");
    }
  }, 90_000);
});
