// Owns what reads and writes share: request-body validation, version parsing, effective config and mode.
import { errors } from "../errors.ts";
import type { Level } from "../avro/levels.ts";
import { isSchemaType, type SchemaType } from "../formats/index.ts";
import type { SchemaReference } from "../store/records.ts";
import type { Mode, RegistryState, VersionEntry } from "../store/state.ts";

export const DEFAULT_LEVEL: Level = "BACKWARD";
export const DEFAULT_MODE: Mode = "READWRITE";

export interface SchemaBody {
  schema: string;
  /** AVRO when the body names none (Confluent's default). */
  schemaType: SchemaType;
  references: SchemaReference[];
  id?: number;
  version?: number;
}

/** Validates a `{schema, schemaType, references, id, version}` body: AVRO, PROTOBUF or JSON. */
export function schemaBody(body: unknown): SchemaBody {
  if (body === null || typeof body !== "object")
    throw errors.invalidSchema("the request body must be a JSON object");
  const b = body as Record<string, unknown>;
  const schemaType = b.schemaType ?? "AVRO";
  if (!isSchemaType(schemaType))
    throw errors.invalidSchema(`Invalid schema type ${JSON.stringify(schemaType)}`);
  if (typeof b.schema !== "string" || b.schema.trim() === "") throw errors.emptySchema();
  const refs = b.references ?? [];
  if (!Array.isArray(refs)) throw errors.invalidSchema("references must be an array");
  const references = refs.map((r: unknown) => {
    const o = (r ?? {}) as Record<string, unknown>;
    if (typeof o.name !== "string" || typeof o.subject !== "string" || typeof o.version !== "number") {
      throw errors.invalidSchema(`a reference needs name, subject and version: ${JSON.stringify(r)}`);
    }
    return { name: o.name, subject: o.subject, version: o.version };
  });
  const out: SchemaBody = { schema: b.schema, schemaType, references };
  if (typeof b.id === "number" && b.id > 0) out.id = b.id;
  if (typeof b.version === "number" && b.version > 0) out.version = b.version;
  return out;
}

/** `latest`/`-1` → "latest"; an integer in [1, 2^31-1] → that number; anything else → 42202. */
export function parseVersion(v: string): number | "latest" {
  if (v === "latest" || v === "-1") return "latest";
  if (/^[0-9]+$/.test(v)) {
    const n = Number(v);
    if (n >= 1 && n <= 2 ** 31 - 1) return n;
  }
  throw errors.invalidVersion(v);
}

/** A version of an existing subject; 40401 if the subject is unknown, 40402 if the version is. */
export function findVersion(
  state: RegistryState,
  subject: string,
  version: string,
  includeDeleted: boolean,
): VersionEntry {
  const v = parseVersion(version);
  // As Confluent: a subject whose versions are all soft-deleted is not found unless deleted ones are asked for.
  if (state.versions(subject, includeDeleted).length === 0) throw errors.subjectNotFound(subject);
  const entry = v === "latest" ? state.latest(subject, includeDeleted) : state.subjects.get(subject)?.get(v);
  if (!entry || (entry.deleted && !includeDeleted)) throw errors.versionNotFound(version);
  return entry;
}

export function effectiveLevel(state: RegistryState, subject: string | null): Level {
  return (
    (subject !== null ? state.configs.get(subject) : undefined) ?? state.configs.get(null) ?? DEFAULT_LEVEL
  );
}

export function effectiveMode(state: RegistryState, subject: string | null): Mode {
  return (subject !== null ? state.modes.get(subject) : undefined) ?? state.modes.get(null) ?? DEFAULT_MODE;
}

export function flag(v: unknown): boolean {
  return v === true || v === "true";
}
