/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies of many shapes, checked by value */
// Where the registry departed from Confluent's Schema Registry (issue 13), each reproduced through inject():
// long subjects, reference labels, compatibility against nothing, reserved attributes of primitives, content
// negotiation and error texts, and the stored/served schema text (Avro's Java Schema.toString()).
import { readFileSync } from "node:fs";
import { beforeEach, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { MemoryBackend } from "../backend.ts";
import { RegistryState } from "../store/state.ts";
import { buildApp } from "./app.ts";
import { negotiate } from "./content-type.ts";
import { testAuthenticator, withToken } from "../../test/support/auth.ts";

const CT = "application/vnd.schemaregistry.v1+json";
let app: FastifyInstance;
beforeEach(() => {
  app = withToken(buildApp({ backend: new MemoryBackend(new RegistryState()), auth: testAuthenticator() }));
});

async function call(method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await app.inject({
    method: method as "GET",
    url,
    headers: { "content-type": CT, ...headers },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
  let json: any;
  try {
    json = res.json();
  } catch {
    json = res.body;
  }
  return { status: res.statusCode, json, type: res.headers["content-type"] };
}
const register = (subject: string, schema: string, extra: Record<string, unknown> = {}) =>
  call("POST", `/subjects/${encodeURIComponent(subject)}/versions`, { schema, ...extra });
const V1 = JSON.stringify({ type: "record", name: "R", fields: [{ name: "id", type: "long" }] });

describe("Confluent fidelity", () => {
  it("serves subjects as long as Kafka's topic names allow, and longer (no 414)", async () => {
    // A 249-character topic's value subject, and a subject whose percent-encoding passes 2,000 characters.
    const long = `${"t".repeat(249)}-value`;
    const wide = "é".repeat(400);
    for (const subject of [long, wide]) {
      const s = encodeURIComponent(subject);
      expect((await register(subject, V1)).json).toEqual({ id: 1 });
      expect((await call("GET", `/subjects/${s}/versions`)).json).toEqual([1]);
      expect((await call("GET", `/subjects/${s}/versions/latest`)).json.subject).toBe(subject);
      expect((await call("POST", `/subjects/${s}`, { schema: V1 })).json.version).toBe(1);
      expect((await call("PUT", `/config/${s}`, { compatibility: "NONE" })).status).toBe(200);
      expect((await call("PUT", `/mode/${s}`, { mode: "READWRITE" })).status).toBe(200);
      const compat = await call("POST", `/compatibility/subjects/${s}/versions/latest`, { schema: V1 });
      expect(compat.json).toEqual({ is_compatible: true });
      expect((await call("DELETE", `/subjects/${s}`)).json).toEqual([1]);
    }
  });

  it("takes a reference's name as a label, not a type name", async () => {
    const country = JSON.stringify({
      type: "record",
      name: "Country",
      namespace: "geo",
      fields: [{ name: "code", type: "string" }],
    });
    expect((await register("country", country)).json).toEqual({ id: 1 });
    const city = JSON.stringify({
      type: "record",
      name: "City",
      namespace: "geo",
      fields: [{ name: "country", type: "Country" }],
    });
    const references = [{ name: "country.avsc", subject: "country", version: 1 }];
    expect((await register("city", city, { references })).json).toEqual({ id: 2 });
    expect((await call("GET", "/schemas/ids/2")).json).toEqual({ schema: city, references });
    // The label is part of the identity (Confluent hashes the references): another label is another schema.
    const relabeled = [{ name: "geo.Country", subject: "country", version: 1 }];
    expect((await register("city", city, { references: relabeled })).json).toEqual({ id: 3 });
  });

  it("answers compatibility against a subject with no versions as compatible; a missing version is 40402", async () => {
    const latest = await call("POST", "/compatibility/subjects/fresh/versions/latest", { schema: V1 });
    expect([latest.status, latest.json]).toEqual([200, { is_compatible: true }]);
    const missing = await call("POST", "/compatibility/subjects/fresh/versions/3", { schema: V1 });
    expect([missing.status, missing.json]).toEqual([
      404,
      { error_code: 40402, message: "Version 3 not found." },
    ]);
    await register("s", V1);
    await register("s", JSON.stringify({ type: "record", name: "R", fields: [] }));
    await call("DELETE", "/subjects/s/versions/1");
    const deleted = await call("POST", "/compatibility/subjects/s/versions/1", { schema: V1 });
    expect(deleted.json.error_code).toBe(40402);
    await call("DELETE", "/subjects/s");
    const allDeleted = await call("POST", "/compatibility/subjects/s/versions/latest", { schema: V1 });
    expect(allDeleted.json).toEqual({ is_compatible: true });
    const bad = await call("POST", "/compatibility/subjects/s/versions/latest", { schema: "{nope" });
    expect([bad.status, bad.json.error_code]).toEqual([422, 42201]);
    const verbose = await call("POST", "/compatibility/subjects/s/versions/latest?verbose=true", {
      schema: "{nope",
    });
    expect(verbose.json.is_compatible).toBe(false);
    expect(verbose.json.messages[0]).toMatch(/^Invalid schema/);
  });

  it("drops reserved attributes of primitive types, as Avro's Java parser does", async () => {
    expect((await register("a", `"int"`)).json).toEqual({ id: 1 });
    expect((await register("b", JSON.stringify({ type: "int", name: "x" }))).json).toEqual({ id: 1 });
    expect((await register("c", JSON.stringify({ type: "string", doc: "d" }))).json).toEqual({ id: 2 });
    expect((await register("c", `"string"`)).json).toEqual({ id: 2 });
    expect((await call("GET", "/schemas/ids/2")).json).toEqual({ schema: `"string"` });
    // Other attributes are properties and stay (a logical type, a custom one).
    const uuid = JSON.stringify({ type: "string", logicalType: "uuid" });
    expect((await register("d", uuid)).json).toEqual({ id: 3 });
  });

  it("stores and serves the text of Confluent's parser (Avro's Java Schema.toString())", async () => {
    const { cases } = JSON.parse(
      readFileSync(new URL("../avro/java-text.cases.json", import.meta.url), "utf8"),
    ) as { cases: { in: string; java: string }[] };
    for (const [i, c] of cases.entries()) {
      const id = (await register(`s${i}`, c.in)).json.id as number;
      expect((await call("GET", `/schemas/ids/${id}`)).json.schema).toBe(c.java);
      expect((await call("GET", `/subjects/s${i}/versions/1`)).json.schema).toBe(c.java);
      // The served text registers as the same schema.
      expect((await register(`t${i}`, c.java)).json.id).toBe(id);
    }
  });

  it("negotiates the answer's type from Accept, without a charset; 406 when nothing fits", async () => {
    await register("s", V1);
    const types: [string | undefined, string | undefined][] = [
      [undefined, CT],
      ["*/*", CT],
      ["application/json", "application/json"],
      ["application/vnd.schemaregistry+json", "application/vnd.schemaregistry+json"],
      ["application/json, application/vnd.schemaregistry.v1+json", CT],
      ["application/json;q=0.9, application/vnd.schemaregistry+json;q=0.5", "application/json"],
      ["application/*", CT],
      ["text/html", undefined],
      ["application/json;q=0", undefined],
    ];
    for (const [accept, expected] of types)
      expect({ accept, got: negotiate(accept) }).toEqual({ accept, got: expected });
    for (const url of ["/subjects", "/schemas/ids/1", "/schemas/ids/1/schema", "/subjects/nope/versions"]) {
      expect((await call("GET", url)).type).toBe(CT);
      expect((await call("GET", url, undefined, { accept: "application/json" })).type).toBe(
        "application/json",
      );
    }
    const refused = await call("GET", "/subjects", undefined, { accept: "text/html" });
    expect([refused.status, refused.json]).toEqual([
      406,
      { error_code: 406, message: "HTTP 406 Not Acceptable" },
    ]);
    const plain = await call(
      "POST",
      "/subjects/s/versions",
      { schema: V1 },
      { "content-type": "text/plain" },
    );
    expect([plain.status, plain.json]).toEqual([
      415,
      { error_code: 415, message: "HTTP 415 Unsupported Media Type" },
    ]);
  });

  it("answers Confluent's codes and texts", async () => {
    const expectError = async (p: ReturnType<typeof call>, status: number, body: unknown) => {
      const r = await p;
      expect({ status: r.status, body: r.json }).toEqual({ status, body });
    };
    // An id path JAX-RS cannot make an Integer of is its plain 404; an integer that names nothing is 40403.
    await expectError(call("GET", "/schemas/ids/abc"), 404, {
      error_code: 404,
      message: "HTTP 404 Not Found",
    });
    await expectError(call("GET", "/schemas/ids/99999999999"), 404, {
      error_code: 404,
      message: "HTTP 404 Not Found",
    });
    await expectError(call("GET", "/schemas/ids/-1"), 404, {
      error_code: 40403,
      message: "Schema -1 not found",
    });
    await expectError(call("GET", "/schemas/ids/7/versions"), 404, {
      error_code: 40403,
      message: "Schema 7 not found",
    });
    await expectError(register("s", ""), 422, { error_code: 42201, message: "Empty schema" });
    await expectError(register("s", "  "), 422, { error_code: 42201, message: "Empty schema" });
    await expectError(call("PUT", "/config", { compatibility: "SOMETIMES" }), 422, {
      error_code: 42203,
      message:
        "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive",
    });
    await expectError(call("GET", "/config/s"), 404, {
      error_code: 40408,
      message: "Subject 's' does not have subject-level compatibility configured",
    });
    await expectError(call("GET", "/mode/s"), 404, {
      error_code: 40409,
      message: "Subject 's' does not have subject-level mode configured",
    });
    await register("s", V1);
    await expectError(call("DELETE", "/subjects/s?permanent=true"), 404, {
      error_code: 40405,
      message: "Subject 's' was not deleted first before being permanently deleted",
    });
    await expectError(call("DELETE", "/subjects/s/versions/1?permanent=true"), 404, {
      error_code: 40407,
      message: "Subject 's' Version 1 was not deleted first before being permanently deleted",
    });
    await call("DELETE", "/subjects/s");
    await expectError(call("DELETE", "/subjects/s"), 404, {
      error_code: 40404,
      message: "Subject 's' was soft deleted.Set permanent=true to delete permanently",
    });
    await expectError(call("DELETE", "/subjects/s/versions/1"), 404, {
      error_code: 40406,
      message: "Subject 's' Version 1 was soft deleted. Set permanent=true to delete permanently",
    });
  });
});
