import { describe, expect, it } from "vitest";
import { decodeRecord, encodeKey, encodeValue, MalformedRecord, type LogRecord } from "./records.ts";
import { RegistryState } from "./state.ts";

const schema = (name: string) =>
  JSON.stringify({ type: "record", name, fields: [{ name: "a", type: "int" }] });
const put = (subject: string, version: number, id: number, deleted = false, name = "R"): LogRecord => ({
  keytype: "SCHEMA",
  subject,
  version,
  value: { subject, version, id, schema: schema(name), deleted },
});

describe("_schemas records", () => {
  it("encode keys in Confluent's shape and attribute order, and decode what they encode", () => {
    const r = put("orders-value", 3, 7);
    expect(encodeKey(r)).toBe(`{"keytype":"SCHEMA","subject":"orders-value","version":3,"magic":1}`);
    expect(encodeKey({ keytype: "CONFIG", subject: null, value: null })).toBe(
      `{"keytype":"CONFIG","subject":null,"magic":0}`,
    );
    expect(decodeRecord(Buffer.from(encodeKey(r)), Buffer.from(encodeValue(r)!))).toEqual(r);
    expect(
      decodeRecord(Buffer.from(`{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}`), null),
    ).toEqual({
      keytype: "SCHEMA",
      subject: "s",
      version: 1,
      value: null,
    });
    expect(
      decodeRecord(Buffer.from(`{"keytype":"SOMETHING_NEWER","magic":0}`), Buffer.from("{}")),
    ).toBeUndefined();
  });

  it("refuse what is not Confluent's shape, so that nothing malformed reaches the state", () => {
    const key = Buffer.from(`{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}`);
    const schemaValue = { subject: "s", version: 1, id: 3, schema: `"int"`, deleted: false };
    const bad: [Buffer | null, string | null][] = [
      [null, "{}"],
      [Buffer.from("not json"), "{}"],
      [Buffer.from(`["SCHEMA"]`), "{}"],
      [Buffer.from(`{"keytype":"SCHEMA","subject":"s","magic":1}`), null],
      [key, "{nope"],
      [key, JSON.stringify({ subject: "s" })],
      [key, JSON.stringify({ ...schemaValue, id: 0 })],
      [key, JSON.stringify({ ...schemaValue, references: [{ name: "r" }] })],
      [Buffer.from(`{"keytype":"CONFIG","subject":null,"magic":0}`), `{"compatibilityLevel":"SOMETIMES"}`],
      [Buffer.from(`{"keytype":"MODE","subject":null,"magic":0}`), `{"mode":1}`],
      [Buffer.from(`{"keytype":"ID_FLOOR","magic":0}`), `{"maxId":"9"}`],
      [Buffer.from(`{"keytype":"DELETE_SUBJECT","subject":"s","magic":0}`), `{"subject":"s"}`],
    ];
    for (const [k, v] of bad) {
      expect(() => decodeRecord(k, v === null ? null : Buffer.from(v)), `${k} → ${v}`).toThrow(
        MalformedRecord,
      );
    }
    // Confluent leaves `deleted` out when false.
    const { deleted: _, ...withoutDeleted } = schemaValue;
    expect(decodeRecord(key, Buffer.from(JSON.stringify(withoutDeleted)))).toEqual({
      keytype: "SCHEMA",
      subject: "s",
      version: 1,
      value: schemaValue,
    });
  });
});

describe("RegistryState", () => {
  it("applies records idempotently and keeps the highest id ever seen", () => {
    const s = new RegistryState();
    const records: LogRecord[] = [
      put("a", 1, 1),
      put("b", 1, 1),
      put("a", 2, 2, false, "S"),
      { keytype: "CONFIG", subject: null, value: { compatibilityLevel: "FULL" } },
      { keytype: "ID_FLOOR", value: { maxId: 2 } },
      put("a", 2, 2, true, "S"),
      { keytype: "SCHEMA", subject: "a", version: 2, value: null },
    ];
    for (const r of records) s.apply(r);
    for (const r of records) s.apply(r); // replaying again changes nothing
    expect(s.versions("a", true).map((v) => v.version)).toEqual([1]);
    expect(s.maxId).toBe(2);
    expect(s.schemas.has(2)).toBe(false);
    expect(s.byIdentity.get(s.schemas.get(1)!.identity)).toBe(1);
    expect(s.configs.get(null)).toBe("FULL");
    expect([...(s.idUses.get(1) ?? [])].length).toBe(2);
  });

  it("understands Confluent's DELETE_SUBJECT record", () => {
    const s = new RegistryState();
    s.apply(put("a", 1, 1));
    s.apply(put("a", 2, 2, false, "S"));
    s.apply({ keytype: "DELETE_SUBJECT", subject: "a", value: { subject: "a", version: 2 } });
    expect(s.subjectNames(false)).toEqual([]);
    expect(s.subjectNames(true)).toEqual(["a"]);
  });

  it("resolves the same identity for the same schema written differently", () => {
    const s = new RegistryState();
    const a = s.resolve(`{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}`, []);
    const b = s.resolve(`{ "fields":[{"type":"int","name":"a"}], "type":"record", "name":"R" }`, []);
    expect(a.identity).toBe(b.identity);
  });
});
