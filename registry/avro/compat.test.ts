import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseJson } from "./schema.ts";
import { checkLevel, LEVELS, type Level } from "./levels.ts";
import { checkReaderWriter } from "./compat.ts";

interface Case {
  name: string;
  history: unknown[];
  candidate: unknown;
  expected: Record<Level, boolean>;
}

// Expected answers come from Apache Avro's Java SchemaCompatibility (registry/compat-oracle/run.sh).
const cases = JSON.parse(
  readFileSync(new URL("./compat-cases.expected.json", import.meta.url), "utf8"),
) as Case[];

describe("compatibility levels agree with Apache Avro's SchemaCompatibility", () => {
  it("has at least 40 cases, each with all seven levels", () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    for (const c of cases) expect(Object.keys(c.expected).sort()).toEqual([...LEVELS].sort());
  });

  for (const c of cases) {
    it(c.name, () => {
      const candidate = parseJson(c.candidate);
      const previous = c.history.map((h, i) => ({ schema: parseJson(h), version: i + 1 }));
      const got = Object.fromEntries(LEVELS.map((l) => [l, checkLevel(l, candidate, previous).compatible]));
      expect(got).toEqual(c.expected);
    });
  }
});

describe("verbose reasons", () => {
  it("names the field without a default", () => {
    const old = parseJson({ type: "record", name: "R", fields: [{ name: "id", type: "long" }] });
    const neu = parseJson({
      type: "record",
      name: "R",
      fields: [
        { name: "id", type: "long" },
        { name: "n", type: "string" },
      ],
    });
    const r = checkLevel("BACKWARD", neu, [{ schema: old, version: 3 }]);
    expect(r.compatible).toBe(false);
    expect(r.messages[0]).toContain("READER_FIELD_MISSING_DEFAULT_VALUE");
    expect(r.messages[0]).toContain("'/fields/1'");
    expect(r.messages).toContain("{oldSchemaVersion: 3}");
    expect(r.messages).toContain("{compatibility: 'BACKWARD'}");
  });

  it("reports the type mismatch location inside nested records", () => {
    const mk = (t: string) =>
      parseJson({
        type: "record",
        name: "R",
        fields: [{ name: "in", type: { type: "record", name: "I", fields: [{ name: "x", type: t }] } }],
      });
    const r = checkReaderWriter(mk("int"), mk("string"));
    expect(r.incompatibilities.map((i) => [i.type, i.location])).toEqual([
      ["TYPE_MISMATCH", "/fields/0/type/fields/0/type"],
    ]);
  });
});
