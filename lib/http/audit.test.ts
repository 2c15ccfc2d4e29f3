// The audit hook: which answers become entries (changes on a server that audits them, every 401/403 on any
// server), and what an entry says (who, what, outcome, request id) — never a token or a request body.
import { describe, expect, it } from "vitest";
import { MeshError } from "../errors.ts";
import { actionOf, type AuditedRequest } from "./audit.ts";
import { createServer } from "./server.ts";
import { mintServiceToken, testAuthenticator } from "../../test/support/auth.ts";

// A real authenticator (the test admin token's) with one service token of the service "orders".
const authenticator = testAuthenticator();
const minted = mintServiceToken(authenticator.tokens, { service: "orders", scopes: ["read", "write"] });
const TOKEN = minted.token;

function server(changes: boolean) {
  const entries: AuditedRequest[] = [];
  const app = createServer({
    name: "api",
    auth: authenticator,
    openPaths: ["/open"],
    audit: { sink: { write: (e) => entries.push(e) }, changes },
  });
  app.get("/open", () => ({ ok: true }));
  app.get("/v1/sources/:name", () => ({ name: "x" }));
  app.post("/v1/sources", (request, reply) =>
    reply.status(201).send({ name: (request.body as { name: string }).name, secret: "pw" }),
  );
  app.post("/v1/sources/:name/pause", () => {
    throw new MeshError("MESH_FORBIDDEN", "not yours", { scope: "write", service: "orders" });
  });
  app.post("/v1/views", () => {
    throw new MeshError("MESH_BAD_SQL", "no", { reason: "quoted input" });
  });
  app.post("/v1/views/check", { config: { audit: false } }, () => ({ ok: true }));
  return { app, entries };
}

const auth = { authorization: `Bearer ${TOKEN}` };

describe("the audit hook", () => {
  it("writes one entry per change, successful or failed, naming who, what and the outcome", async () => {
    const { app, entries } = server(true);
    const created = await app.inject({
      method: "POST",
      url: "/v1/sources",
      headers: { ...auth, "x-request-id": "req-1" },
      payload: { name: "orders-db", url: "postgres://u:pw@h/db" },
    });
    expect(created.statusCode).toBe(201);
    const failed = await app.inject({
      method: "POST",
      url: "/v1/views",
      headers: auth,
      payload: { sql: "CREATE VIEW totals AS SELECT nope" },
    });
    expect(failed.statusCode).toBe(422);
    // Reads and a route that opts out are not changes.
    await app.inject({ url: "/v1/sources/orders-db", headers: auth });
    await app.inject({ method: "POST", url: "/v1/views/check", headers: auth, payload: {} });
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({
      server: "api",
      principal: { id: minted.id, service: "orders", admin: false, internal: false },
      method: "POST",
      route: "/v1/sources",
      resource: "orders-db",
      action: "sources.create",
      status: 201,
      code: null,
      requestId: "req-1",
    });
    expect(entries[1]).toMatchObject({
      route: "/v1/views",
      resource: "totals",
      action: "views.create",
      status: 422,
      code: "MESH_BAD_SQL",
      // Only denials keep their details' reason.
      reason: null,
    });
    expect(JSON.stringify(entries)).not.toMatch(/s3cr3t|pw@|"pw"/);
  });

  it("writes every 401 and 403, on any method, with the reason, also where changes are not audited", async () => {
    const { app, entries } = server(false);
    expect((await app.inject({ url: "/v1/sources/a" })).statusCode).toBe(401);
    const wrong = await app.inject({
      url: "/v1/sources/a",
      headers: { authorization: "Bearer mesh_x_wrong" },
    });
    expect(wrong.statusCode).toBe(401);
    const forbidden = await app.inject({ method: "POST", url: "/v1/sources/a/pause", headers: auth });
    expect(forbidden.statusCode).toBe(403);
    await app.inject({ method: "POST", url: "/v1/sources", headers: auth, payload: { name: "b" } });
    await app.inject({ url: "/open" });
    expect(entries.map((e) => [e.method, e.route, e.status, e.code])).toEqual([
      ["GET", "/v1/sources/:name", 401, "MESH_UNAUTHORIZED"],
      ["GET", "/v1/sources/:name", 401, "MESH_UNAUTHORIZED"],
      ["POST", "/v1/sources/:name/pause", 403, "MESH_FORBIDDEN"],
    ]);
    expect(entries[0]).toMatchObject({
      principal: null,
      resource: "a",
      action: "sources.read",
      reason: "no token",
    });
    expect(entries[2]).toMatchObject({
      principal: { service: "orders" },
      action: "sources.pause",
      scope: "write",
      reason: null,
    });
    expect(JSON.stringify(entries)).not.toContain("wrong");
  });

  it("names actions from the method and the route template", () => {
    expect(actionOf("POST", "/v1/sources")).toBe("sources.create");
    expect(actionOf("DELETE", "/v1/sources/:name")).toBe("sources.delete");
    expect(actionOf("POST", "/v1/sources/:name/pause")).toBe("sources.pause");
    expect(actionOf("POST", "/v1/views/:name/parked/retry")).toBe("views.parked.retry");
    expect(actionOf("PUT", "/v1/events/:topic/types/:type")).toBe("events.types.put");
    expect(actionOf("GET", "/v1/views/:name/rows")).toBe("views.rows.read");
    expect(actionOf("POST", "/subjects/:subject/versions")).toBe("subjects.versions");
    expect(actionOf("GET", "unmatched")).toBe("unmatched.read");
  });
});
