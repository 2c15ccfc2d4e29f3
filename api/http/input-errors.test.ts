// Route tests (inject()) for bad input that used to slip through: values of the wrong type for a view column
// (a 500 from deep in the key encoding), bad `from` on a view's change stream (a 200 then an error event),
// unknown query parameters and bodies on routes that take none, and the missing-row message.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { encodeKey } from "../../materializer/keys/encoding.ts";
import { kindOf } from "../../materializer/sql/catalog.ts";
import type { ViewEngine, ViewInfo as EngineViewInfo } from "../../materializer/contract.ts";
import { EngineViews } from "../../materializer/engine-views.ts";
import { sourceRecord } from "../catalog/records-fixture.ts";
import { fakeContext, type FakeContext } from "../testing/fakes.ts";
import { buildApi } from "./server.ts";
import { testAuthenticator, withToken } from "../../test/support/auth.ts";

const nullable = (t: unknown): unknown => ["null", t];
const engineView: EngineViewInfo = {
  name: "orders_v",
  sql: "CREATE VIEW orders_v AS SELECT * FROM orders",
  key: ["id"],
  keyColumns: [{ name: "id", type: nullable("long") }] as EngineViewInfo["columns"],
  columns: [
    { name: "id", type: nullable("long") },
    { name: "total", type: nullable({ type: "bytes", logicalType: "decimal", precision: 10, scale: 2 }) },
    { name: "paid", type: nullable("boolean") },
    { name: "status", type: nullable("string") },
  ] as EngineViewInfo["columns"],
  indexes: [],
  topics: [],
  status: { state: "ready", progress: 1, rows: 1, lagMs: 0, parked: [], error: null },
};

/**
 * An engine that encodes query values the way the materializer does (materializer/query/rows.ts), so a value
 * of the wrong type fails here exactly as it does there.
 */
function encodingEngine(): ViewEngine {
  // As materializer/query/rows.ts encodes it: number text is encoded as a decimal.
  const kind = (column: string, value: unknown) => {
    const k = kindOf(engineView.columns.find((c) => c.name === column)!.type);
    return k === "number" && typeof value === "string" ? "decimal" : k;
  };
  const engine: Partial<ViewEngine> = {
    getView: () => engineView,
    createView: () => Promise.resolve(engineView),
    getRow: (_name, key) => {
      encodeKey(key, [kind("id", key[0])]);
      return Promise.resolve(null);
    },
    queryRows: (_name, query) => {
      for (const f of query?.filters ?? []) encodeKey([f.value], [kind(f.column, f.value)]);
      return Promise.resolve({ rows: [], next: null, stale: false });
    },
  };
  return engine as ViewEngine;
}

let ctx: FakeContext;
let app: FastifyInstance;

beforeEach(async () => {
  ctx = await fakeContext();
  ctx.views = new EngineViews(encodingEngine());
  app = withToken(await buildApi(ctx, { auth: testAuthenticator() }));
  await ctx.catalog.putView({
    type: "view",
    id: "v1",
    name: "orders_v",
    sql: engineView.sql,
    createdAt: new Date(0).toISOString(),
  });
});
afterEach(async () => {
  await app.close();
  await ctx.reconciler.stop();
});

describe("view values of the wrong type", () => {
  it("answers 422 MESH_BAD_QUERY naming the column and value for filters and keys", async () => {
    for (const [url, column, value] of [
      ["/v1/views/orders_v/rows?total[gte]=abc", "total", "abc"],
      ["/v1/views/orders_v/rows?id=abc", "id", "abc"],
      ["/v1/views/orders_v/rows?paid=yes", "paid", "yes"],
      ["/v1/views/orders_v/rows/abc", "id", "abc"],
    ] as const) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(422);
      expect(res.json(), url).toMatchObject({ code: "MESH_BAD_QUERY", details: { column, value } });
      expect(res.json().message).toContain(`"${column}"`);
    }
    expect((await app.inject({ url: "/v1/views/orders_v/rows?total[gte]=1.5e2&id=7" })).statusCode).toBe(200);
  });

  it("says which row is missing and how to find keys", async () => {
    const res = await app.inject({ url: "/v1/views/orders_v/rows/42" });
    expect(res.statusCode).toBe(404);
    expect(res.json().message).toBe(
      'view orders_v has no row with key ["42"]; find keys with GET /v1/views/orders_v/rows',
    );
  });
});

describe("view change stream start", () => {
  it("refuses a bad from or Last-Event-ID with 400 before the stream starts", async () => {
    const bogus = await app.inject({ url: "/v1/views/orders_v/changes?from=bogus" });
    expect(bogus.statusCode).toBe(400);
    expect(bogus.json()).toMatchObject({ code: "MESH_BAD_REQUEST", details: { field: "from" } });
    const time = await app.inject({ url: "/v1/views/orders_v/changes?from=2026-13-45T00:00:00Z" });
    expect(time.statusCode).toBe(400);
    expect(time.json().message).toContain("ISO-8601 time");
    const badId = await app.inject({
      url: "/v1/views/orders_v/changes",
      headers: { "last-event-id": "1:5" },
    });
    expect(badId.statusCode).toBe(400);
  });

  it("an error inside a started stream carries its own code, not MESH_INTERNAL", async () => {
    const fake = await fakeContext();
    fake.views.changes = async function* () {
      await Promise.resolve();
      yield* [];
      throw new (await import("../../lib/errors.ts")).MeshError("MESH_NOT_FOUND", "view dropped", {});
    };
    await fake.catalog.putView({
      type: "view",
      id: "v2",
      name: "gone",
      sql: "CREATE VIEW gone AS SELECT * FROM t",
      createdAt: new Date(0).toISOString(),
    });
    const other = withToken(await buildApi(fake, { auth: testAuthenticator() }));
    try {
      const res = await other.inject({ url: "/v1/views/gone/changes" });
      expect(res.body).toContain('event: error\ndata: {"code":"MESH_NOT_FOUND","message":"view dropped"}');
    } finally {
      await other.close();
      await fake.reconciler.stop();
    }
  });
});

describe("unknown query parameters and bodies", () => {
  it("refuses them with MESH_UNKNOWN_FIELD on routes that take none", async () => {
    await ctx.catalog.putSource(sourceRecord("src", "orders", ["public.orders"]));
    for (const url of [
      "/v1/sources?x=1",
      "/v1/sources/src?x=1",
      "/v1/views?x=1",
      "/v1/views/orders_v?x=1",
      "/v1/topics?x=1",
      "/v1/status?x=1",
    ]) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(400);
      expect(res.json(), url).toMatchObject({
        code: "MESH_UNKNOWN_FIELD",
        details: { field: "x", in: "querystring" },
      });
    }
    for (const [method, url] of [
      ["POST", "/v1/sources/src/pause"],
      ["POST", "/v1/sources/src/resume"],
      ["DELETE", "/v1/sources/src"],
      ["DELETE", "/v1/views/orders_v"],
    ] as const) {
      const res = await app.inject({ method, url, payload: { x: 1 } });
      expect(res.statusCode, url).toBe(400);
      expect(res.json(), url).toMatchObject({
        code: "MESH_UNKNOWN_FIELD",
        details: { field: "x", in: "body" },
      });
    }
    // Nothing was done by the refused requests; an empty body is fine.
    expect(ctx.catalog.source("src")?.paused).toBeFalsy();
    expect(ctx.catalog.view("orders_v")).toBeDefined();
    expect((await app.inject({ method: "POST", url: "/v1/sources/src/pause", payload: {} })).statusCode).toBe(
      200,
    );
    // Row filters stay free-form query parameters.
    const rows = await app.inject({ url: "/v1/views/orders_v/rows?status=paid" });
    expect(rows.statusCode, rows.body).toBe(200);
  });
});

describe("OpenAPI", () => {
  it("types each known view's key under its own path, with the schema the route checks keys with", async () => {
    const spec = (await app.inject({ url: "/docs/json" })).json();
    const op = spec.paths["/v1/views/orders_v/rows/{key}"].get;
    expect(op.operationId).toBe("getRowOf_orders_v");
    const key = op.parameters.find((p: { name: string }) => p.name === "key");
    expect(key.schema.pattern).toBeDefined();
    expect(new RegExp(key.schema.pattern).test("7")).toBe(true);
    expect(new RegExp(key.schema.pattern).test("abc")).toBe(false);
    // What the pattern refuses, the route refuses (422), and what it takes reaches the view.
    expect((await app.inject({ url: "/v1/views/orders_v/rows/abc" })).statusCode).toBe(422);
    expect((await app.inject({ url: "/v1/views/orders_v/rows/7" })).statusCode).not.toBe(422);
  });

  it("serves an index at / (HTML to a browser, JSON otherwise) and 405 with Allow for undeclared methods", async () => {
    const json = await app.inject({ url: "/" });
    expect(json.headers["content-type"]).toContain("application/json");
    expect(json.json().links.map((l: { href: string }) => l.href)).toEqual(
      expect.arrayContaining(["/docs", "/docs/json", "/v1", "/console"]),
    );
    const html = await app.inject({
      url: "/",
      headers: { accept: "text/html,application/xhtml+xml,*/*;q=0.8" },
    });
    expect(html.headers["content-type"]).toContain("text/html");
    expect(html.body).toContain('<a href="/docs">');
    for (const method of ["PATCH", "PUT", "QUERY", "TRACE"] as const) {
      const res = await app.inject({ method, url: "/v1/sources" });
      expect(res.statusCode, method).toBe(405);
      expect(res.headers.allow, method).toBe("GET, HEAD, POST");
      expect(res.json().code, method).toBe("MESH_METHOD_NOT_ALLOWED");
    }
    expect((await app.inject({ method: "DELETE", url: "/v1/views/x/rows" })).headers.allow).toBe("GET, HEAD");
    expect((await app.inject({ url: "/nowhere" })).statusCode).toBe(404);
  });

  it("documents SSE errors and Last-Event-ID, and the row filters as a parameter", async () => {
    const spec = (await app.inject({ url: "/docs/json" })).json();
    for (const path of ["/v1/topics/{topic}/events", "/v1/views/{name}/changes"]) {
      const op = spec.paths[path].get;
      expect(Object.keys(op.responses), path).toEqual(
        path.startsWith("/v1/views")
          ? ["200", "400", "401", "403", "404", "422", "500", "503"]
          : ["200", "400", "401", "403", "404", "500", "503"],
      );
      expect(Object.keys(op.responses["200"].content), path).toEqual(["text/event-stream"]);
      expect(op.responses["404"].content["application/json"].schema.properties.code.enum).toEqual([
        "MESH_NOT_FOUND",
      ]);
      expect(op["x-sse-events"].change.data.$ref, path).toMatch(
        /^#\/components\/schemas\/(View|Topic)Change$/,
      );
      expect(op["x-sse-events"].error.data.$ref, path).toBe("#/components/schemas/StreamError");
      expect(op.parameters, path).toEqual(
        expect.arrayContaining([expect.objectContaining({ in: "header", name: "last-event-id" })]),
      );
    }
    const rows = spec.paths["/v1/views/{name}/rows"].get;
    expect(rows.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "filters", in: "query", style: "form", explode: true }),
        expect.objectContaining({ name: "limit", in: "query" }),
      ]),
    );
  });
});
