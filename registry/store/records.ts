// Owns the `_schemas` record shapes, which are Confluent's own (so the topic is recognisable and tools that
// read it work): JSON keys with a fixed attribute order (compaction compares key bytes) and JSON values.
//   SCHEMA          {"keytype":"SCHEMA","subject":s,"version":v,"magic":1} → {subject,version,id,schema,deleted,[schemaType],[references]} | null (permanent delete)
//   CONFIG          {"keytype":"CONFIG","subject":s|null,"magic":0}        → {"compatibilityLevel":L} | null
//   MODE            {"keytype":"MODE","subject":s|null,"magic":0}          → {"mode":M} | null
//   DELETE_SUBJECT  {"keytype":"DELETE_SUBJECT","subject":s,"magic":0}     → {"subject":s,"version":v} (read only)
//   NOOP            {"keytype":"NOOP","magic":0}                           → ignored
// One addition of ours: {"keytype":"ID_FLOOR","magic":0} → {"maxId":n}, written before a permanent delete so the
// highest id ever issued survives compaction of the deleted schema's record (ids are never reused).
import { isLevel } from "../avro/levels.ts";
import { MODES, type Mode } from "./state.ts";

export interface SchemaReference {
  name: string;
  subject: string;
  version: number;
}

export interface SchemaValue {
  subject: string;
  version: number;
  id: number;
  schema: string;
  deleted: boolean;
  schemaType?: string;
  references?: SchemaReference[];
}

export type LogRecord =
  | { keytype: "SCHEMA"; subject: string; version: number; value: SchemaValue | null }
  | { keytype: "CONFIG"; subject: string | null; value: { compatibilityLevel: string } | null }
  | { keytype: "MODE"; subject: string | null; value: { mode: string } | null }
  | { keytype: "DELETE_SUBJECT"; subject: string; value: { subject: string; version: number } | null }
  | { keytype: "ID_FLOOR"; value: { maxId: number } | null }
  | { keytype: "NOOP" };

export function encodeKey(r: LogRecord): string {
  switch (r.keytype) {
    case "SCHEMA":
      return `{"keytype":"SCHEMA","subject":${JSON.stringify(r.subject)},"version":${r.version},"magic":1}`;
    case "CONFIG":
    case "MODE":
    case "DELETE_SUBJECT":
      return `{"keytype":"${r.keytype}","subject":${JSON.stringify(r.subject)},"magic":0}`;
    case "ID_FLOOR":
    case "NOOP":
      return `{"keytype":"${r.keytype}","magic":0}`;
  }
}

export function encodeValue(r: LogRecord): string | null {
  if (r.keytype === "NOOP" || r.value === null) return null;
  return JSON.stringify(r.value);
}

/** A record with the bytes it is written as (the leader keeps them to know its own writes when read back). */
export interface EncodedRecord {
  record: LogRecord;
  key: Buffer;
  value: Buffer | null;
}

export function encodeRecord(record: LogRecord): EncodedRecord {
  const value = encodeValue(record);
  return {
    record,
    key: Buffer.from(encodeKey(record)),
    value: value === null ? null : Buffer.from(value),
  };
}

/** A `_schemas` record this registry cannot read (bad JSON, a value of the wrong shape): skipped, with a warning. */
export class MalformedRecord extends Error {
  override readonly name = "MalformedRecord";
}

/**
 * Decodes one topic record. Unknown key types (newer Confluent features) yield undefined and are skipped;
 * a key or value that is not what its key type needs throws MalformedRecord (the caller skips it), so nothing
 * of the wrong shape reaches the state.
 */
export function decodeRecord(
  key: Buffer | string | null,
  value: Buffer | string | null,
): LogRecord | undefined {
  if (key === null) throw new MalformedRecord("the record has no key");
  const k = parseJson(key, "key");
  if (!isObject(k)) throw new MalformedRecord("the key is not a JSON object");
  const v = value === null || value.length === 0 ? null : parseJson(value, "value");
  const subject = typeof k.subject === "string" ? k.subject : null;
  switch (k.keytype) {
    case "SCHEMA":
      if (subject === null || !isInteger(k.version))
        throw new MalformedRecord("a SCHEMA key needs a subject and an integer version");
      return { keytype: "SCHEMA", subject, version: k.version, value: v === null ? null : schemaValue(v) };
    case "CONFIG": {
      const why = "a CONFIG value needs a known compatibilityLevel";
      const value = v === null ? null : { compatibilityLevel: field(v, "compatibilityLevel", isLevel, why) };
      return { keytype: "CONFIG", subject, value };
    }
    case "MODE": {
      const value = v === null ? null : { mode: field(v, "mode", isMode, "a MODE value needs a known mode") };
      return { keytype: "MODE", subject, value };
    }
    case "DELETE_SUBJECT": {
      if (subject === null) throw new MalformedRecord("a DELETE_SUBJECT key needs a subject");
      const why = "a DELETE_SUBJECT value needs an integer version";
      const value = v === null ? null : { subject, version: field(v, "version", isInteger, why) };
      return { keytype: "DELETE_SUBJECT", subject, value };
    }
    case "ID_FLOOR": {
      const why = "an ID_FLOOR value needs an integer maxId";
      return { keytype: "ID_FLOOR", value: v === null ? null : { maxId: field(v, "maxId", isInteger, why) } };
    }
    case "NOOP":
      return { keytype: "NOOP" };
    default:
      return undefined;
  }
}

function schemaValue(v: unknown): SchemaValue {
  if (
    !isObject(v) ||
    typeof v.subject !== "string" ||
    !isInteger(v.version) ||
    !isInteger(v.id) ||
    v.id < 1 ||
    typeof v.schema !== "string" ||
    (v.deleted !== undefined && typeof v.deleted !== "boolean") ||
    (v.schemaType !== undefined && typeof v.schemaType !== "string") ||
    (v.references !== undefined && !(Array.isArray(v.references) && v.references.every(isReference)))
  ) {
    throw new MalformedRecord(
      "a SCHEMA value needs subject, version, a positive id, schema, and well-formed deleted/schemaType/references",
    );
  }
  // Confluent omits `deleted` when false; the value keeps every attribute it had (written back as read).
  return { ...(v as unknown as SchemaValue), deleted: v.deleted === true };
}

/** `v[name]` when `v` is an object whose `name` passes `test`, else MalformedRecord(`why`). */
function field<T>(v: unknown, name: string, test: (x: unknown) => x is T, why: string): T {
  const x = isObject(v) ? v[name] : undefined;
  if (test(x)) return x;
  throw new MalformedRecord(why);
}

function isMode(x: unknown): x is Mode {
  return typeof x === "string" && (MODES as readonly string[]).includes(x);
}

function isReference(r: unknown): boolean {
  return isObject(r) && typeof r.name === "string" && typeof r.subject === "string" && isInteger(r.version);
}

function parseJson(bytes: Buffer | string, what: string): unknown {
  try {
    return JSON.parse(bytes.toString()) as unknown;
  } catch {
    throw new MalformedRecord(`the ${what} is not JSON`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isInteger(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v);
}
