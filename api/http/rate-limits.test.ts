// Rate limits per token on the query and stream routes: over the limit, 429 MESH_RATE_LIMITED with
// Retry-After; each token has its own budget, queries and streams separate ones; internal credentials are
// not limited; other routes are not limited; the OpenAPI document declares the 429 where it can happen.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import type { TokenAuthenticator } from "../../lib/http/auth-tokens.ts";
import {
  authHeaders,
  mintServiceToken,
  testAuthenticator,
  testInternalCredential,
} from "../../test/support/auth.ts";
import { fakeContext, type FakeContext } from "../testing/fakes.ts";
import { buildApi } from "./server.ts";

let ctx: FakeContext;
let app: FastifyInstance;
let auth: TokenAuthenticator;

beforeEach(async () => {
  ctx = await fakeContext();
  auth = testAuthenticator();
  app = await buildApi(ctx, { auth, rateLimits: { queryMax: 3, streamMax: 2, windowMs: 60_000 } });
});
afterEach(async () => {
  await app.close();
  await ctx.reconciler.stop();
});

const get = (url: string, headers: Record<string, string>) => app.inject({ method: "GET", url, headers });

describe("rate limits", () => {
  it("answer 429 MESH_RATE_LIMITED with Retry-After past a token's query budget, per token", async () => {
    const reader = mintServiceToken(auth.tokens, { service: "billing", scopes: ["read"] });
    for (let i = 0; i < 3; i++) {
      const res = await get("/v1/views/nope/rows", authHeaders(reader.token));
      expect(res.statusCode).not.toBe(429);
    }
    // Lookups share the budget of row queries.
    const over = await get("/v1/views/nope/rows/1", authHeaders(reader.token));
    expect(over.statusCode).toBe(429);
    expect(over.json()).toMatchObject({
      code: "MESH_RATE_LIMITED",
      details: { limit: 3, windowSeconds: 60 },
    });
    expect(Number(over.headers["retry-after"])).toBeGreaterThan(0);
    expect(Number(over.headers["retry-after"])).toBeLessThanOrEqual(60);
    // Another token has its own budget; the stream routes have theirs; other routes are not limited.
    expect((await get("/v1/views/nope/rows", authHeaders())).statusCode).toBe(404);
    expect((await get("/v1/topics/nope.public.t/events", authHeaders(reader.token))).statusCode).not.toBe(
      429,
    );
    for (let i = 0; i < 5; i++)
      expect((await get("/v1/views", authHeaders(reader.token))).statusCode).toBe(200);
  });

  it("limit the streams a token opens, and never another datamesh process", async () => {
    const reader = mintServiceToken(auth.tokens, { service: "billing", scopes: ["read"] });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await get("/v1/views/nope/changes", authHeaders(reader.token))).statusCode);
    statuses.push((await get("/v1/topics/nope.public.t/events", authHeaders(reader.token))).statusCode);
    expect(statuses.slice(0, 2)).not.toContain(429);
    expect(statuses.slice(2)).toEqual([429, 429]);
    const internal = authHeaders(testInternalCredential("api"));
    for (let i = 0; i < 6; i++) expect((await get("/v1/views/nope/rows", internal)).statusCode).toBe(404);
  });

  it("are declared in the OpenAPI document on exactly the limited routes", async () => {
    const doc = (await app.inject({ url: "/docs/json", headers: authHeaders() })).json<{
      paths: Record<
        string,
        Record<string, { responses: Record<string, { headers?: Record<string, unknown> }> }>
      >;
    }>();
    const limited = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })))
      .filter(({ op }) => op.responses?.["429"] !== undefined)
      .map(({ path, method }) => `${method} ${path}`)
      .sort();
    expect(limited).toEqual([
      "get /v1/topics/{topic}/events",
      "get /v1/views/{name}/changes",
      "get /v1/views/{name}/rows",
      "get /v1/views/{name}/rows/{key}",
    ]);
    expect(doc.paths["/v1/views/{name}/rows"]!.get!.responses["429"]!.headers).toHaveProperty("retry-after");
  });
});
