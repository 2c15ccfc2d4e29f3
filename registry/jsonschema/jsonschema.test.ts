import { describe, expect, it } from "vitest";
import { jsonBackwardMessages, JsonSchemaError, resolveJsonSchema, type LookupReference } from "./schema.ts";

const none: LookupReference = () => undefined;

describe("JSON Schema parsing and texts", () => {
  it("validates against the draft named by $schema (4, 6, 7, 2019-09, 2020-12) with ajv", () => {
    const drafts = [
      "http://json-schema.org/draft-04/schema#",
      "http://json-schema.org/draft-06/schema#",
      "http://json-schema.org/draft-07/schema#",
      "https://json-schema.org/draft/2019-09/schema",
      "https://json-schema.org/draft/2020-12/schema",
    ];
    for (const $schema of drafts) {
      expect(() => resolveJsonSchema(JSON.stringify({ $schema, type: "object" }), [], none)).not.toThrow();
      expect(() =>
        resolveJsonSchema(JSON.stringify({ $schema, type: "object", minProperties: -1 }), [], none),
      ).toThrow(JsonSchemaError);
    }
    // Draft 4's boolean exclusiveMaximum is invalid in draft 7 (a number there).
    expect(() =>
      resolveJsonSchema(
        `{"$schema":"http://json-schema.org/draft-04/schema#","maximum":3,"exclusiveMaximum":true}`,
        [],
        none,
      ),
    ).not.toThrow();
    expect(() => resolveJsonSchema(`{"maximum":3,"exclusiveMaximum":true}`, [], none)).toThrow(
      JsonSchemaError,
    );
    expect(() => resolveJsonSchema(`{not json`, [], none)).toThrow(/Invalid JSON/);
  });

  it("canonical text is compact in the order written; normalized sorts keys", () => {
    const s = resolveJsonSchema(
      `{ "type": "object",\n "properties": { "b": {"type":"string"}, "a": {} } }`,
      [],
      none,
    );
    expect(s.canonical).toBe(`{"type":"object","properties":{"b":{"type":"string"},"a":{}}}`);
    expect(s.normalized()).toBe(`{"properties":{"a":{},"b":{"type":"string"}},"type":"object"}`);
  });

  it("resolves $ref to references by name and within documents; an unresolvable $ref is refused", () => {
    const lookup: LookupReference = (subject) =>
      subject === "address"
        ? {
            schema: `{"type":"object","properties":{"city":{"type":"string"}},"definitions":{"Zip":{"type":"string"}}}`,
            references: [],
          }
        : undefined;
    const refs = [{ name: "address.json", subject: "address", version: 1 }];
    const v1 = resolveJsonSchema(
      `{"type":"object","properties":{"home":{"$ref":"address.json"},"zip":{"$ref":"address.json#/definitions/Zip"}}}`,
      refs,
      lookup,
    );
    const v2 = resolveJsonSchema(
      `{"type":"object","properties":{"home":{"$ref":"address.json"},"zip":{"type":"integer"}}}`,
      refs,
      lookup,
    );
    expect(jsonBackwardMessages(v2, v1)[0]).toContain(`"TYPE_CHANGED"`);
    expect(() => resolveJsonSchema(`{"$ref":"other.json"}`, [], none)).toThrow(/cannot be resolved/);
  });

  it("handles recursive schemas", () => {
    const tree = `{"definitions":{"node":{"type":"object","properties":{"kids":{"type":"array","items":{"$ref":"#/definitions/node"}}}}},"$ref":"#/definitions/node"}`;
    const a = resolveJsonSchema(tree, [], none);
    expect(jsonBackwardMessages(a, resolveJsonSchema(tree, [], none))).toEqual([]);
  });
});
