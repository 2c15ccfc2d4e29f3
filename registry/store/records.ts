// Owns the `_schemas` record shapes, which are Confluent's own (so the topic is recognisable and tools that
// read it work): JSON keys with a fixed attribute order (compaction compares key bytes) and JSON values.
//   SCHEMA          {"keytype":"SCHEMA","subject":s,"version":v,"magic":1} → {subject,version,id,schema,deleted,[schemaType],[references]} | null (permanent delete)
//   CONFIG          {"keytype":"CONFIG","subject":s|null,"magic":0}        → {"compatibilityLevel":L} | null
//   MODE            {"keytype":"MODE","subject":s|null,"magic":0}          → {"mode":M} | null
//   DELETE_SUBJECT  {"keytype":"DELETE_SUBJECT","subject":s,"magic":0}     → {"subject":s,"version":v} (read only)
//   NOOP            {"keytype":"NOOP","magic":0}                           → ignored
// One addition of ours: {"keytype":"ID_FLOOR","magic":0} → {"maxId":n}, written before a permanent delete so the
// highest id ever issued survives compaction of the deleted schema's record (ids are never reused).

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

/** Decodes one topic record; unknown key types (newer Confluent features) yield undefined and are skipped. */
export function decodeRecord(
  key: Buffer | string | null,
  value: Buffer | string | null,
): LogRecord | undefined {
  if (key === null) return undefined;
  let k: Record<string, unknown>;
  try {
    k = JSON.parse(key.toString()) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const v = value === null || value.length === 0 ? null : (JSON.parse(value.toString()) as never);
  const subject = typeof k.subject === "string" ? k.subject : null;
  switch (k.keytype) {
    case "SCHEMA":
      if (subject === null || typeof k.version !== "number") return undefined;
      return { keytype: "SCHEMA", subject, version: k.version, value: v };
    case "CONFIG":
      return { keytype: "CONFIG", subject, value: v };
    case "MODE":
      return { keytype: "MODE", subject, value: v };
    case "DELETE_SUBJECT":
      return subject === null ? undefined : { keytype: "DELETE_SUBJECT", subject, value: v };
    case "ID_FLOOR":
      return { keytype: "ID_FLOOR", value: v };
    case "NOOP":
      return { keytype: "NOOP" };
    default:
      return undefined;
  }
}
