import { describe, expect, it } from "vitest";
import { canonicalText } from "./canonical.ts";
import { AvroSchemaError, parseSchema } from "./schema.ts";

const canon = (text: string) => canonicalText(parseSchema(text));

describe("canonical text", () => {
  it("ignores whitespace and JSON attribute order", () => {
    const a = `{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":"int","default":1}]}`;
    const b = `{ "fields": [ { "default": 1, "type": "int", "name": "a" } ],
      "namespace": "n", "name": "R", "type": "record" }`;
    expect(canon(a)).toBe(canon(b));
    expect(canon(a)).toBe(`{"name":"n.R","type":"record","fields":[{"name":"a","type":"int","default":1}]}`);
  });

  it("keeps what matters for identity: defaults, docs, logical types, aliases", () => {
    const base = `{"type":"record","name":"R","fields":[{"name":"a","type":"long"}]}`;
    const variants = [
      `{"type":"record","name":"R","fields":[{"name":"a","type":"long","default":0}]}`,
      `{"type":"record","name":"R","doc":"d","fields":[{"name":"a","type":"long"}]}`,
      `{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"long","logicalType":"timestamp-micros"}}]}`,
      `{"type":"record","name":"R","aliases":["Q"],"fields":[{"name":"a","type":"long"}]}`,
    ];
    for (const v of variants) expect(canon(v)).not.toBe(canon(base));
  });

  it("writes Parsing Canonical Form when asked", () => {
    const s = parseSchema(
      `{"type":"record","name":"R","namespace":"x","doc":"d","fields":[{"name":"a","type":{"type":"fixed","name":"F","size":2},"default":"ab"},{"name":"b","type":"F"}]}`,
    );
    expect(canonicalText(s, { pcf: true })).toBe(
      `{"name":"x.R","type":"record","fields":[{"name":"a","type":{"name":"x.F","type":"fixed","size":2}},{"name":"b","type":"x.F"}]}`,
    );
  });

  it("writes a recursive type by name after its first definition", () => {
    const t = `{"type":"record","name":"Node","fields":[{"name":"next","type":["null","Node"]}]}`;
    expect(canon(t)).toBe(
      `{"name":"Node","type":"record","fields":[{"name":"next","type":["null","Node"]}]}`,
    );
  });

  it("writes types that came from references by name", () => {
    const known = new Map();
    parseSchema(`{"type":"record","name":"a.Address","fields":[{"name":"city","type":"string"}]}`, known);
    const s = parseSchema(
      `{"type":"record","name":"a.Person","fields":[{"name":"home","type":"Address"}]}`,
      known,
    );
    expect(canonicalText(s, { predefined: new Set(["a.Address"]) })).toBe(
      `{"name":"a.Person","type":"record","fields":[{"name":"home","type":"a.Address"}]}`,
    );
  });

  it("refuses invalid schemas with a reason", () => {
    expect(() => parseSchema(`{"type":"record","name":"R"}`)).toThrow(AvroSchemaError);
    expect(() => parseSchema(`{"type":"recrod","name":"R","fields":[]}`)).toThrow(/undefined name/);
    expect(() =>
      parseSchema(`{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":"x"}]}`),
    ).toThrow(/invalid default/);
    expect(() => parseSchema(`{"type":"enum","name":"E","symbols":["A"],"default":"B"}`)).toThrow(/default/);
    expect(() => parseSchema(`["int","int"]`)).toThrow(/duplicate/);
    expect(() => parseSchema(`not json`)).toThrow(/not valid JSON/);
  });
});
