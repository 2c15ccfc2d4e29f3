// Metrics, lineage, trace and the view check through the real stack: /metrics scraped before and after a
// workload (a source snapshot, changes, a view, a refused view, an SSE subscriber) moves by exactly what the
// workload did; the registry answers /metrics too; GET /v1/lineage draws source → table → topic → view and
// finds a Python confluent-kafka consumer group reading the topic through Kafka's admin API, and this test's
// own SSE stream and row reads; GET /v1/trace finds a key's latest event and the view rows it feeds;
// POST /v1/views/check answers the compiler's errors with their position.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metricValue } from "../../lib/metrics-text.ts";
import { kafkaEnv, stackEnv, uniqueName } from "../../test/support/stack.ts";
import { api, subscribe, until } from "./harness.ts";
import { moved, scrape, startObserveFixture, type ObserveFixture } from "./observe-fixture.ts";

// CI's venv (.ci/run exports MESH_PYTHON), else the project's .mesh/venv, else python3 with confluent-kafka.
const python =
  process.env.MESH_PYTHON ?? (existsSync(".mesh/venv/bin/python") ? ".mesh/venv/bin/python" : "python3");

let f: ObserveFixture;
let consumer: ChildProcess | undefined;
const source = uniqueName("obs").replace(/-/g, "_");
const topic = `${source}.public.items`;
const view = `v_${source}`;
const base = (): string => f.api.url;

beforeAll(async () => {
  f = await startObserveFixture("obs");
});

afterAll(async () => {
  consumer?.kill("SIGTERM");
  await f?.stop();
});

async function viewRows(): Promise<Record<string, unknown>[]> {
  const res = await api(base(), "GET", `/v1/views/${view}/rows?limit=100`);
  return (res.body.rows as Record<string, unknown>[] | undefined) ?? [];
}

describe("metrics, lineage and trace on the real stack", () => {
  it("moves the metrics by what the workload did", async () => {
    const before = await scrape(base());
    const registered = await api(base(), "POST", "/v1/sources", {
      name: source,
      owner: "inventory",
      kind: "postgres",
      url: f.db.url,
      tables: ["public.items"],
    });
    expect(registered.status).toBe(201);
    await until("source streaming", async () => {
      const s = await api(base(), "GET", `/v1/sources/${source}`);
      return (s.body.status as { state: string }).state === "streaming";
    });
    const declared = await api(base(), "POST", "/v1/views", {
      sql: `CREATE VIEW ${view} AS SELECT i.id, i.name, i.price FROM ${topic} i`,
    });
    expect(declared.status).toBe(201);
    const refused = await api(base(), "POST", "/v1/views", {
      sql: `CREATE VIEW bad_${view} AS SELECT i.nope FROM ${topic} i`,
    });
    expect(refused.status).toBe(422);
    await until("view ready with the snapshot", async () => (await viewRows()).length === 5);
    // A subscriber of the topic from now on: it is sent the 4 changes below.
    const stream = subscribe(`${base()}/v1/topics/${topic}/events`);
    await stream.subscribed;
    await f.db.sql("INSERT INTO items VALUES (6, 'six', 7.50), (7, 'seven', 8.75), (8, 'eight', 10.00)");
    await f.db.sql("UPDATE items SET name = 'two, renamed' WHERE id = 2");
    await until("view follows", async () => {
      const rows = await viewRows();
      return rows.length === 8 && rows.some((r) => r.name === "two, renamed");
    });
    await until("the subscriber has the 4 changes", () => Promise.resolve(stream.events.length === 4));
    const during = await scrape(base());
    stream.close();
    const after = await scrape(base());

    const table = { source, table: "public.items" };
    expect(moved(before, after, "mesh_source_events_written_total", table)).toBe(9); // 5 + 3 + 1
    expect(moved(before, after, "mesh_events_read_total", { ...table, reader: `view:${view}` })).toBe(9);
    expect(moved(before, after, "mesh_events_read_total", { ...table, reader: "sse" })).toBe(4);
    expect(moved(before, after, "mesh_view_changes_applied_total", { view })).toBe(9);
    expect(moved(before, after, "mesh_view_apply_duration_seconds_count", { view })).toBeGreaterThan(0);
    expect(moved(before, after, "mesh_source_transactions_acked_total", { source })).toBeGreaterThanOrEqual(
      2,
    );
    expect(metricValue(after, "mesh_view_rows", { view })).toBe(8);
    expect(metricValue(after, "mesh_view_state", { view, state: "ready" })).toBe(1);
    expect(metricValue(after, "mesh_view_parked_records", { view })).toBe(0);
    expect(metricValue(after, "mesh_view_backfill_progress_ratio", { view })).toBe(1);
    expect(metricValue(after, "mesh_source_state", { source, state: "streaming" })).toBe(1);
    expect(metricValue(after, "mesh_source_lag_seconds", { source })).toBeGreaterThanOrEqual(0);
    const http = { server: "api", method: "POST" };
    expect(
      moved(before, after, "mesh_http_request_duration_seconds_count", {
        ...http,
        route: "/v1/sources",
        status: "201",
      }),
    ).toBe(1);
    expect(
      moved(before, after, "mesh_http_request_duration_seconds_count", {
        ...http,
        route: "/v1/views",
        status: "201",
      }),
    ).toBe(1);
    expect(
      moved(before, after, "mesh_http_request_duration_seconds_count", {
        ...http,
        route: "/v1/views",
        status: "422",
      }),
    ).toBe(1);
    expect(moved(before, after, "mesh_errors_total", { where: "api", code: "MESH_BAD_SQL" })).toBe(1);
    const sse = { server: "api", route: "/v1/topics/:topic/events" };
    expect(metricValue(during, "mesh_sse_subscribers", sse)).toBe(1);
    await until("the closed stream is no longer counted", async () =>
      metricValue(await scrape(base()), "mesh_sse_subscribers", sse) === 0 ? true : null,
    );
    // Kafka: our produce latency and the client's own counters (connector events, markers, heartbeats).
    expect(moved(before, after, "mesh_kafka_produce_duration_seconds_count", {})).toBeGreaterThan(0);
    expect(moved(before, after, "kafka_produced_messages", {})).toBeGreaterThanOrEqual(9);
    // The registry's own server answers /metrics: the connector registered the table's schemas through it.
    const registry = await scrape(f.registry.url);
    expect(
      metricValue(registry, "mesh_http_request_duration_seconds_count", {
        server: "registry",
        method: "POST",
        route: "/subjects/:subject/versions",
      }),
    ).toBeGreaterThanOrEqual(2);
  }, 180_000);

  it("draws the lineage with a Python consumer group, SSE and row readers", async () => {
    const group = uniqueName("py_lineage");
    consumer = spawn(
      python,
      ["test/python/lineage_consumer.py", stackEnv().MESH_KAFKA_BROKERS, topic, group],
      {
        stdio: ["ignore", "pipe", "inherit"],
        env: { ...process.env, ...kafkaEnv() },
      },
    );
    const ready = new Promise<void>((resolve, reject) => {
      createInterface({ input: consumer!.stdout! }).on("line", (line) => {
        if (line.includes('"ready"')) resolve();
      });
      consumer!.once("exit", (code) => reject(new Error(`the Python consumer exited with ${code}`)));
    });
    await ready;
    const stream = subscribe(`${base()}/v1/topics/${topic}/events`, { "user-agent": "lineage-test-sse" });
    await stream.subscribed;
    await viewRows();
    try {
      const lineage = await until("the Python group in the lineage", async () => {
        const res = await api(base(), "GET", "/v1/lineage");
        expect(res.status).toBe(200);
        const nodes = res.body.nodes as {
          id: string;
          state: string | null;
          details: Record<string, unknown>;
        }[];
        const node = nodes.find((n) => n.id === `group:${group}`);
        return node?.state === "Stable" ? res.body : null;
      });
      const nodes = lineage.nodes as {
        id: string;
        kind: string;
        owner: string | null;
        state: string | null;
        details: Record<string, unknown>;
      }[];
      const edges = lineage.edges as { from: string; to: string; kind: string }[];
      const byId = new Map(nodes.map((n) => [n.id, n]));
      expect(byId.get(`source:${source}`)).toMatchObject({
        kind: "source",
        owner: "inventory",
        state: "streaming",
      });
      expect(byId.get(`table:${source}/public.items`)).toMatchObject({
        owner: "inventory",
        state: "streaming",
      });
      expect(byId.get(`topic:${topic}`)).toMatchObject({ kind: "topic", owner: "inventory" });
      expect(byId.get(`view:${view}`)).toMatchObject({ kind: "view", state: "ready" });
      const pyGroup = byId.get(`group:${group}`)!;
      // It committed after its first message: the rest of that partition is its lag.
      expect(pyGroup.details).toMatchObject({ internal: false, lag: expect.any(Number) });
      expect(pyGroup.details.members).toEqual([expect.objectContaining({ clientId: "py-lineage" })]);
      for (const [from, to, kind] of [
        [`source:${source}`, `table:${source}/public.items`, "changes"],
        [`table:${source}/public.items`, `topic:${topic}`, "changes"],
        [`topic:${topic}`, `view:${view}`, "changes"],
        [`topic:${topic}`, `group:${group}`, "consumes"],
      ])
        expect(edges).toContainEqual({ from, to, kind });
      const sseClient = nodes.find((n) => n.kind === "client" && n.details.userAgent === "lineage-test-sse");
      expect(sseClient?.state).toBe("streaming");
      expect(edges).toContainEqual({ from: `topic:${topic}`, to: sseClient!.id, kind: "sse" });
      expect(edges.some((e) => e.from === `view:${view}` && e.kind === "rows")).toBe(true);
    } finally {
      stream.close();
    }
  }, 120_000);

  it("traces a key to its latest event and the view rows it feeds", async () => {
    const res = await api(base(), "GET", `/v1/trace?source=${source}&table=public.items&key=2`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      topic,
      event: { op: "u", after: { id: "2", name: "two, renamed" }, deleted: false },
      search: { complete: true },
    });
    const views = res.body.views as {
      view: string;
      rows: Record<string, unknown>[];
      reflectsEvent: boolean;
      behindMs: number;
    }[];
    expect(views).toEqual([
      expect.objectContaining({
        view,
        reflectsEvent: true,
        behindMs: 0,
        rows: [expect.objectContaining({ id: "2", name: "two, renamed" })],
      }),
    ]);
    // A key never written: no event, nothing to find in the view.
    const none = await api(
      base(),
      "GET",
      `/v1/trace?source=${source}&table=items&key=${encodeURIComponent('{"id":99}')}`,
    );
    expect(none.status).toBe(200);
    expect(none.body.event).toBe(null);
    const unknown = await api(base(), "GET", `/v1/trace?source=${source}&table=public.nope&key=1`);
    expect(unknown.status).toBe(404);
  }, 60_000);

  it("checks view SQL with the engine's compiler, errors at their position", async () => {
    const good = await api(base(), "POST", "/v1/views/check", {
      sql: `CREATE VIEW c_${source} AS SELECT i.id, i.name FROM ${topic} i`,
    });
    expect(good.body).toEqual({ ok: true, name: `c_${source}`, tables: [topic] });
    const column = await api(base(), "POST", "/v1/views/check", {
      sql: `CREATE VIEW c_${source} AS\nSELECT i.id, i.nope FROM ${topic} i`,
    });
    expect(column.body).toMatchObject({ ok: false, error: { code: "MESH_BAD_SQL" } });
    const syntax = await api(base(), "POST", "/v1/views/check", {
      sql: `CREATE VIEW c_${source} AS\nSELEC 1`,
    });
    expect(syntax.body).toMatchObject({ ok: false, error: { code: "MESH_BAD_SQL", line: 2 } });
    expect((syntax.body.error as { column: number }).column).toBeGreaterThan(0);
    // Nothing was created.
    expect((await api(base(), "GET", `/v1/views/c_${source}`)).status).toBe(404);
    const schemas = await api(base(), "GET", `/v1/topics/${topic}/schemas`);
    expect(schemas.status).toBe(200);
    expect((schemas.body.versions as unknown[]).length).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
