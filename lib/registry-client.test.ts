// The one registry client against the registry's own routes (in memory, on a real socket): registering
// (cached; a refusal by the compatibility rule is MESH_SCHEMA_INCOMPATIBLE), codecs by id (cached; an unknown
// id MESH_NOT_FOUND), latest versions, subjects; a registry that does not answer is MESH_REGISTRY_UNAVAILABLE.
import type { AddressInfo } from "node:net";
import type avro from "avsc";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryBackend } from "../registry/backend.ts";
import { buildApp } from "../registry/http/app.ts";
import { RegistryState } from "../registry/store/state.ts";
import { RegistryClient } from "./registry-client.ts";
import { TEST_ADMIN_TOKEN, testAuthenticator } from "../test/support/auth.ts";

const record = (fields: { name: string; type: avro.Schema }[]): avro.Schema => ({
  type: "record",
  name: "R",
  fields,
});
const v1 = record([{ name: "id", type: "long" }]);
const v2 = record([
  { name: "id", type: "long" },
  { name: "x", type: "int" },
]);

describe("RegistryClient", () => {
  let app: FastifyInstance;
  let url = "";
  beforeAll(async () => {
    app = buildApp({ backend: new MemoryBackend(new RegistryState()), auth: testAuthenticator() });
    await app.listen({ host: "127.0.0.1", port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(() => app.close());

  it("registers, looks up by id and subject, and caches what never changes", async () => {
    const client = new RegistryClient({ token: TEST_ADMIN_TOKEN, url: `${url}/` });
    const first = await client.register("t-value", v1);
    expect(first.id).toBeGreaterThan(0);
    expect(first.type.isValid({ id: 1n })).toBe(true);
    const calls = client.requests;
    expect((await client.register("t-value", v1)).id).toBe(first.id);
    expect(client.requests).toBe(calls);
    expect((await client.typeById(first.id)).isValid({ id: 5n })).toBe(true);
    await client.typeById(first.id);
    expect(client.requests).toBe(calls + 1);
    expect(await client.latest("t-value")).toEqual({ version: 1, schema: v1 });
    expect(await client.latestVersion("nope-value")).toBeNull();
    expect(await client.subjects()).toEqual(["t-value"]);
    await expect(client.typeById(9999)).rejects.toMatchObject({ code: "MESH_NOT_FOUND" });
  });

  it("says which registration the compatibility rule refuses, and when the registry does not answer", async () => {
    const client = new RegistryClient({ token: TEST_ADMIN_TOKEN, url });
    await client.register("c-value", v1);
    await expect(client.register("c-value", v2)).rejects.toMatchObject({
      code: "MESH_SCHEMA_INCOMPATIBLE",
      details: { subject: "c-value" },
    });
    const gone = new RegistryClient({ token: TEST_ADMIN_TOKEN, url: "http://127.0.0.1:1", timeoutMs: 500 });
    await expect(gone.ping()).rejects.toMatchObject({ code: "MESH_REGISTRY_UNAVAILABLE" });
  });
});
