import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LEVELS, type Level } from "../avro/levels.ts";
import { checkTyped, resolveTyped, type SchemaType } from "./index.ts";

interface Case {
  name: string;
  /** The Confluent rule (Difference type) the case exercises. */
  rule: string;
  history: string[];
  candidate: string;
}

// The evolution corpora of the Protobuf and JSON Schema formats. Confluent's own compatibility code is not on
// Maven Central, so the expected answers were derived by hand from its diff rules (the Difference types each
// case names and SchemaDiff.COMPATIBLE_CHANGES) and its published tests, not produced by this implementation.
const corpora: [SchemaType, string][] = [
  ["PROTOBUF", "../protobuf/compat-cases"],
  ["JSON", "../jsonschema/compat-cases"],
];

const none = () => undefined;

for (const [type, base] of corpora) {
  const cases = JSON.parse(readFileSync(new URL(`${base}.json`, import.meta.url), "utf8")) as Case[];
  const expected = JSON.parse(
    readFileSync(new URL(`${base}.expected.json`, import.meta.url), "utf8"),
  ) as Record<string, Record<Level, boolean>>;
  describe(`${type} evolution corpus at the seven levels`, () => {
    it("has at least 40 cases, each naming its rule, with all seven levels expected", () => {
      expect(cases.length).toBeGreaterThanOrEqual(40);
      for (const c of cases) {
        expect(c.rule.length).toBeGreaterThan(0);
        expect(Object.keys(expected[c.name] ?? {}).sort()).toEqual([...LEVELS].sort());
      }
    });
    for (const c of cases) {
      it(`${c.name} (${c.rule})`, () => {
        const candidate = resolveTyped(type, c.candidate, [], none);
        const previous = c.history.map((h, i) => ({
          schema: resolveTyped(type, h, [], none),
          version: i + 1,
        }));
        const got = Object.fromEntries(LEVELS.map((l) => [l, checkTyped(l, candidate, previous).compatible]));
        expect(got).toEqual(expected[c.name]);
      });
    }
  });
}
