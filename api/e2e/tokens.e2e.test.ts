// Identity end to end on the real stack: two API processes on one catalog topic, a registry following it,
// and a materializer member. A service token made through one API works on the other and on the registry
// (as a Bearer token, and as Confluent clients send it: the password of HTTP basic auth), and stops working
// on every one of them within a second of its revocation. No token, a wrong one, an expired one, a revoked
// one are 401 on each server; a `read` token on a write route is 403 naming the scope; only the admin
// manages tokens; the secret is answered once and never stored: not in listings, not on the catalog topic.
// The CLI logs in (0600 file), uses the stored token, and exits 4 with what to do when one is refused.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../lib/logger.ts";
import { startMaterializer, type RunningMaterializer } from "../../materializer/main.ts";
import type { RunningRegistry } from "../../registry/server.ts";
import {
  authHeaders,
  basicAuthHeaders,
  createServiceToken,
  TEST_ADMIN_TOKEN,
  testInternalCredential,
} from "../../test/support/auth.ts";
import { kafka, kafkaConnection } from "../../test/support/stack.ts";
import type { RunningApi } from "../service.ts";
import {
  api,
  mesh,
  readTopicToEnd,
  startTestApi,
  startTestRegistry,
  testCatalogTopic,
  until,
} from "./harness.ts";

const catalogTopic = testCatalogTopic();
const dataDir = mkdtempSync(join(tmpdir(), "mesh-tokens-e2e-"));
const configHome = mkdtempSync(join(tmpdir(), "mesh-tokens-login-"));
let registry: RunningRegistry;
let first: RunningApi;
let second: RunningApi;
let member: RunningMaterializer;

const CT = "application/vnd.schemaregistry.v1+json";
const schema = JSON.stringify({ type: "record", name: "T", fields: [{ name: "id", type: "long" }] });

async function registry401or(
  path: string,
  headers: Record<string, string>,
  method = "GET",
): Promise<Response> {
  return fetch(`${registry.url}${path}`, {
    method,
    headers: { "content-type": CT, ...headers },
    ...(method === "POST" ? { body: JSON.stringify({ schema }) } : {}),
  });
}

beforeAll(async () => {
  registry = await startTestRegistry(catalogTopic);
  first = await startTestApi(registry.url, catalogTopic);
  second = await startTestApi(registry.url, catalogTopic);
  member = await startMaterializer(
    {
      adminToken: TEST_ADMIN_TOKEN,
      ...kafkaConnection(),
      registryUrl: registry.url,
      dataDir,
      views: [],
      logLevel: "silent",
      catalogTopic,
      listen: { host: "127.0.0.1", port: 0 },
    },
    silentLogger(),
  );
}, 120_000);

afterAll(async () => {
  await member?.stop();
  await second?.stop();
  await first?.stop();
  await registry?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(configHome, { recursive: true, force: true });
});

describe("tokens", () => {
  it("are made by the admin only, answered once, listed without a secret, kept hashed in the catalog", async () => {
    const made = await api(first.url, "POST", "/v1/tokens", { service: "billing", scopes: ["read"] });
    expect(made.status).toBe(201);
    const token = made.body.token as string;
    expect(token).toMatch(new RegExp(`^mesh_${String(made.body.id)}_`));
    const listed = await api(second.url, "GET", "/v1/tokens");
    expect(listed.status).toBe(200);
    const entry = (listed.body.tokens as Record<string, unknown>[]).find((t) => t.id === made.body.id);
    expect(entry).toMatchObject({ service: "billing", scopes: ["read"], revokedAt: null, expiresAt: null });
    expect(JSON.stringify(listed.body)).not.toContain(token.slice(`mesh_${String(made.body.id)}_`.length));
    expect(entry).not.toHaveProperty("secretSha256");
    // The catalog topic holds the hash only.
    const records = await readTopicToEnd(kafka(), catalogTopic);
    const raw = records.map((r) => r.value?.toString("utf8") ?? "").join("\n");
    expect(raw).toContain(`"id":"${String(made.body.id)}"`);
    expect(raw).not.toContain(token.split("_").slice(2).join("_"));
    // A service token may not make or see tokens, even with every scope.
    const all = await createServiceToken(first.url, { service: "ops", scopes: ["read", "write", "metrics"] });
    const refused = await api(first.url, "POST", "/v1/tokens", { service: "x", scopes: ["read"] }, all.token);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: "MESH_FORBIDDEN", details: { scope: "admin" } });
    expect((await api(first.url, "GET", "/v1/tokens", undefined, all.token)).status).toBe(403);
    // A past expiry is refused as input.
    const past = await api(first.url, "POST", "/v1/tokens", {
      service: "x",
      scopes: ["read"],
      expiresAt: "2020-01-01T00:00:00Z",
    });
    expect(past.status).toBe(422);
  });

  it("work on every process and stop on every one within a second of a revocation", async () => {
    const { id, token } = await createServiceToken(first.url, { service: "shop", scopes: ["read"] });
    // The other API and the registry learn it from the catalog's tail.
    await until("the second API to know the token", async () => {
      return (await api(second.url, "GET", "/v1/status", undefined, token)).status === 200;
    });
    await until("the registry to know the token", async () => {
      const bearer = await registry401or("/subjects", authHeaders(token));
      return bearer.status === 200;
    });
    // Confluent clients' way: the token as the basic-auth password, whatever the user name.
    expect((await registry401or("/subjects", basicAuthHeaders(token, "shop-service"))).status).toBe(200);

    const revoked = await api(first.url, "DELETE", `/v1/tokens/${id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toEqual(expect.any(String));
    const at = Date.now();
    // This process answers only once its own catalog applied the revocation: refused at once here.
    expect((await api(first.url, "GET", "/v1/status", undefined, token)).status).toBe(401);
    await until(
      "the revocation to reach the second API and the registry",
      async () =>
        (await api(second.url, "GET", "/v1/status", undefined, token)).status === 401 &&
        (await registry401or("/subjects", basicAuthHeaders(token))).status === 401,
      5_000,
    );
    expect(Date.now() - at).toBeLessThan(1_000);
    const answer = await registry401or("/subjects", basicAuthHeaders(token));
    expect(await answer.json()).toMatchObject({ error_code: 40101 });
    // Revoking again is idempotent; an unknown id is 404.
    expect((await api(second.url, "DELETE", `/v1/tokens/${id}`)).status).toBe(200);
    expect((await api(second.url, "DELETE", "/v1/tokens/0123456789abcdef")).status).toBe(404);
  });

  it("are refused with 401 when missing, wrong or expired, and 403 on a route their scopes do not cover", async () => {
    const expiring = await createServiceToken(first.url, {
      service: "shop",
      scopes: ["read"],
      expiresAt: new Date(Date.now() + 2_500).toISOString(),
    });
    const reader = await createServiceToken(first.url, { service: "shop", scopes: ["read"] });
    await until("the registry to know the tokens", async () => {
      return (await registry401or("/subjects", authHeaders(reader.token))).status === 200;
    });
    for (const base of [first.url, second.url]) {
      const none = await api(base, "GET", "/v1/sources", undefined, null);
      expect(none.status).toBe(401);
      expect(none.body).toMatchObject({ code: "MESH_UNAUTHORIZED", details: { reason: "no token" } });
      expect((await api(base, "GET", "/v1/sources", undefined, `${reader.token}x`)).status).toBe(401);
      expect((await api(base, "GET", "/healthz", undefined, null)).status).toBe(200);
    }
    // The registry: 401 40101 without a token or with a wrong one, 403 40301 for a read token's write.
    expect((await registry401or("/subjects", {})).status).toBe(401);
    expect((await registry401or("/subjects", basicAuthHeaders("wrong-token"))).status).toBe(401);
    const write = await registry401or(
      "/subjects/tok-e2e-value/versions",
      basicAuthHeaders(reader.token),
      "POST",
    );
    expect(write.status).toBe(403);
    expect(await write.json()).toMatchObject({ error_code: 40301 });
    const admin = await registry401or("/subjects/tok-e2e-value/versions", basicAuthHeaders(), "POST");
    expect(admin.status).toBe(200);
    // The materializer member: no token 401; a service token 403 (services read views through the API);
    // the admin and another process's internal credential pass.
    const views = `${member.url!}/v1/views`;
    expect((await fetch(views)).status).toBe(401);
    const service = await fetch(views, { headers: authHeaders(reader.token) });
    expect(service.status).toBe(403);
    expect(await service.json()).toMatchObject({ code: "MESH_FORBIDDEN" });
    expect((await fetch(views, { headers: authHeaders() })).status).toBe(200);
    expect((await fetch(views, { headers: authHeaders(testInternalCredential("api")) })).status).toBe(200);
    // A write route with a read token: 403 naming the scope (POST /v1/views needs `write`).
    const declared = await api(
      first.url,
      "POST",
      "/v1/views",
      { sql: "CREATE VIEW nope AS SELECT o.id FROM nowhere.public.orders o" },
      reader.token,
    );
    expect(declared.status).toBe(403);
    expect(declared.body).toMatchObject({ code: "MESH_FORBIDDEN", details: { scope: "write" } });
    // The expired token: refused once its time has passed, on every server.
    await until(
      "the token to expire",
      async () => (await api(first.url, "GET", "/v1/status", undefined, expiring.token)).status === 401,
      10_000,
    );
    expect((await api(second.url, "GET", "/v1/status", undefined, expiring.token)).status).toBe(401);
    expect((await registry401or("/subjects", basicAuthHeaders(expiring.token))).status).toBe(401);
  });
});

describe("the CLI", () => {
  it("logs in with a stored 0600 token, uses it, and exits 4 with what to do when a token is refused", async () => {
    const { token } = await createServiceToken(first.url, { service: "cli", scopes: ["read"] });
    const env = { MESH_API_URL: first.url, MESH_TOKEN: "", XDG_CONFIG_HOME: configHome };
    const before = await mesh(["status"], env);
    expect(before.code).toBe(4);
    expect(before.stderr).toContain("MESH_UNAUTHORIZED");
    expect(before.stderr).toContain("mesh login");
    const wrong = await mesh(["login", "--token", `${token}x`], env);
    expect(wrong.code).toBe(4);
    const login = await mesh(["login", "--token", token], env);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout + login.stderr).not.toContain(token);
    const file = join(configHome, "datamesh", "token");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const status = await mesh(["status", "--json"], env);
    expect(status.code, status.stderr).toBe(0);
    // A read token on a write command: 403, exit 4, the scope named.
    const add = await mesh(["view", "create", "CREATE VIEW v AS SELECT o.id FROM x.public.orders o"], env);
    expect(add.code).toBe(4);
    expect(add.stderr).toContain("MESH_FORBIDDEN");
    expect((await mesh(["logout"], env)).code).toBe(0);
    expect((await mesh(["status", "--json"], env)).code).toBe(4);
  });
});
