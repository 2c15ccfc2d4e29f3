// GET /v1/audit over the real `_mesh_audit` (a topic of this test's own): the API's changes (successful and
// failed) and denials (401 without a token, 403 for a service token asking for the audit) each become one
// entry, read back through the route with filters and cursors; only the admin reads it; no entry, and no
// answer of the route, holds a token or a source password.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { realClock } from "../../lib/clock.ts";
import type { TokenAuthenticator } from "../../lib/http/auth-tokens.ts";
import { silentLogger } from "../../lib/logger.ts";
import { AuditWriter } from "../../protocol/audit-writer.ts";
import {
  authHeaders,
  mintServiceToken,
  TEST_ADMIN_TOKEN,
  testAuthenticator,
} from "../../test/support/auth.ts";
import { kafka, uniqueName } from "../../test/support/stack.ts";
import { buildApi } from "../http/server.ts";
import { fakeContext, type FakeContext } from "../testing/fakes.ts";
import { KafkaAuditLog, type AuditEntry } from "./audit-log.ts";

const k = kafka();
const topic = uniqueName("_mesh_audit_route");
const writer = new AuditWriter({ kafka: k, topic, logger: silentLogger(), clock: realClock });
let ctx: FakeContext;
let app: FastifyInstance;
let auth: TokenAuthenticator;
let reader: { id: string; token: string };
const PASSWORD = "pg-s3cret-password";

beforeAll(async () => {
  ctx = await fakeContext();
  ctx.audit = { sink: writer, log: new KafkaAuditLog({ kafka: k, topic }) };
  auth = testAuthenticator();
  reader = mintServiceToken(auth.tokens, { service: "billing", scopes: ["read", "write"] });
  app = await buildApi(ctx, { auth });
});

afterAll(async () => {
  await app.close();
  await ctx.reconciler.stop();
  await writer.close();
  await k.admin().deleteTopics([topic]);
});

interface Page {
  entries: AuditEntry[];
  next: string | null;
}

async function audit(query = "", token = TEST_ADMIN_TOKEN): Promise<{ status: number; body: Page }> {
  const res = await app.inject({ url: `/v1/audit${query}`, headers: authHeaders(token) });
  return { status: res.statusCode, body: res.json<Page>() };
}

describe("GET /v1/audit", () => {
  it("lists each change and each denial once, filtered and paged, for the admin only", async () => {
    const source = uniqueName("src").replaceAll("_", "-");
    const send = (method: "POST" | "DELETE", url: string, body?: object, token = TEST_ADMIN_TOKEN) =>
      app.inject({
        method,
        url,
        headers: { ...authHeaders(token), "x-request-id": `${source}-${method}-${url.length}` },
        ...(body ? { payload: body } : {}),
      });
    const created = await send("POST", "/v1/sources", {
      name: source,
      owner: "orders",
      kind: "postgres",
      url: `postgres://app:${PASSWORD}@127.0.0.1:5432/orders`,
      tables: ["public.orders"],
    });
    expect(created.statusCode, created.body).toBe(201);
    const refused = await send("POST", "/v1/sources", { name: source, nope: 1 });
    expect(refused.statusCode).toBe(400);
    expect((await send("DELETE", `/v1/sources/${source}`)).statusCode).toBe(200);
    // Denials: no token, a wrong token, and a service token asking for the audit (refused, and audited).
    expect((await app.inject({ url: "/v1/sources" })).statusCode).toBe(401);
    expect(
      (await app.inject({ url: "/v1/sources", headers: authHeaders("mesh_0000000000000000_guess") }))
        .statusCode,
    ).toBe(401);
    const forbidden = await audit("", reader.token);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toMatchObject({ code: "MESH_FORBIDDEN", details: { scope: "admin" } });
    // Reads are not changes.
    expect((await app.inject({ url: "/v1/sources", headers: authHeaders() })).statusCode).toBe(200);
    await writer.flush();

    const all = await audit("?order=asc&limit=1000");
    expect(all.status).toBe(200);
    const lines = all.body.entries.map((e) => [e.method, e.route, e.status, e.code, e.outcome, e.kind]);
    expect(lines).toEqual([
      ["POST", "/v1/sources", 201, null, "success", "admin"],
      ["POST", "/v1/sources", 400, "MESH_UNKNOWN_FIELD", "failure", "admin"],
      ["DELETE", "/v1/sources/:name", 200, null, "success", "admin"],
      ["GET", "/v1/sources", 401, "MESH_UNAUTHORIZED", "denied", "anonymous"],
      ["GET", "/v1/sources", 401, "MESH_UNAUTHORIZED", "denied", "anonymous"],
      ["GET", "/v1/audit", 403, "MESH_FORBIDDEN", "denied", "service"],
    ]);
    expect(all.body.entries[0]).toMatchObject({
      server: "api",
      principal: "admin",
      resource: source,
      action: "sources.create",
      requestId: `${source}-POST-${"/v1/sources".length}`,
    });
    expect(all.body.entries[2]).toMatchObject({ resource: source, action: "sources.delete" });
    expect(all.body.entries[3]).toMatchObject({ reason: "no token", principal: null });
    expect(all.body.entries[4]).toMatchObject({ reason: "invalid token", principal: null });
    expect(all.body.entries[5]).toMatchObject({
      principal: reader.id,
      service: "billing",
      action: "audit.read",
      scope: "admin",
    });

    // Filters and pages over HTTP.
    const denied = await audit("?outcome=denied&limit=2");
    expect(denied.body.entries.map((e) => e.status)).toEqual([403, 401]);
    expect(denied.body.next).toMatch(/^d\d+$/);
    const rest = await audit(`?outcome=denied&limit=2&cursor=${denied.body.next}`);
    expect(rest.body.entries.map((e) => e.status)).toEqual([401]);
    expect(rest.body.next).toBeNull();
    // The refused registration names the source it meant too.
    expect((await audit(`?action=sources&resource=${source}`)).body.entries.map((e) => e.status)).toEqual([
      200, 400, 201,
    ]);
    expect((await audit("?service=billing")).body.entries).toHaveLength(1);
    expect((await audit(`?principal=${reader.id}`)).body.entries).toHaveLength(1);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await audit(`?since=${future}`)).body.entries).toEqual([]);
    expect((await audit(`?until=${future}&limit=1000`)).body.entries).toHaveLength(6);
    // A cursor carries its order: another order with it is refused.
    expect((await audit("?order=desc&cursor=a0")).status).toBe(422);
    expect((await audit("?outcome=maybe")).status).toBe(400);

    // No secret anywhere: not the tokens, not the source's password.
    const text = JSON.stringify(all.body);
    for (const secret of [TEST_ADMIN_TOKEN, reader.token, PASSWORD, "guess"])
      expect(text).not.toContain(secret);
  });

  it("names views' changes too: a declaration, a parked-record retry that found nothing, a drop", async () => {
    const view = uniqueName("v").replaceAll("-", "_");
    const admin = { ...authHeaders(), "content-type": "application/json" };
    const declared = await app.inject({
      method: "POST",
      url: "/v1/views",
      headers: admin,
      payload: { sql: `CREATE VIEW ${view} AS SELECT o.id, o.status FROM orders o`, owner: "orders" },
    });
    expect(declared.statusCode, declared.body).toBe(201);
    const retried = await app.inject({
      method: "POST",
      url: `/v1/views/${view}/parked/retry`,
      headers: admin,
      payload: { topic: "orders-db.public.orders", key: "0a01" },
    });
    expect(retried.statusCode, retried.body).toBe(404);
    expect(
      (await app.inject({ method: "DELETE", url: `/v1/views/${view}`, headers: authHeaders() })).statusCode,
    ).toBe(200);
    await writer.flush();
    const entries = (await audit(`?resource=${view}&order=asc`)).body.entries;
    expect(entries.map((e) => [e.action, e.status, e.code, e.outcome])).toEqual([
      ["views.create", 201, null, "success"],
      ["views.parked.retry", 404, "MESH_NOT_FOUND", "failure"],
      ["views.delete", 200, null, "success"],
    ]);
  });
});
