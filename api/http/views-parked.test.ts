// Route tests for a view's parked records: listed in its status, retried or skipped per key (inject()).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { fakeContext, type FakeContext } from "../testing/fakes.ts";
import { buildApi } from "./server.ts";
import { testAuthenticator, withToken } from "../../test/support/auth.ts";

let ctx: FakeContext;
let app: FastifyInstance;

beforeEach(async () => {
  ctx = await fakeContext();
  app = withToken(await buildApi(ctx, { auth: testAuthenticator() }));
  const sql = "CREATE VIEW v AS SELECT * FROM orders";
  expect((await app.inject({ method: "POST", url: "/v1/views", payload: { sql } })).statusCode).toBe(201);
  const rec = (offset: string, key: string, reason: string) => ({
    topic: "shop.public.orders",
    partition: 0,
    offset,
    key,
    reason,
  });
  ctx.fakes.views.parked.set("v", [
    rec("4", "0a", "column total: a string value that cannot be used as a number"),
    rec("9", "0a", "an earlier record of this key is parked"),
    rec("5", "0b", "cannot apply the record's value: unknown schema id 77"),
  ]);
});
afterEach(async () => {
  await app.close();
  await ctx.reconciler.stop();
});

describe("parked records", () => {
  it("are listed in the view's status with topic, partition, offset, key and reason, and counted", async () => {
    const status = (await app.inject({ url: "/v1/views/v" })).json().status;
    expect(status.parkedCount).toBe(3);
    expect(status.parked).toEqual([
      {
        topic: "shop.public.orders",
        partition: 0,
        offset: "4",
        key: "0a",
        reason: "column total: a string value that cannot be used as a number",
      },
      expect.objectContaining({ offset: "9", key: "0a" }),
      expect.objectContaining({ offset: "5", key: "0b", reason: expect.stringMatching(/schema id 77/) }),
    ]);
  });

  it("skip drops a key's oldest record; retry takes the rest; the status follows", async () => {
    const skip = await app.inject({
      method: "POST",
      url: "/v1/views/v/parked/skip",
      payload: { topic: "shop.public.orders", key: "0a" },
    });
    expect(skip.statusCode).toBe(200);
    expect(skip.json()).toEqual({ applied: 0, stillParked: 1 });
    const retry = await app.inject({
      method: "POST",
      url: "/v1/views/v/parked/retry",
      payload: { topic: "shop.public.orders", key: "0a" },
    });
    expect(retry.json()).toEqual({ applied: 1, stillParked: 0 });
    expect(ctx.fakes.views.resolved.map((r) => r.action)).toEqual(["skip", "retry"]);
    const status = (await app.inject({ url: "/v1/views/v" })).json().status;
    expect(status.parked.map((p: { key: string }) => p.key)).toEqual(["0b"]);
    expect(status.parkedCount).toBe(1);
  });

  it("refuses a key with nothing parked (404), a bad body (400) and an unknown view (404)", async () => {
    const none = await app.inject({
      method: "POST",
      url: "/v1/views/v/parked/retry",
      payload: { topic: "shop.public.orders", key: "ff" },
    });
    expect(none.statusCode).toBe(404);
    expect(none.json().code).toBe("MESH_NOT_FOUND");
    const bad = await app.inject({
      method: "POST",
      url: "/v1/views/v/parked/skip",
      payload: { topic: "shop.public.orders", offset: "4" },
    });
    expect(bad.statusCode).toBe(400);
    const unknown = await app.inject({
      method: "POST",
      url: "/v1/views/nope/parked/retry",
      payload: { topic: "t", key: "0a" },
    });
    expect(unknown.statusCode).toBe(404);
    expect(ctx.fakes.views.resolved).toEqual([]);
  });
});
