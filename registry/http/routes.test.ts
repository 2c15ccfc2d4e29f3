/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies of many shapes, checked by value */
import { beforeEach, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { MemoryBackend } from "../backend.ts";
import { RegistryState } from "../store/state.ts";
import { buildApp } from "./app.ts";
import { testAuthenticator, withToken } from "../../test/support/auth.ts";

const CT = "application/vnd.schemaregistry.v1+json";
const rec = (fields: unknown[], name = "R") => JSON.stringify({ type: "record", name, fields });
const V1 = rec([{ name: "id", type: "long" }]);
const V2 = rec([
  { name: "id", type: "long" },
  { name: "n", type: "string", default: "" },
]);
const BAD = rec([
  { name: "id", type: "long" },
  { name: "x", type: "int" },
]);

let app: FastifyInstance;
beforeEach(() => {
  app = withToken(buildApp({ backend: new MemoryBackend(new RegistryState()), auth: testAuthenticator() }));
});

async function call(method: string, url: string, body?: unknown, contentType = CT) {
  const res = await app.inject({
    method: method as "GET",
    url,
    headers: { "content-type": contentType },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
  let json: unknown;
  try {
    json = res.json();
  } catch {
    json = res.body;
  }
  return { status: res.statusCode, json: json as any, type: res.headers["content-type"] };
}
const register = (subject: string, schema: string, extra: Record<string, unknown> = {}) =>
  call("POST", `/subjects/${subject}/versions`, { schema, ...extra });

describe("registry REST API (inject)", () => {
  it("registers, finds and lists schemas with Confluent's shapes and content type", async () => {
    const r1 = await register("s", V1);
    expect(r1).toMatchObject({ status: 200, json: { id: 1 } });
    expect(r1.type).toContain(CT);
    expect((await register("s", V2)).json).toEqual({ id: 2 });
    // Same schema, other whitespace and key order: same id, no new version; other subject: same id.
    const spaced = JSON.stringify(
      { fields: [{ type: "long", name: "id" }], name: "R", type: "record" },
      null,
      2,
    );
    expect((await register("s", spaced)).json).toEqual({ id: 1 });
    expect((await register("other", spaced, {}), "application/json")).toBeDefined();
    expect((await call("GET", "/subjects/other/versions/1")).json.id).toBe(1);
    expect((await call("GET", "/subjects/s/versions")).json).toEqual([1, 2]);
    expect((await call("GET", "/subjects")).json).toEqual(["other", "s"]);
    expect((await call("GET", "/subjects?subjectPrefix=ot")).json).toEqual(["other"]);
    expect((await call("GET", "/subjects/s/versions/latest")).json).toEqual({
      subject: "s",
      version: 2,
      id: 2,
      schema: V2,
    });
    expect((await call("GET", "/subjects/s/versions/1/schema")).json).toEqual(JSON.parse(V1));
    expect((await call("GET", "/schemas/ids/1")).json).toEqual({ schema: V1 });
    expect((await call("GET", "/schemas/ids/1/schema")).json).toEqual(JSON.parse(V1));
    expect((await call("GET", "/schemas/ids/1/subjects")).json).toEqual(["other", "s"]);
    expect((await call("GET", "/schemas/ids/1/versions")).json).toEqual([
      { subject: "other", version: 1 },
      { subject: "s", version: 1 },
    ]);
    expect((await call("GET", "/schemas/types")).json).toEqual(["JSON", "PROTOBUF", "AVRO"]);
    expect((await call("GET", "/schemas?subjectPrefix=s&latestOnly=true")).json).toEqual([
      { subject: "s", version: 2, id: 2, schema: V2 },
    ]);
    expect((await call("POST", "/subjects/s", { schema: spaced })).json).toEqual({
      subject: "s",
      version: 1,
      id: 1,
      schema: V1,
    });
  });

  it("normalize=true stores the canonical form", async () => {
    const spaced = JSON.stringify(
      { fields: [{ type: "long", name: "id" }], name: "R", namespace: "n", type: "record" },
      null,
      2,
    );
    await register("s", spaced);
    await call("DELETE", "/subjects/s");
    await call("DELETE", "/subjects/s?permanent=true");
    expect((await call("POST", "/subjects/t/versions?normalize=true", { schema: spaced })).json).toEqual({
      id: 2,
    });
    expect((await call("GET", "/schemas/ids/2")).json.schema).toBe(
      `{"name":"n.R","type":"record","fields":[{"name":"id","type":"long"}]}`,
    );
  });

  it("answers every error code as Confluent does", async () => {
    await register("s", V1);
    const expectError = async (p: Promise<{ status: number; json: any }>, status: number, code: number) => {
      const r = await p;
      expect([r.status, r.json.error_code], JSON.stringify(r.json)).toEqual([status, code]);
      expect(typeof r.json.message).toBe("string");
    };
    await expectError(call("GET", "/nope"), 404, 404);
    await expectError(call("GET", "/subjects/missing/versions"), 404, 40401);
    await expectError(call("GET", "/subjects/s/versions/9"), 404, 40402);
    await expectError(call("GET", "/schemas/ids/99"), 404, 40403);
    await expectError(call("POST", "/subjects/s", { schema: V2 }), 404, 40403);
    await expectError(call("POST", "/subjects/s/versions", { schema: BAD }), 409, 409);
    await expectError(call("POST", "/subjects/s/versions", { schema: "{not json" }), 422, 42201);
    await expectError(
      call("POST", "/subjects/s/versions", { schema: `{"type":"record","name":"R"}` }),
      422,
      42201,
    );
    // Schema types: AVRO, PROTOBUF and JSON are served (registry/formats); anything else is 42201.
    await expectError(call("POST", "/subjects/x/versions", { schema: "{}", schemaType: "XML" }), 422, 42201);
    await expectError(
      call("POST", "/subjects/p/versions", { schema: "message {", schemaType: "PROTOBUF" }),
      422,
      42201,
    );
    await expectError(
      call("POST", "/subjects/j/versions", { schema: '{"type":5}', schemaType: "JSON" }),
      422,
      42201,
    );
    await expectError(call("GET", "/subjects/s/versions/abc"), 422, 42202);
    await expectError(call("GET", "/subjects/s/versions/0"), 422, 42202);
    await expectError(call("PUT", "/config", { compatibility: "SIDEWAYS" }), 422, 42203);
    await expectError(call("PUT", "/mode", { mode: "WRITEONLY" }), 422, 42204);
    await expectError(call("GET", "/config/s"), 404, 40408);
    await expectError(call("GET", "/mode/s"), 404, 40409);
    // 42205: IMPORT with subjects present (without force), an id outside IMPORT mode, writes in READONLY.
    await expectError(call("PUT", "/mode", { mode: "IMPORT" }), 422, 42205);
    await expectError(register("s", V2, { id: 50 }), 422, 42205);
    expect((await call("PUT", "/mode/s", { mode: "READONLY" })).json).toEqual({ mode: "READONLY" });
    await expectError(register("s", V2), 422, 42205);
    await expectError(call("DELETE", "/subjects/s"), 422, 42205);
    expect((await call("DELETE", "/mode/s")).json).toEqual({ mode: "READONLY" });
    // Delete lifecycle: 40405, 40404, 40407, 40406.
    await expectError(call("DELETE", "/subjects/s?permanent=true"), 404, 40405);
    await expectError(call("DELETE", "/subjects/s/versions/1?permanent=true"), 404, 40407);
    expect((await call("DELETE", "/subjects/s/versions/1")).json).toBe(1);
    await expectError(call("DELETE", "/subjects/s/versions/1"), 404, 40406);
    expect((await call("DELETE", "/subjects/s")).status).toBe(404); // no live version left: soft deleted
    await expectError(call("DELETE", "/subjects/s"), 404, 40404);
    expect((await call("DELETE", "/subjects/s?permanent=true")).json).toEqual([1]);
    await expectError(call("GET", "/subjects/s/versions?deleted=true"), 404, 40401);
  });

  it("refuses to delete a referenced version (42206) and resolves references", async () => {
    const address = JSON.stringify({
      type: "record",
      name: "Address",
      namespace: "a",
      fields: [{ name: "city", type: "string" }],
    });
    expect((await register("address", address)).json).toEqual({ id: 1 });
    const person = JSON.stringify({
      type: "record",
      name: "Person",
      namespace: "a",
      fields: [{ name: "home", type: "Address" }],
    });
    await expectStatus(register("person", person), 422);
    const refs = [{ name: "a.Address", subject: "address", version: 1 }];
    expect((await register("person", person, { references: refs })).json).toEqual({ id: 2 });
    expect((await call("GET", "/schemas/ids/2")).json).toEqual({ schema: person, references: refs });
    expect((await call("GET", "/subjects/address/versions/1/referencedby")).json).toEqual([2]);
    const r = await call("DELETE", "/subjects/address/versions/1");
    expect([r.status, r.json.error_code]).toEqual([422, 42206]);
    expect((await call("DELETE", "/subjects/address")).json.error_code).toBe(42206);
    await call("DELETE", "/subjects/person");
    expect((await call("DELETE", "/subjects/address/versions/1")).json).toBe(1);
  });

  it("keeps ids growing across permanent deletes", async () => {
    await register("s", V1);
    await call("DELETE", "/subjects/s");
    await call("DELETE", "/subjects/s?permanent=true");
    expect((await call("GET", "/schemas/ids/1")).status).toBe(404);
    expect((await register("s", V1)).json).toEqual({ id: 2 });
  });

  it("serves config and mode semantics", async () => {
    expect((await call("GET", "/config")).json).toEqual({ compatibilityLevel: "BACKWARD" });
    expect((await call("PUT", "/config", { compatibility: "FULL" })).json).toEqual({ compatibility: "FULL" });
    expect((await call("GET", "/config")).json).toEqual({ compatibilityLevel: "FULL" });
    expect((await call("GET", "/config/s?defaultToGlobal=true")).json).toEqual({
      compatibilityLevel: "FULL",
    });
    expect((await call("PUT", "/config/s", { compatibility: "NONE" })).json).toEqual({
      compatibility: "NONE",
    });
    expect((await call("GET", "/config/s")).json).toEqual({ compatibilityLevel: "NONE" });
    await register("s", V1);
    expect((await register("s", BAD)).json).toEqual({ id: 2 }); // NONE allows it
    expect((await call("DELETE", "/config/s")).json).toEqual({ compatibilityLevel: "NONE" });
    expect((await call("DELETE", "/config")).json).toEqual({ compatibilityLevel: "FULL" });
    expect((await call("GET", "/config")).json).toEqual({ compatibilityLevel: "BACKWARD" });
    expect((await call("GET", "/mode")).json).toEqual({ mode: "READWRITE" });
  });

  it("IMPORT mode registers with the given id and version, skipping compatibility", async () => {
    expect((await call("PUT", "/mode", { mode: "IMPORT" })).json).toEqual({ mode: "IMPORT" });
    expect((await register("s", V1, { id: 100, version: 3 })).json).toEqual({ id: 100 });
    expect((await register("s", BAD, { id: 7, version: 4 })).json).toEqual({ id: 7 });
    expect((await call("GET", "/subjects/s/versions/3")).json).toMatchObject({ id: 100, version: 3 });
    const clash = await register("t", V2, { id: 100, version: 1 });
    expect([clash.status, clash.json.error_code]).toEqual([422, 42205]);
    await call("PUT", "/mode", { mode: "READWRITE" });
    await call("PUT", "/config/s", { compatibility: "NONE" });
    expect((await register("s", V2)).json).toEqual({ id: 101 }); // above the highest imported id
    expect((await call("GET", "/subjects/s/versions/latest")).json.version).toBe(5);
  });

  it("tests compatibility, with reasons when verbose", async () => {
    await register("s", V1);
    expect((await call("POST", "/compatibility/subjects/s/versions/latest", { schema: V2 })).json).toEqual({
      is_compatible: true,
    });
    const bad = await call("POST", "/compatibility/subjects/s/versions/latest?verbose=true", { schema: BAD });
    expect(bad.json.is_compatible).toBe(false);
    expect(bad.json.messages.join(" ")).toContain("READER_FIELD_MISSING_DEFAULT_VALUE");
    expect((await call("POST", "/compatibility/subjects/s/versions", { schema: BAD })).json).toEqual({
      is_compatible: false,
    });
    expect((await call("POST", "/compatibility/subjects/new/versions", { schema: BAD })).json).toEqual({
      is_compatible: true,
    });
    // Nothing to be incompatible with (Confluent); confluent-fidelity.test.ts has the rest.
    expect((await call("POST", "/compatibility/subjects/new/versions/latest", { schema: BAD })).json).toEqual(
      {
        is_compatible: true,
      },
    );
    expect(
      (await call("POST", "/compatibility/subjects/s/versions/7", { schema: BAD })).json.error_code,
    ).toBe(40402);
  });

  it("lists soft-deleted subjects and versions only when asked", async () => {
    await register("s", V1);
    await register("s", V2);
    await call("DELETE", "/subjects/s/versions/1");
    expect((await call("GET", "/subjects/s/versions")).json).toEqual([2]);
    expect((await call("GET", "/subjects/s/versions?deleted=true")).json).toEqual([1, 2]);
    expect((await call("GET", "/subjects/s/versions/1")).json.error_code).toBe(40402);
    expect((await call("GET", "/subjects/s/versions/1?deleted=true")).json.version).toBe(1);
    await call("DELETE", "/subjects/s");
    expect((await call("GET", "/subjects")).json).toEqual([]);
    expect((await call("GET", "/subjects?deleted=true")).json).toEqual(["s"]);
    // Re-registering a soft-deleted schema gets a new version with the same id.
    expect((await register("s", V1)).json).toEqual({ id: 1 });
    expect((await call("GET", "/subjects/s/versions")).json).toEqual([3]);
  });
});

async function expectStatus(p: Promise<{ status: number }>, status: number) {
  expect((await p).status).toBe(status);
}
