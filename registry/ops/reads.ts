// Owns the read operations: answers built from the in-memory state, in Confluent's response shapes.
import { checkTyped, formatted, isSchemaError, type Resolved } from "../formats/index.ts";
import type { PreviousOf } from "../formats/levels.ts";
import { errors } from "../errors.ts";
import type { RegistryState, StoredSchema, VersionEntry } from "../store/state.ts";
import { effectiveLevel, findVersion, parseVersion, schemaBody } from "./common.ts";

function withType(s: StoredSchema, out: Record<string, unknown>): Record<string, unknown> {
  if (s.schemaType !== "AVRO") out.schemaType = s.schemaType;
  if (s.references.length > 0) out.references = s.references;
  return out;
}

export function versionBody(state: RegistryState, v: VersionEntry): Record<string, unknown> {
  const s = state.schemas.get(v.id);
  if (!s) throw errors.schemaNotFound(`Schema ${v.id} not found`);
  return withType(s, { subject: v.subject, version: v.version, id: v.id, schema: s.schema });
}

export function listSubjects(state: RegistryState, deleted: boolean, prefix: string | undefined): string[] {
  const names = state.subjectNames(deleted);
  return prefix ? names.filter((n) => n.startsWith(prefix)) : names;
}

export function listVersions(state: RegistryState, subject: string, deleted: boolean): number[] {
  const versions = state.versions(subject, deleted);
  if (versions.length === 0) throw errors.subjectNotFound(subject);
  return versions.map((v) => v.version);
}

export function getVersion(state: RegistryState, subject: string, version: string, deleted: boolean) {
  return versionBody(state, findVersion(state, subject, version, deleted));
}

export function referencedBy(state: RegistryState, subject: string, version: string): number[] {
  const v = findVersion(state, subject, version, true);
  return state.referencedBy(subject, v.version);
}

export function lookupSchema(
  state: RegistryState,
  subject: string,
  body: unknown,
  deleted: boolean,
  normalize = false,
) {
  const req = schemaBody(body);
  if (state.versions(subject, deleted).length === 0) throw errors.subjectNotFound(subject);
  let identity: string;
  try {
    let resolved = state.resolveAs(req.schemaType, req.schema, req.references);
    // Protobuf and JSON Schema: a normalized lookup looks for the normalized text (as it was registered).
    if (normalize && resolved.schemaType !== "AVRO")
      resolved = state.resolveAs(req.schemaType, resolved.normalized(), req.references);
    identity = resolved.identity;
  } catch (e) {
    if (isSchemaError(e)) throw errors.invalidSchema(e.message);
    throw e;
  }
  const id = state.byIdentity.get(identity);
  const match = state.versions(subject, deleted).find((v) => v.id === id);
  if (id === undefined || !match) throw errors.schemaNotFound("Schema not found");
  return versionBody(state, match);
}

export function schemaById(state: RegistryState, id: number) {
  const s = state.schemas.get(id);
  if (!s) throw errors.schemaNotFound(`Schema ${id} not found`);
  return s;
}

export function getSchemaById(state: RegistryState, id: number) {
  const s = schemaById(state, id);
  return withType(s, { schema: s.schema });
}

export function idUses(state: RegistryState, id: number, deleted: boolean): VersionEntry[] {
  schemaById(state, id);
  const out: VersionEntry[] = [];
  for (const use of state.idUses.get(id) ?? []) {
    const [subject, version] = use.split("\u0000");
    const v = state.subjects.get(subject ?? "")?.get(Number(version));
    if (v && (deleted || !v.deleted)) out.push(v);
  }
  return out.sort((a, b) =>
    a.subject === b.subject ? a.version - b.version : a.subject < b.subject ? -1 : 1,
  );
}

export function listSchemas(
  state: RegistryState,
  prefix: string | undefined,
  deleted: boolean,
  latestOnly: boolean,
) {
  const out: Record<string, unknown>[] = [];
  for (const subject of listSubjects(state, deleted, prefix)) {
    const versions = state.versions(subject, deleted);
    for (const v of latestOnly ? versions.slice(-1) : versions) out.push(versionBody(state, v));
  }
  return out;
}

/** POST /compatibility/subjects/{s}/versions[/{v}]: `version` undefined means against all versions. */
export function testCompatibility(
  state: RegistryState,
  subject: string,
  version: string | undefined,
  body: unknown,
  verbose: boolean,
): { is_compatible: boolean; messages?: string[] } {
  const req = schemaBody(body);
  let candidate;
  try {
    candidate = state.resolveAs(req.schemaType, req.schema, req.references);
  } catch (e) {
    if (!isSchemaError(e)) throw e;
    // Verbose answers an invalid schema as incompatible, with the reason (Confluent's CompatibilityResource).
    const invalid = errors.invalidSchema(e.message);
    if (verbose) return { is_compatible: false, messages: [invalid.message] };
    throw invalid;
  }
  let against: VersionEntry[] = [];
  if (version === undefined) {
    against = state.versions(subject, false);
  } else {
    // As Confluent: `latest` of a subject with no live version leaves nothing to be incompatible with
    // ("check before first register"); a numbered version that is absent or soft-deleted is 40402.
    const v = parseVersion(version);
    const entry = v === "latest" ? state.latest(subject, false) : state.subjects.get(subject)?.get(v);
    if (entry !== undefined && !entry.deleted) against = [entry];
    else if (v !== "latest") throw errors.versionNotFound(v);
  }
  const result = checkTyped(effectiveLevel(state, subject), candidate, previousOf(state, against));
  return verbose
    ? { is_compatible: result.compatible, messages: result.messages }
    : { is_compatible: result.compatible };
}

export function previousOf(state: RegistryState, versions: readonly VersionEntry[]): PreviousOf<Resolved>[] {
  return versions.flatMap((v) => {
    const r = state.resolvedById(v.id);
    const s = state.schemas.get(v.id);
    return r && s ? [{ schema: r, version: v.version, text: s.schema }] : [];
  });
}

/** The schema text of an id in the `format` asked (`serialized`: a Protobuf schema's FileDescriptorProto). */
export function schemaText(state: RegistryState, id: number, format: string | undefined): string {
  const s = schemaById(state, id);
  return format ? formatted(state.resolvedById(id), s.schema, format) : s.schema;
}
