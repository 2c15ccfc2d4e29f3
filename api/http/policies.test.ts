// /v1/policies through inject(): who may grant, list and revoke, and the input each refuses (the paths that
// serve data under policies are api/e2e/policies.e2e.test.ts's, on the real stack).
import type { FastifyInstance } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { authHeaders, mintServiceToken, testAuthenticator } from "../../test/support/auth.ts";
import { sourceRecord } from "../catalog/records-fixture.ts";
import { fakeContext, type FakeContext } from "../testing/fakes.ts";
import { buildApi } from "./server.ts";

let ctx: FakeContext;
let app: FastifyInstance;
const tokens: Record<string, string> = {};
const topic = "crm.public.customers";

beforeEach(async () => {
  ctx = await fakeContext();
  const auth = testAuthenticator();
  for (const service of ["crm", "shop", "billing"])
    tokens[service] = mintServiceToken(auth.tokens, { service, scopes: ["read", "write"] }).token;
  tokens.reader = mintServiceToken(auth.tokens, { service: "crm", scopes: ["read"] }).token;
  app = await buildApi(ctx, { auth });
  await ctx.catalog.putSource(sourceRecord("crm", "crm", ["public.customers"]));
});

afterEach(async () => {
  await app.close();
  await ctx.catalog.stop();
});

function post(token: string, body: object): Promise<{ statusCode: number; json: <T = unknown>() => T }> {
  return app.inject({ method: "POST", url: "/v1/policies", headers: authHeaders(token), payload: body });
}

describe("/v1/policies", () => {
  it("only the owner (or the admin) grants; the key is never shown; readers see what concerns them", async () => {
    const byOther = await post(tokens.shop!, { table: topic, reader: "shop" });
    expect(byOther.statusCode).toBe(403);
    expect(byOther.json()).toMatchObject({
      code: "MESH_FORBIDDEN",
      details: { owner: "crm", reason: "not the owner" },
    });
    const readOnly = await post(tokens.reader!, { table: topic, reader: "shop" });
    expect(readOnly.json()).toMatchObject({ code: "MESH_FORBIDDEN", details: { scope: "write" } });
    const granted = await post(tokens.crm!, { table: topic, reader: "shop", columns: { email: "redact" } });
    expect(granted.statusCode).toBe(201);
    const policy = granted.json<Record<string, unknown>>();
    expect(policy).toMatchObject({
      topic,
      owner: "crm",
      reader: "shop",
      columns: { email: "redact" },
      kafkaAcl: false,
    });
    expect(policy).not.toHaveProperty("key");
    const admin = await app.inject({
      method: "POST",
      url: "/v1/policies",
      headers: authHeaders(),
      payload: { topic, reader: "billing" },
    });
    expect(admin.json()).toMatchObject({
      owner: "crm",
      reader: "billing",
      kafkaAcl: true,
      createdBy: "admin",
    });

    const list = async (token?: string): Promise<string[]> =>
      (await app.inject({ url: "/v1/policies", headers: authHeaders(token) }))
        .json<{ policies: { reader: string }[] }>()
        .policies.map((p) => p.reader);
    expect(await list(tokens.crm)).toEqual(["shop", "billing"]);
    expect(await list(tokens.shop)).toEqual(["shop"]);
    expect(await list()).toEqual(["shop", "billing"]);
    const hidden = await app.inject({
      url: `/v1/policies/${String(policy.id)}`,
      headers: authHeaders(tokens.billing),
    });
    expect(hidden.statusCode).toBe(404);

    const revokeByReader = await app.inject({
      method: "DELETE",
      url: `/v1/policies/${String(policy.id)}`,
      headers: authHeaders(tokens.shop),
    });
    expect(revokeByReader.statusCode).toBe(403);
    const revoked = await app.inject({
      method: "DELETE",
      url: `/v1/policies/${String(policy.id)}`,
      headers: authHeaders(tokens.crm),
    });
    expect(revoked.json()).toEqual({ deleted: policy.id });
    expect(await list(tokens.shop)).toEqual([]);
  });

  it("refuses what cannot be a grant, naming it", async () => {
    expect((await post(tokens.crm!, { reader: "shop" })).json()).toMatchObject({
      code: "MESH_UNPROCESSABLE",
    });
    expect((await post(tokens.crm!, { table: topic, topic: "x.y.z", reader: "shop" })).statusCode).toBe(422);
    expect((await post(tokens.crm!, { table: topic, reader: "crm" })).json()).toMatchObject({
      code: "MESH_UNPROCESSABLE",
      details: { field: "reader" },
    });
    expect(
      (await post(tokens.crm!, { table: topic, reader: "shop", columns: { email: "blur" } })).statusCode,
    ).toBe(400);
    expect((await post(tokens.crm!, { table: "nobody.public.t", reader: "shop" })).json()).toMatchObject({
      code: "MESH_NOT_FOUND",
    });
    await post(tokens.crm!, { table: topic, reader: "shop" });
    expect(
      (await post(tokens.crm!, { table: topic, reader: "shop", columns: { email: "hash" } })).json(),
    ).toMatchObject({
      code: "MESH_CONFLICT",
    });
  });
});
