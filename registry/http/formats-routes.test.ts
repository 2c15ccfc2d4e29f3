/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies of many shapes, checked by value */
import { beforeEach, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { MemoryBackend } from "../backend.ts";
import { RegistryState } from "../store/state.ts";
import { buildApp } from "./app.ts";
import { testAuthenticator, withToken } from "../../test/support/auth.ts";

const CT = "application/vnd.schemaregistry.v1+json";
let app: FastifyInstance;

beforeEach(() => {
  app = withToken(buildApp({ backend: new MemoryBackend(new RegistryState()), auth: testAuthenticator() }));
});

async function call(method: string, url: string, body?: unknown) {
  const res = await app.inject({
    method: method as "GET",
    url,
    headers: { "content-type": CT },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
  let json: any;
  try {
    json = res.json();
  } catch {
    json = res.body;
  }
  return { status: res.statusCode, json };
}

const proto = (body: string) => `syntax = "proto3";\npackage shop;\n\n${body}`;
const P1 = proto("message Order {\n  string id = 1;\n}\n");
const P2 = proto("message Order {\n  string id = 1;\n  int64 total = 2;\n}\n");
const PBAD = proto("message Order {\n  int64 id = 1;\n}\n");

describe("Protobuf through the REST API", () => {
  it("registers, serves Confluent's canonical text with schemaType, and reuses ids for the same schema", async () => {
    const spaced = `syntax="proto3";  package shop;  // c\nmessage Order { string id = 1; }`;
    expect(
      (await call("POST", "/subjects/o-value/versions", { schema: spaced, schemaType: "PROTOBUF" })).json,
    ).toEqual({ id: 1 });
    expect((await call("GET", "/schemas/ids/1")).json).toEqual({ schemaType: "PROTOBUF", schema: P1 });
    expect(
      (await call("POST", "/subjects/o-value/versions", { schema: P1, schemaType: "PROTOBUF" })).json,
    ).toEqual({ id: 1 });
    expect(
      (await call("POST", "/subjects/o-value", { schema: spaced, schemaType: "PROTOBUF" })).json,
    ).toEqual({
      subject: "o-value",
      version: 1,
      id: 1,
      schemaType: "PROTOBUF",
      schema: P1,
    });
    // The same text as Avro is another schema type: not found, and never the same id.
    expect(
      (await call("POST", "/subjects/o-value/versions", { schema: P2, schemaType: "PROTOBUF" })).json,
    ).toEqual({ id: 2 });
    expect((await call("GET", "/subjects/o-value/versions/2")).json).toMatchObject({
      schemaType: "PROTOBUF",
      schema: P2,
    });
  });

  it("answers ?format=serialized with the base64 FileDescriptorProto, by id and by version", async () => {
    await call("POST", "/subjects/o-value/versions", { schema: P2, schemaType: "PROTOBUF" });
    for (const url of [
      "/schemas/ids/1?format=serialized",
      "/subjects/o-value/versions/1?format=serialized",
    ]) {
      const body = (await call("GET", url)).json;
      const fd = fromBinary(FileDescriptorProtoSchema, Buffer.from(body.schema as string, "base64"));
      expect(fd.messageType[0]?.field.map((f) => [f.name, f.number])).toEqual([
        ["id", 1],
        ["total", 2],
      ]);
      expect(body.schemaType).toBe("PROTOBUF");
    }
    expect((await call("GET", "/schemas/ids/1?format=")).json.schema).toBe(P2);
  });

  it("checks compatibility with Confluent's rules and reasons (409, verbose)", async () => {
    await call("POST", "/subjects/o-value/versions", { schema: P1, schemaType: "PROTOBUF" });
    const bad = await call("POST", "/subjects/o-value/versions", { schema: PBAD, schemaType: "PROTOBUF" });
    expect([bad.status, bad.json.error_code]).toEqual([409, 409]);
    expect(bad.json.message).toContain("FIELD_SCALAR_KIND_CHANGED");
    const v = await call("POST", "/compatibility/subjects/o-value/versions/latest?verbose=true", {
      schema: PBAD,
      schemaType: "PROTOBUF",
    });
    expect(v.json.is_compatible).toBe(false);
    expect(v.json.messages[0]).toBe(
      `{errorType:"FIELD_SCALAR_KIND_CHANGED", description:"The kind of a SCALAR field at path '#/Order/1' in the new schema does not match its kind in the old schema"}`,
    );
    expect(v.json.messages).toContain("{oldSchemaVersion: 1}");
    expect(v.json.messages).toContain("{compatibility: 'BACKWARD'}");
    const other = await call("POST", "/compatibility/subjects/o-value/versions/latest?verbose=true", {
      schema: `{"type":"string"}`,
      schemaType: "JSON",
    });
    expect(other.json).toMatchObject({
      is_compatible: false,
      messages: ["Incompatible because of different schema type", "{compatibility: 'BACKWARD'}"],
    });
  });

  it("resolves imports through references and refuses deleting a referenced version", async () => {
    const money = `syntax = "proto3";\npackage common;\n\nmessage Money {\n  int64 units = 1;\n}\n`;
    expect(
      (await call("POST", "/subjects/money/versions", { schema: money, schemaType: "PROTOBUF" })).json,
    ).toEqual({ id: 1 });
    const order = proto('import "common/money.proto";\nmessage Order {\n  common.Money total = 1;\n}\n');
    const missing = await call("POST", "/subjects/o-value/versions", {
      schema: order,
      schemaType: "PROTOBUF",
    });
    expect(missing.json.error_code).toBe(42201);
    const references = [{ name: "common/money.proto", subject: "money", version: 1 }];
    expect(
      (
        await call("POST", "/subjects/o-value/versions", {
          schema: order,
          schemaType: "PROTOBUF",
          references,
        })
      ).json,
    ).toEqual({ id: 2 });
    expect((await call("GET", "/schemas/ids/2")).json.references).toEqual(references);
    expect((await call("DELETE", "/subjects/money/versions/1")).json.error_code).toBe(42206);
  });

  it("normalize=true stores the normalized text", async () => {
    const text = proto("message M {\n  N b = 2;\n  string a = 1;\n  message N {\n    int32 x = 1;\n  }\n}\n");
    expect(
      (await call("POST", "/subjects/m/versions?normalize=true", { schema: text, schemaType: "PROTOBUF" }))
        .json,
    ).toEqual({ id: 1 });
    expect((await call("GET", "/schemas/ids/1")).json.schema).toContain(
      "  string a = 1;\n  .shop.M.N b = 2;\n",
    );
    // Found again from the text as submitted when the lookup normalizes too.
    const found = await call("POST", "/subjects/m?normalize=true", { schema: text, schemaType: "PROTOBUF" });
    expect(found.json.id).toBe(1);
    expect(
      (await call("POST", "/subjects/m", { schema: text, schemaType: "PROTOBUF" })).json.error_code,
    ).toBe(40403);
  });
});

describe("JSON Schema through the REST API", () => {
  const J1 = { type: "object", properties: { id: { type: "string" } }, additionalProperties: false };
  const J2 = {
    type: "object",
    properties: { id: { type: "string" }, n: { type: "integer" } },
    additionalProperties: false,
  };

  it("registers with Confluent's compact text, finds it again, and checks closed content models", async () => {
    const spaced = JSON.stringify(J1, null, 2);
    expect((await call("POST", "/subjects/j/versions", { schema: spaced, schemaType: "JSON" })).json).toEqual(
      { id: 1 },
    );
    expect((await call("GET", "/schemas/ids/1")).json).toEqual({
      schemaType: "JSON",
      schema: JSON.stringify(J1),
    });
    expect((await call("POST", "/subjects/j", { schema: spaced, schemaType: "JSON" })).json.id).toBe(1);
    // Adding an optional property to a closed model is backward compatible; removing it is not.
    expect(
      (await call("POST", "/subjects/j/versions", { schema: JSON.stringify(J2), schemaType: "JSON" })).json,
    ).toEqual({ id: 2 });
    const back = await call("POST", "/subjects/j/versions", {
      schema: JSON.stringify(J1),
      schemaType: "JSON",
    });
    expect(back.json).toEqual({ id: 1 }); // already version 1 of the subject: its id, no new version
  });

  it("refuses a removal from a closed model with the reason", async () => {
    await call("POST", "/subjects/j/versions", { schema: JSON.stringify(J2), schemaType: "JSON" });
    const r = await call("POST", "/compatibility/subjects/j/versions/latest?verbose=true", {
      schema: JSON.stringify(J1),
      schemaType: "JSON",
    });
    expect(r.json.is_compatible).toBe(false);
    expect(r.json.messages[0]).toBe(
      `{errorType:"PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", description:"The new schema has a closed content model and is missing a property or item present at path '#/properties/n' in the old schema"}`,
    );
  });

  it("resolves $ref to another subject through references; normalize sorts keys", async () => {
    await call("POST", "/subjects/address/versions", {
      schema: `{"type":"object","properties":{"city":{"type":"string"}}}`,
      schemaType: "JSON",
    });
    const references = [{ name: "address.json", subject: "address", version: 1 }];
    const person = `{"type":"object","properties":{"home":{"$ref":"address.json"}}}`;
    expect(
      (await call("POST", "/subjects/person/versions", { schema: person, schemaType: "JSON" })).json
        .error_code,
    ).toBe(42201);
    expect(
      (await call("POST", "/subjects/person/versions", { schema: person, schemaType: "JSON", references }))
        .json,
    ).toEqual({ id: 2 });
    await call("POST", "/subjects/n/versions?normalize=true", {
      schema: `{"type":"string","title":"t"}`,
      schemaType: "JSON",
    });
    expect((await call("GET", "/subjects/n/versions/1")).json.schema).toBe(`{"title":"t","type":"string"}`);
  });
});
