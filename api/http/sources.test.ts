// Route tests for /v1/sources through inject(): every error path answers {code, message, details}.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { createLogger } from "../../lib/logger.ts";
import { fakeContext, type FakeContext } from "../testing/fakes.ts";
import { buildApi } from "./server.ts";
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

const orders = {
  name: "orders-db",
  owner: "orders",
  kind: "postgres",
  url: "postgres://app:s3cret@127.0.0.1:5432/orders",
  tables: ["public.orders", "order_items"],
};

function post(body: unknown, url = "/v1/sources") {
  return app.inject({ method: "POST", url, payload: body as object });
}

describe("POST /v1/sources", () => {
  it("registers, qualifies tables, names topics, starts the connector and never returns the password", async () => {
    const res = await post(orders);
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      name: "orders-db",
      owner: "orders",
      tables: ["public.orders", "public.order_items"],
      topics: ["orders-db.public.orders", "orders-db.public.order_items"],
      status: { state: "streaming" },
    });
    expect(res.body).not.toContain("s3cret");
    expect(body.url).toBe("postgres://app@127.0.0.1:5432/orders");
    expect(ctx.fakes.sources.running.get("orders-db")?.url).toContain("s3cret");
    expect((await app.inject({ url: "/v1/sources" })).body).not.toContain("s3cret");
  });

  it("stores the delivery mode (default exactly-once) and hands it to the connector", async () => {
    expect((await post(orders)).json().delivery).toBe("exactly-once");
    const res = await post({ ...orders, name: "alo-db", delivery: "at-least-once", tables: ["other"] });
    expect(res.statusCode).toBe(201);
    expect(res.json().delivery).toBe("at-least-once");
    expect(ctx.fakes.sources.running.get("alo-db")?.delivery).toBe("at-least-once");
    expect((await post({ ...orders, name: "bad-db", delivery: "twice", tables: ["x"] })).statusCode).toBe(
      400,
    );
  });

  it("refuses a table owned by another service with 409 naming the owner, and keeps the owner's claim", async () => {
    expect((await post(orders)).statusCode).toBe(201);
    const res = await post({
      ...orders,
      name: "billing-db",
      owner: "billing",
      url: "postgres://x:y@localhost/orders",
      tables: ["orders"],
    });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({
      code: "MESH_TABLE_OWNED",
      details: { owner: "orders", source: "orders-db", table: "public.orders" },
    });
    expect(res.json().message).toContain('"orders"');
    expect((await app.inject({ url: "/v1/sources/orders-db" })).json().tables).toEqual([
      "public.orders",
      "public.order_items",
    ]);
    expect((await app.inject({ url: "/v1/sources/billing-db" })).statusCode).toBe(404);
  });

  it("refuses a second source with the same name (409 MESH_CONFLICT)", async () => {
    await post(orders);
    const res = await post({ ...orders, tables: ["other"] });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe("MESH_CONFLICT");
  });

  it("refuses unknown fields, missing fields, bad enums and malformed JSON with a 400 naming the problem", async () => {
    const unknown = await post({ ...orders, tabels: ["x"] });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ code: "MESH_UNKNOWN_FIELD", details: { field: "tabels" } });

    const missing = await post({ name: "a", owner: "b", kind: "postgres", url: "postgres://h/db" });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ code: "MESH_BAD_REQUEST", details: { field: "tables" } });

    const kind = await post({ ...orders, kind: "oracle" });
    expect(kind.json()).toMatchObject({ code: "MESH_BAD_REQUEST", details: { field: "kind" } });

    const malformed = await app.inject({
      method: "POST",
      url: "/v1/sources",
      headers: { "content-type": "application/json" },
      payload: '{"name": "x",',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ code: "MESH_BAD_REQUEST" });
    expect(malformed.json().message).toMatch(/JSON/);

    const text = await app.inject({
      method: "POST",
      url: "/v1/sources",
      headers: { "content-type": "text/plain" },
      payload: "hi",
    });
    expect(text.statusCode).toBe(400);
    expect(text.json().message).toMatch(/application\/json/);

    const badUrl = await post({ ...orders, url: "mysql://h/db" });
    expect(badUrl.json()).toMatchObject({ code: "MESH_BAD_REQUEST", details: { field: "url" } });
    const badName = await post({ ...orders, name: "has space" });
    expect(badName.json()).toMatchObject({ code: "MESH_BAD_REQUEST", details: { field: "name" } });
    expect(ctx.catalog.sources()).toEqual([]);
  });

  it("maps prerequisite problems: unreachable, wrong password, missing setup — all listed, nothing registered", async () => {
    ctx.fakes.sources.problems.set("down", [
      { kind: "unreachable", message: "connect ECONNREFUSED 127.0.0.1:1" },
    ]);
    ctx.fakes.sources.problems.set("wrongpw", [
      { kind: "auth", message: 'password authentication failed for user "app"' },
    ]);
    ctx.fakes.sources.problems.set("nowal", [
      {
        kind: "prerequisite",
        message: "wal_level is replica",
        fix: "ALTER SYSTEM SET wal_level = logical; then restart",
      },
      { kind: "table", message: "table public.nope does not exist" },
    ]);
    const down = await post({ ...orders, url: "postgres://u:p@down:1/db" });
    expect(down.statusCode).toBe(422);
    expect(down.json().code).toBe("MESH_SOURCE_UNREACHABLE");
    const auth = await post({ ...orders, url: "postgres://u:wrongpw@h/db" });
    expect(auth.json().code).toBe("MESH_SOURCE_AUTH");
    expect(auth.body).not.toContain("wrongpw@");
    const prereq = await post({ ...orders, url: "postgres://u:p@nowal/db" });
    expect(prereq.statusCode).toBe(422);
    expect(prereq.json().code).toBe("MESH_SOURCE_PREREQUISITE");
    expect(prereq.json().details.problems).toHaveLength(2);
    expect(prereq.json().message).toContain("wal_level = logical");
    expect(ctx.catalog.sources()).toEqual([]);
  });
});

describe("source lifecycle routes", () => {
  it("pauses, resumes, re-snapshots chosen tables and deletes with dropSlot", async () => {
    await post(orders);
    const paused = await app.inject({ method: "POST", url: "/v1/sources/orders-db/pause" });
    expect(paused.json()).toMatchObject({ paused: true, status: { state: "paused" } });
    expect(ctx.catalog.source("orders-db")?.paused).toBe(true);
    const resumed = await app.inject({ method: "POST", url: "/v1/sources/orders-db/resume" });
    expect(resumed.json()).toMatchObject({ paused: false, status: { state: "streaming" } });

    const snap = await post({ tables: ["orders"] }, "/v1/sources/orders-db/snapshot");
    expect(snap.statusCode).toBe(202);
    expect(snap.json()).toMatchObject({ status: { resnapshot: null } });
    expect(ctx.fakes.sources.snapshots).toEqual([{ name: "orders-db", tables: ["public.orders"] }]);
    const badSnap = await post({ tables: ["customers"] }, "/v1/sources/orders-db/snapshot");
    expect(badSnap.statusCode).toBe(422);
    expect(badSnap.json()).toMatchObject({
      code: "MESH_NOT_CAPTURED",
      details: { tables: ["public.customers"] },
    });
    const all = await app.inject({ method: "POST", url: "/v1/sources/orders-db/snapshot" });
    expect(all.statusCode).toBe(202);

    const badQuery = await app.inject({ method: "DELETE", url: "/v1/sources/orders-db?dropslot=true" });
    expect(badQuery.json()).toMatchObject({
      code: "MESH_UNKNOWN_FIELD",
      details: { field: "dropslot", in: "querystring" },
    });
    const del = await app.inject({ method: "DELETE", url: "/v1/sources/orders-db?dropSlot=true" });
    expect(del.json()).toEqual({ deleted: "orders-db", droppedSlot: true });
    expect(ctx.fakes.sources.removed).toEqual([{ name: "orders-db", dropSlot: true }]);
    // The tables are free again.
    expect((await post({ ...orders, name: "again", owner: "other" })).statusCode).toBe(201);
  });

  it("answers 404 MESH_NOT_FOUND for unknown sources and routes", async () => {
    for (const [method, url] of [
      ["GET", "/v1/sources/nope"],
      ["POST", "/v1/sources/nope/pause"],
      ["DELETE", "/v1/sources/nope"],
      ["GET", "/v1/nothing"],
    ] as const) {
      const res = await app.inject({ method, url });
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe("MESH_NOT_FOUND");
    }
  });

  it("a restart (new catalog over the same log) has the source and starts it again", async () => {
    await post(orders);
    await post({}, "/v1/sources/orders-db/pause");
    const again = await fakeContext(ctx.fakes.log.share());
    const app2 = withToken(await buildApi(again, { auth: testAuthenticator() }));
    await again.reconciler.stop();
    expect((await app2.inject({ url: "/v1/sources/orders-db" })).json()).toMatchObject({
      paused: true,
      status: { state: "paused" },
    });
    expect(again.fakes.sources.running.has("orders-db")).toBe(true);
    await app2.close();
  });
});

describe("secrets in logs", () => {
  it("never logs a source password, on success, refusal or an internal error", async () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: "debug",
      destination: { write: (line: string) => void lines.push(line) },
    });
    const logged = withToken(await buildApi(ctx, { logger, auth: testAuthenticator() }));
    try {
      const ok = await logged.inject({ method: "POST", url: "/v1/sources", payload: orders });
      expect(ok.statusCode).toBe(201);
      const unknown = await logged.inject({
        method: "POST",
        url: "/v1/sources",
        payload: { ...orders, name: "other", extra: 1 },
      });
      expect(unknown.statusCode).toBe(400);
      ctx.fakes.sources.problems.set("s3cret", [
        { kind: "auth", message: "password authentication failed for postgres://app:s3cret@127.0.0.1/x" },
      ]);
      const auth = await logged.inject({
        method: "POST",
        url: "/v1/sources",
        payload: { ...orders, name: "third", tables: ["public.t3"] },
      });
      expect(auth.statusCode).toBe(422);
      expect(auth.body).not.toContain("s3cret");
      // A driver error that quotes the URL, surfacing as an internal error (logged with its stack).
      ctx.fakes.sources.check = () =>
        Promise.reject(new Error("connect failed: postgres://app:s3cret@db:5432/x"));
      const internal = await logged.inject({
        method: "POST",
        url: "/v1/sources",
        payload: { ...orders, name: "fourth", tables: ["public.t4"] },
      });
      expect(internal.statusCode).toBe(500);
      expect(internal.body).not.toContain("s3cret");
    } finally {
      await logged.close();
    }
    expect(lines.length).toBeGreaterThan(4);
    expect(lines.join("")).toContain("connect failed");
    expect(lines.filter((l) => l.includes("s3cret"))).toEqual([]);
  });
});
