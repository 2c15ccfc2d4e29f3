// The auth hook every server gets from registerCommon: no token, a wrong one, an expired one and a revoked
// one are 401 MESH_UNAUTHORIZED (Confluent's 40101 on a server with that shape); a scope the token lacks is
// 403 MESH_FORBIDDEN with details.scope; /healthz and /readyz stay open; Basic auth only where enabled.
import { describe, expect, it } from "vitest";
import {
  authHeaders,
  basicAuthHeaders,
  mintServiceToken,
  TEST_ADMIN_TOKEN,
  testAuthenticator,
  testInternalCredential,
} from "../../test/support/auth.ts";
import { internalCredential, TokenAuthenticator } from "./auth-tokens.ts";
import { presentedToken, principalOf, requireScope } from "./auth.ts";
import type { ErrorShape } from "./errors.ts";
import { createServer } from "./server.ts";

function server(auth = testAuthenticator(), basic = false) {
  const app = createServer({ auth, basicAuth: basic });
  app.get("/healthz", () => ({ status: "ok" }));
  app.get("/readyz", () => ({ status: "ready" }));
  app.get("/who", (request) => principalOf(request));
  app.post("/write", (request) => ({ by: requireScope(request, "write").id }));
  return app;
}

describe("the auth hook", () => {
  it("answers 401 MESH_UNAUTHORIZED without a token, with a wrong, an expired and a revoked one", async () => {
    let now = Date.parse("2026-01-01T00:00:00Z");
    const auth = testAuthenticator(() => now);
    const app = server(auth);
    const expiring = mintServiceToken(auth.tokens, {
      service: "orders",
      scopes: ["read"],
      expiresAt: "2026-01-01T01:00:00Z",
    });
    const revoked = mintServiceToken(auth.tokens, {
      service: "orders",
      scopes: ["read"],
      revokedAt: "2025-12-31T00:00:00Z",
    });
    const none = await app.inject({ url: "/who" });
    expect(none.statusCode).toBe(401);
    expect(none.headers["www-authenticate"]).toBe('Bearer realm="datamesh"');
    expect(none.json()).toMatchObject({ code: "MESH_UNAUTHORIZED", details: { reason: "no token" } });
    for (const token of ["nope", `${TEST_ADMIN_TOKEN}x`, `${expiring.token}x`, revoked.token]) {
      const res = await app.inject({ url: "/who", headers: authHeaders(token) });
      expect(res.statusCode, token).toBe(401);
      expect(res.json()).toMatchObject({ code: "MESH_UNAUTHORIZED", details: { reason: "invalid token" } });
      expect(res.body).not.toContain(token);
    }
    expect((await app.inject({ url: "/who", headers: authHeaders(expiring.token) })).statusCode).toBe(200);
    now = Date.parse("2026-01-01T01:00:00Z");
    const expired = await app.inject({ url: "/who", headers: authHeaders(expiring.token) });
    expect(expired.statusCode).toBe(401);
  });

  it("sets the principal: admin, internal, service", async () => {
    const auth = testAuthenticator();
    const app = server(auth);
    const minted = mintServiceToken(auth.tokens, { service: "billing", scopes: ["read", "write"] });
    const admin = await app.inject({ url: "/who", headers: authHeaders() });
    expect(admin.json()).toEqual({
      id: "admin",
      service: null,
      admin: true,
      internal: false,
      scopes: ["read", "write", "metrics"],
    });
    const internal = await app.inject({ url: "/who", headers: authHeaders(testInternalCredential("api")) });
    expect(internal.json()).toMatchObject({ id: "internal:api", admin: false, internal: true });
    const service = await app.inject({ url: "/who", headers: authHeaders(minted.token) });
    expect(service.json()).toEqual({
      id: minted.id,
      service: "billing",
      admin: false,
      internal: false,
      scopes: ["read", "write"],
    });
  });

  it("refuses an internal credential made with another admin token, or for another role", async () => {
    const app = server();
    const forged = internalCredential("another-admin-token-0123456789", "api");
    expect((await app.inject({ url: "/who", headers: authHeaders(forged) })).statusCode).toBe(401);
    const swapped = testInternalCredential("api").replace("_api_", "_registry_");
    expect((await app.inject({ url: "/who", headers: authHeaders(swapped) })).statusCode).toBe(401);
  });

  it("answers 403 MESH_FORBIDDEN naming the scope a token lacks; admin passes", async () => {
    const auth = testAuthenticator();
    const app = server(auth);
    const reader = mintServiceToken(auth.tokens, { service: "shop", scopes: ["read"] });
    const denied = await app.inject({ method: "POST", url: "/write", headers: authHeaders(reader.token) });
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toMatchObject({
      code: "MESH_FORBIDDEN",
      details: { scope: "write", service: "shop" },
    });
    const admin = await app.inject({ method: "POST", url: "/write", headers: authHeaders() });
    expect(admin.json()).toEqual({ by: "admin" });
  });

  it("keeps /healthz and /readyz open, and /metrics needs the metrics scope", async () => {
    const auth = testAuthenticator();
    const app = server(auth);
    expect((await app.inject({ url: "/healthz" })).statusCode).toBe(200);
    expect((await app.inject({ url: "/readyz?x=1" })).statusCode).toBe(200);
    expect((await app.inject({ url: "/metrics" })).statusCode).toBe(401);
    const reader = mintServiceToken(auth.tokens, { service: "ops", scopes: ["read"] });
    const scraper = mintServiceToken(auth.tokens, { service: "ops", scopes: ["metrics"] });
    const refused = await app.inject({ url: "/metrics", headers: authHeaders(reader.token) });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: "MESH_FORBIDDEN", details: { scope: "metrics" } });
    expect((await app.inject({ url: "/metrics", headers: authHeaders(scraper.token) })).statusCode).toBe(200);
  });

  it("takes the token as a Basic password only where enabled, whatever the user name", async () => {
    const plain = server(testAuthenticator(), false);
    expect((await plain.inject({ url: "/who", headers: basicAuthHeaders() })).statusCode).toBe(401);
    const basic = server(testAuthenticator(), true);
    const res = await basic.inject({ url: "/who", headers: basicAuthHeaders(TEST_ADMIN_TOKEN, "whoever") });
    expect(res.statusCode).toBe(200);
    expect((await basic.inject({ url: "/who", headers: authHeaders() })).statusCode).toBe(200);
    const none = await basic.inject({ url: "/who" });
    expect(none.headers["www-authenticate"]).toContain("Basic");
  });

  it("answers 401 in the server's own error shape", async () => {
    const confluentLike: ErrorShape = {
      answer: (err) => ({
        status: 401,
        body: { error_code: 40101, message: (err as Error).message },
        internal: false,
        code: 40101,
        message: (err as Error).message,
      }),
      notFound: () => ({ status: 404, body: { error_code: 404, message: "HTTP 404 Not Found" } }),
    };
    const app = createServer({ auth: testAuthenticator(), errors: confluentLike });
    app.get("/x", () => ({}));
    const res = await app.inject({ url: "/x" });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ error_code: 40101 });
  });
});

describe("tokens", () => {
  it("reads Bearer and Basic credentials", () => {
    expect(presentedToken("Bearer abc", false)).toBe("abc");
    expect(presentedToken("bearer  abc ", false)).toBe("abc");
    expect(presentedToken(`Basic ${Buffer.from("u:p:w").toString("base64")}`, true)).toBe("p:w");
    expect(presentedToken(`Basic ${Buffer.from("u:p").toString("base64")}`, false)).toBeNull();
    expect(presentedToken(`Basic ${Buffer.from("u:").toString("base64")}`, true)).toBeNull();
    expect(presentedToken("Bearer ", false)).toBeNull();
    expect(presentedToken(undefined, false)).toBeNull();
  });

  it("refuses a missing or short admin token", () => {
    expect(() => new TokenAuthenticator({ adminToken: "" })).toThrow(/MESH_ADMIN_TOKEN/);
    expect(() => new TokenAuthenticator({ adminToken: "short" })).toThrow(/at least 16/);
  });
});
