// Route tests for /v1/views, /v1/topics, health and /docs through inject().
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { fakeContext, type FakeContext } from "../testing/fakes.ts";
import type { TopicBatch, TopicEvent, TopicStart } from "../runtime.ts";
import { buildApi } from "./server.ts";
import { parseStart } from "./routes/topics.ts";
import { testAuthenticator, withToken } from "../../test/support/auth.ts";

let ctx: FakeContext;
let app: FastifyInstance;

beforeEach(async () => {
  ctx = await fakeContext();
  app = withToken(await buildApi(ctx, { auth: testAuthenticator() }));
});
afterEach(async () => {
  await app.close();
  await ctx.reconciler.stop();
});

const sql =
  "CREATE VIEW order_details AS SELECT o.id, o.status, o.total, c.region FROM orders o JOIN customers c ON o.customer_id = c.id";

function parseSse(body: string): { id: string; event: string; data: unknown }[] {
  return body
    .split("\n\n")
    .filter((block) => block.includes("data: "))
    .map((block) => {
      const fields = Object.fromEntries(
        block.split("\n").map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 2)]),
      );
      return { id: fields.id!, event: fields.event!, data: JSON.parse(fields.data!) as unknown };
    });
}

describe("views", () => {
  it("creates, lists, shows, queries with filters and cursor, reads by key, drops", async () => {
    const created = await app.inject({ method: "POST", url: "/v1/views", payload: { sql } });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({
      name: "order_details",
      sql,
      key: ["id"],
      status: { state: "ready" },
    });
    ctx.fakes.views.views
      .get("order_details")!
      .rows.push(
        { id: "1", status: "paid", total: "10.00", region: "eu" },
        { id: "2", status: "paid", total: "250.00", region: "us" },
        { id: "3", status: "new", total: "5.00", region: "eu" },
      );
    expect((await app.inject({ url: "/v1/views" })).json().views).toHaveLength(1);
    expect((await app.inject({ url: "/v1/views/order_details" })).json().status.rows).toBe(3);

    const page = await app.inject({
      url: "/v1/views/order_details/rows?status=paid&total[gte]=100&order=-total&limit=1",
    });
    expect(page.statusCode).toBe(200);
    expect(page.json()).toEqual({
      rows: [{ id: "1", status: "paid", total: "10.00", region: "eu" }],
      next: "1",
    });
    expect(ctx.fakes.views.lastQuery).toEqual({
      filters: [
        { column: "status", op: "eq", value: "paid" },
        { column: "total", op: "gte", value: "100" },
      ],
      order: "total",
      desc: true,
      limit: 1,
      consistent: true,
    });
    const next = await app.inject({ url: "/v1/views/order_details/rows?status=paid&limit=1&cursor=1" });
    expect(next.json()).toMatchObject({ rows: [{ id: "2" }], next: null });

    expect((await app.inject({ url: "/v1/views/order_details/rows/2" })).json()).toMatchObject({
      id: "2",
      region: "us",
    });
    expect(
      (await app.inject({ url: `/v1/views/order_details/rows/${encodeURIComponent('["3"]')}` })).json(),
    ).toMatchObject({ id: "3" });
    const missing = await app.inject({ url: "/v1/views/order_details/rows/99" });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe("MESH_NOT_FOUND");

    expect((await app.inject({ method: "DELETE", url: "/v1/views/order_details" })).json()).toEqual({
      deleted: "order_details",
    });
    expect(ctx.fakes.views.views.size).toBe(0);
    expect((await app.inject({ url: "/v1/views/order_details" })).statusCode).toBe(404);
  });

  it("refuses bad SQL, duplicate names, unknown fields, bad filters and bad keys with what to fix", async () => {
    // Not a view declaration at all: the schema's pattern refuses it (400); SQL of the right shape that the
    // compiler refuses is 422 MESH_BAD_SQL.
    const bad = await app.inject({ method: "POST", url: "/v1/views", payload: { sql: "DROP TABLE orders" } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: "MESH_BAD_REQUEST", details: { field: "sql" } });
    expect(bad.json().message).toContain("CREATE VIEW <name> AS SELECT");
    const unknownTable = await app.inject({
      method: "POST",
      url: "/v1/views",
      payload: { sql: "CREATE VIEW v2 AS SELECT x FROM nowhere" },
    });
    expect(unknownTable.statusCode).toBe(422);
    expect(unknownTable.json()).toMatchObject({ code: "MESH_BAD_SQL", details: { table: "nowhere" } });
    expect(ctx.catalog.view("v2")).toBeUndefined();
    const extra = await app.inject({ method: "POST", url: "/v1/views", payload: { sql, name: "x" } });
    expect(extra.json()).toMatchObject({ code: "MESH_UNKNOWN_FIELD", details: { field: "name" } });
    await app.inject({ method: "POST", url: "/v1/views", payload: { sql } });
    const dup = await app.inject({ method: "POST", url: "/v1/views", payload: { sql } });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe("MESH_CONFLICT");

    const col = await app.inject({ url: "/v1/views/order_details/rows?colour=red" });
    expect(col.statusCode).toBe(422);
    expect(col.json()).toMatchObject({ code: "MESH_BAD_QUERY", details: { param: "colour" } });
    expect(col.json().message).toContain("columns: id, status, total, region");
    const op = await app.inject({ url: "/v1/views/order_details/rows?total[like]=1" });
    expect(op.json().message).toMatch(/unknown filter operator "like"/);
    const limit = await app.inject({ url: "/v1/views/order_details/rows?limit=5000" });
    expect(limit.json()).toMatchObject({
      code: "MESH_BAD_REQUEST",
      details: { field: "limit", in: "querystring" },
    });
    expect(limit.json().message).toBe('querystring field "limit" must be <= 1000');
    const empty = await app.inject({ url: "/v1/views/order_details/rows?limit=" });
    expect(empty.json()).toMatchObject({ code: "MESH_BAD_REQUEST", details: { field: "limit" } });
    const key = await app.inject({ url: `/v1/views/order_details/rows/${encodeURIComponent("[1,")}` });
    expect(key.json()).toMatchObject({ code: "MESH_BAD_QUERY" });
    expect((await app.inject({ url: "/v1/views/nope/rows" })).json().code).toBe("MESH_NOT_FOUND");
  });

  it("streams view changes as SSE with ids and resumes from Last-Event-ID", async () => {
    await app.inject({ method: "POST", url: "/v1/views", payload: { sql } });
    ctx.fakes.views.changeFeed = [
      { id: "7", data: { op: "upsert", key: ["1"], row: { id: "1" } } },
      { id: "8", data: { op: "delete", key: ["1"], row: null } },
    ];
    const res = await app.inject({
      url: "/v1/views/order_details/changes",
      headers: { "last-event-id": "6" },
    });
    expect(res.headers["content-type"]).toContain("text/event-stream");
    expect(parseSse(res.body)).toEqual([
      { id: "7", event: "change", data: { op: "upsert", key: ["1"], row: { id: "1" } } },
      { id: "8", event: "change", data: { op: "delete", key: ["1"], row: null } },
    ]);
  });
});

describe("topics", () => {
  it("lists topics and streams decoded events with <partition>:<offset> ids", async () => {
    ctx.fakes.topics.list = [
      {
        topic: "orders-db.public.orders",
        owner: "orders",
        source: "orders-db",
        table: "public.orders",
        partitions: 3,
        keySubject: "orders-db.public.orders-key",
        valueSubject: "orders-db.public.orders-value",
        latestVersion: 1,
      },
    ];
    let seen: TopicStart | null = null;
    ctx.fakes.topics.events = async function* (_topic, start): AsyncIterable<TopicBatch> {
      seen = start;
      const event = (partition: number, offset: string): TopicEvent => ({
        partition,
        offset,
        timestamp: "2026-01-01T00:00:00.000Z",
        key: { id: "1" },
        value: { op: "c", after: { id: "1", total: "9.50" } },
      });
      yield {
        from: new Map([
          [0, 0n],
          [1, 41n],
          [2, 7n],
        ]),
        events: [event(1, "41"), event(0, "0")],
      };
      await Promise.resolve();
    };
    expect((await app.inject({ url: "/v1/topics" })).json().topics[0]).toMatchObject({
      owner: "orders",
      latestVersion: 1,
    });
    const res = await app.inject({
      url: "/v1/topics/orders-db.public.orders/events?from=earliest",
      headers: { "last-event-id": "1:40" },
    });
    // Each id is the position on every partition (-1: nothing delivered there yet), so the last id alone
    // resumes all of them.
    expect(parseSse(res.body).map((e) => e.id)).toEqual(["0:-1,1:41,2:6", "0:0,1:41,2:6"]);
    expect(parseSse(res.body).slice(0, 1)).toEqual([
      {
        id: "0:-1,1:41,2:6",
        event: "change",
        data: {
          partition: 1,
          offset: "41",
          timestamp: "2026-01-01T00:00:00.000Z",
          key: { id: "1" },
          value: { op: "c", after: { id: "1", total: "9.50" } },
        },
      },
    ]);
    expect(seen).toEqual({ kind: "resume", next: new Map([[1, 41n]]), otherwise: "earliest" });
    expect(parseStart(undefined, "0:-1,1:41,2:6")).toEqual({
      kind: "resume",
      next: new Map([
        [0, 0n],
        [1, 42n],
        [2, 7n],
      ]),
      otherwise: "earliest",
    });

    const unknown = await app.inject({ url: "/v1/topics/nope/events" });
    expect(unknown.statusCode).toBe(404);
    const badFrom = await app.inject({ url: "/v1/topics/orders-db.public.orders/events?from=yesterday" });
    expect(badFrom.json()).toMatchObject({ code: "MESH_BAD_REQUEST", details: { field: "from" } });
    expect(badFrom.json().message).toContain(
      "earliest, latest, an offset (on every partition) or an ISO-8601 time",
    );
    const badId = await app.inject({
      url: "/v1/topics/orders-db.public.orders/events",
      headers: { "last-event-id": "x" },
    });
    expect(badId.json().code).toBe("MESH_BAD_REQUEST");
  });

  it("parses every start position", () => {
    expect(parseStart(undefined, undefined)).toEqual({ kind: "latest" });
    expect(parseStart("earliest", undefined)).toEqual({ kind: "earliest" });
    expect(parseStart("12", undefined)).toEqual({ kind: "offset", offset: 12n });
    expect(parseStart("2026-01-02T03:04:05Z", undefined)).toEqual({
      kind: "time",
      ms: Date.parse("2026-01-02T03:04:05Z"),
    });
    expect(parseStart(undefined, "0:5,2:9")).toEqual({
      kind: "resume",
      next: new Map([
        [0, 6n],
        [2, 10n],
      ]),
      otherwise: "earliest",
    });
  });
});
