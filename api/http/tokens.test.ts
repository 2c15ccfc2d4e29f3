// /v1/tokens through inject(), with the API's own authenticator over its catalog (apiAuthenticator): the admin
// makes, lists and revokes service tokens; the secret is answered once and the catalog keeps its SHA-256; a
// made token works at once and a revoked one is refused at once; bad input and non-admins are refused.
import type { FastifyInstance } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../lib/http/auth-tokens.ts";
import { authHeaders, TEST_ADMIN_TOKEN } from "../../test/support/auth.ts";
import { MemoryCatalogLog } from "../catalog/catalog.ts";
import { fakeContext, type FakeContext } from "../testing/fakes.ts";
import { apiAuthenticator } from "./routes/tokens.ts";
import { buildApi } from "./server.ts";

let ctx: FakeContext;
let log: MemoryCatalogLog;
let app: FastifyInstance;

beforeEach(async () => {
  log = new MemoryCatalogLog();
  ctx = await fakeContext(log);
  app = await buildApi(ctx, { auth: apiAuthenticator(ctx.catalog, TEST_ADMIN_TOKEN) });
});

afterEach(async () => {
  await app.close();
  await ctx.catalog.stop();
});

const make = (body: object, token = TEST_ADMIN_TOKEN) =>
  app.inject({ method: "POST", url: "/v1/tokens", headers: authHeaders(token), payload: body });

describe("/v1/tokens", () => {
  it("makes a token whose secret is answered once and stored hashed; it works at once", async () => {
    const res = await make({ service: "orders", scopes: ["read", "write"] });
    expect(res.statusCode).toBe(201);
    const made = res.json<{ id: string; token: string; service: string; scopes: string[] }>();
    expect(made).toMatchObject({
      service: "orders",
      scopes: ["read", "write"],
      expiresAt: null,
      revokedAt: null,
    });
    const secret = made.token.slice(`mesh_${made.id}_`.length);
    expect(made.token).toBe(`mesh_${made.id}_${secret}`);
    // The catalog record: the hash of the secret, never the secret.
    const record = log.records.find((r) => r.key === `token/${made.id}`)?.value as unknown;
    expect(record).toMatchObject({ type: "token", secretSha256: sha256Hex(secret) });
    expect(JSON.stringify(log.records)).not.toContain(secret);
    // The listing never shows the secret or its hash.
    const listed = await app.inject({ url: "/v1/tokens", headers: authHeaders() });
    expect(listed.json()).toEqual({
      tokens: [expect.objectContaining({ id: made.id, service: "orders" })],
    });
    expect(listed.body).not.toContain(secret);
    expect(listed.body).not.toContain("secretSha256");
    // Usable at once: GET needs read (it has it); the tokens routes need the admin (it is not).
    expect((await app.inject({ url: "/v1/sources", headers: authHeaders(made.token) })).statusCode).toBe(200);
    const denied = await app.inject({ url: "/v1/tokens", headers: authHeaders(made.token) });
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toMatchObject({ code: "MESH_FORBIDDEN", details: { scope: "admin" } });
  });

  it("revokes: refused at once, the record kept with revokedAt; revoking again is the same", async () => {
    const made = (await make({ service: "shop", scopes: ["read"] })).json<{ id: string; token: string }>();
    const revoked = await app.inject({
      method: "DELETE",
      url: `/v1/tokens/${made.id}`,
      headers: authHeaders(),
    });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json()).toMatchObject({ id: made.id, revokedAt: expect.any(String) });
    const refused = await app.inject({ url: "/v1/sources", headers: authHeaders(made.token) });
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ code: "MESH_UNAUTHORIZED" });
    const again = await app.inject({
      method: "DELETE",
      url: `/v1/tokens/${made.id}`,
      headers: authHeaders(),
    });
    expect(again.json()).toEqual(revoked.json());
    const unknown = await app.inject({
      method: "DELETE",
      url: "/v1/tokens/0123456789abcdef",
      headers: authHeaders(),
    });
    expect(unknown.statusCode).toBe(404);
  });

  it("honours expiresAt, and refuses bad input: unknown scopes, no scopes, a bad service; a past expiry (422)", async () => {
    const soon = new Date(Date.now() + 60_000).toISOString();
    const made = await make({ service: "shop", scopes: ["metrics"], expiresAt: soon });
    expect(made.json()).toMatchObject({ expiresAt: soon, scopes: ["metrics"] });
    for (const body of [
      { service: "shop", scopes: ["admin"] },
      { service: "shop", scopes: [] },
      { service: "a.b", scopes: ["read"] },
      { scopes: ["read"] },
      { service: "shop", scopes: ["read"], extra: 1 },
    ]) {
      const res = await make(body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
    }
    // Schema-valid but impossible: 422 (a request the OpenAPI document allows is never a 400).
    const past = await make({ service: "shop", scopes: ["read"], expiresAt: "2020-01-01T00:00:00Z" });
    expect(past.statusCode).toBe(422);
    expect(past.json()).toMatchObject({ code: "MESH_UNPROCESSABLE", details: { field: "expiresAt" } });
  });

  it("needs a token: none is 401, a service token's write is 403 (admin only)", async () => {
    const none = await app.inject({
      method: "POST",
      url: "/v1/tokens",
      payload: { service: "x", scopes: ["read"] },
    });
    expect(none.statusCode).toBe(401);
    const writer = (await make({ service: "shop", scopes: ["read", "write"] })).json<{ token: string }>();
    const res = await make({ service: "other", scopes: ["read"] }, writer.token);
    expect(res.statusCode).toBe(403);
    expect(ctx.catalog.tokens().map((t) => t.service)).toEqual(["shop"]);
  });
});
