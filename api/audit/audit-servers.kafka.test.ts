// Every server audits into one `_mesh_audit` (here `<catalog>_audit` of this test's own catalog topic): the
// API's changes (a service token created, then revoked) and its denials, the registry's 401 and 403 (a read
// token registering a schema), a materializer member's 401 and 403 (services read views through the API) —
// each one entry, read back through the API's GET /v1/audit, none of them holding a token.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../lib/logger.ts";
import { startMaterializer, type RunningMaterializer } from "../../materializer/main.ts";
import { startRegistry, type RunningRegistry } from "../../registry/server.ts";
import { authHeaders, createServiceToken, TEST_ADMIN_TOKEN, TEST_AUTH_ENV } from "../../test/support/auth.ts";
import { kafka, kafkaConnection, kafkaEnv, uniqueName } from "../../test/support/stack.ts";
import { waitFor } from "../../test/support/wait.ts";
import { parseApiConfig } from "../config.ts";
import { startApi, type RunningApi } from "../service.ts";
import type { AuditEntry } from "./audit-log.ts";

const catalogTopic = uniqueName("_mesh_catalog_audit");
const auditTopic = `${catalogTopic}_audit`;
const dataDir = mkdtempSync(join(tmpdir(), "mesh-audit-"));
let registry: RunningRegistry;
let materializer: RunningMaterializer;
let api: RunningApi;

beforeAll(async () => {
  registry = await startRegistry({
    ...kafkaConnection(),
    port: 0,
    topic: uniqueName("_schemas_audit"),
    logger: silentLogger(),
    adminToken: TEST_ADMIN_TOKEN,
    catalogTopic,
  });
  api = await startApi(
    parseApiConfig(["--port", "0", "--catalog-topic", catalogTopic, "--registry", registry.url], {
      ...kafkaEnv(),
      ...TEST_AUTH_ENV,
    }),
    { logger: silentLogger() },
  );
  materializer = await startMaterializer(
    {
      ...kafkaConnection(),
      registryUrl: registry.url,
      dataDir,
      views: [],
      logLevel: "silent",
      catalogTopic,
      listen: { host: "127.0.0.1", port: 0 },
      adminToken: TEST_ADMIN_TOKEN,
    },
    silentLogger(),
  );
}, 120_000);

afterAll(async () => {
  await materializer?.stop();
  await api?.stop();
  await registry?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  await kafka().admin().deleteTopics([auditTopic]);
});

async function call(
  url: string,
  init: { method?: string; token?: string; body?: unknown } = {},
): Promise<number> {
  const res = await fetch(url, {
    method: init.method ?? "GET",
    headers: {
      ...(init.token ? authHeaders(init.token) : {}),
      ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  await res.arrayBuffer();
  return res.status;
}

async function entries(query: string): Promise<AuditEntry[]> {
  const res = await fetch(`${api.url}/v1/audit?order=asc&limit=1000&${query}`, { headers: authHeaders() });
  expect(res.status).toBe(200);
  return ((await res.json()) as { entries: AuditEntry[] }).entries;
}

describe("the audit log of every server", () => {
  it("holds each server's denials and the API's changes, once each, without a token", async () => {
    const reader = await createServiceToken(api.url, { service: "billing", scopes: ["read"] });
    const members = materializer.url!;
    // The other servers know the token once they read it from the catalog: 403 (not 401) then.
    await waitFor(async () => (await call(`${registry.url}/subjects`, { token: reader.token })) === 200, {
      what: "the registry knows the new token",
      timeoutMs: 30_000,
    });
    await waitFor(async () => (await call(`${members}/v1/views`, { token: reader.token })) === 403, {
      what: "the member knows the new token",
      timeoutMs: 30_000,
    });
    expect(await call(`${registry.url}/subjects`)).toBe(401);
    const schema = { schema: JSON.stringify({ type: "record", name: "R", fields: [] }) };
    expect(
      await call(`${registry.url}/subjects/audit-value/versions`, {
        method: "POST",
        token: reader.token,
        body: schema,
      }),
    ).toBe(403);
    expect(await call(`${members}/v1/views`)).toBe(401);
    expect(await call(`${api.url}/v1/audit`, { token: reader.token })).toBe(403);
    expect(
      await call(`${api.url}/v1/tokens/${reader.id}`, { method: "DELETE", token: TEST_ADMIN_TOKEN }),
    ).toBeLessThan(300);

    const seen = await waitFor(
      async () => {
        const all = await entries("");
        return all.some((e) => e.action === "tokens.delete") &&
          all.filter((e) => e.server !== "api").length >= 4
          ? all
          : null;
      },
      { what: "every server's entries in the audit log", timeoutMs: 30_000 },
    );
    const lines = (server: string): unknown[] =>
      seen.filter((e) => e.server === server).map((e) => [e.method, e.route, e.status, e.code, e.kind]);
    expect(lines("registry")).toEqual([
      ["GET", "/subjects", 401, "40101", "anonymous"],
      ["POST", "/subjects/:subject/versions", 403, "40301", "service"],
    ]);
    // The first refusal is the wait above (one 403, the member then knew the token).
    expect(lines("materializer").slice(-2)).toEqual([
      ["GET", "/v1/views", 403, "MESH_FORBIDDEN", "service"],
      ["GET", "/v1/views", 401, "MESH_UNAUTHORIZED", "anonymous"],
    ]);
    expect(
      seen
        .filter((e) => e.server === "materializer" && e.status === 403)
        .every((e) => e.principal === reader.id),
    ).toBe(true);
    expect(lines("api")).toEqual(
      expect.arrayContaining([
        ["POST", "/v1/tokens", 201, null, "admin"],
        ["GET", "/v1/audit", 403, "MESH_FORBIDDEN", "service"],
        ["DELETE", "/v1/tokens/:id", expect.any(Number), null, "admin"],
      ]),
    );
    expect(seen.find((e) => e.action === "tokens.create")).toMatchObject({
      resource: reader.id,
      principal: "admin",
    });
    expect(seen.find((e) => e.action === "tokens.delete")).toMatchObject({ resource: reader.id });
    // Filters by server.
    expect((await entries("server=registry")).map((e) => e.server)).toEqual(["registry", "registry"]);
    const text = JSON.stringify(seen);
    expect(text).not.toContain(reader.token);
    expect(text).not.toContain(TEST_ADMIN_TOKEN);
  });
});
