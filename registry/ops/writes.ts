// Owns the write operations. Each one decides, from the current state, the `_schemas` records to append and
// the answer to give once Kafka has acknowledged them; it never touches Kafka itself. Pure.
import { isLevel, type Level } from "../avro/levels.ts";
import { checkTyped, isSchemaError } from "../formats/index.ts";
import { errors, RegistryError } from "../errors.ts";
import type { LogRecord } from "../store/records.ts";
import { MODES, type Mode, type RegistryState, type VersionEntry } from "../store/state.ts";
import {
  DEFAULT_LEVEL,
  DEFAULT_MODE,
  effectiveLevel,
  effectiveMode,
  findVersion,
  schemaBody,
} from "./common.ts";
import { previousOf } from "./reads.ts";

export interface Write<T> {
  records: LogRecord[];
  result: T;
}

function writable(state: RegistryState, subject: string | null): Mode {
  const mode = effectiveMode(state, subject);
  if (mode === "READONLY") {
    throw errors.notPermitted(
      `Subject ${subject ?? ""} is in read-only mode; change it with PUT /mode`.replace("  ", " "),
    );
  }
  return mode;
}

export function register(
  state: RegistryState,
  subject: string,
  body: unknown,
  normalize: boolean,
): Write<{ id: number; version: number }> {
  const req = schemaBody(body);
  const mode = writable(state, subject);
  if ((req.id !== undefined || req.version !== undefined) && mode !== "IMPORT") {
    throw errors.notPermitted(
      `Subject ${subject} is not in import mode: an id or version can only be given in IMPORT mode`,
    );
  }
  let resolved;
  try {
    resolved = state.resolveAs(req.schemaType, req.schema, req.references);
    // Protobuf and JSON Schema: a normalized registration is the registration of the normalized text.
    if (normalize && resolved.schemaType !== "AVRO")
      resolved = state.resolveAs(req.schemaType, resolved.normalized(), req.references);
  } catch (e) {
    if (isSchemaError(e)) throw errors.invalidSchema(e.message);
    throw e;
  }
  const live = state.versions(subject, false);
  const existingId = state.byIdentity.get(resolved.identity);
  const same = existingId === undefined ? undefined : live.find((v) => v.id === existingId);
  if (same && (req.id === undefined || req.id === same.id))
    return { records: [], result: { id: same.id, version: same.version } };

  if (mode !== "IMPORT") {
    const level = effectiveLevel(state, subject);
    const check = checkTyped(level, resolved, previousOf(state, live));
    if (!check.compatible) {
      throw new RegistryError(
        "INCOMPATIBLE_SCHEMA",
        `Schema being registered is incompatible with an earlier schema for subject "${subject}", details: [${check.messages.join(", ")}]`,
      );
    }
  }

  let id: number;
  if (req.id !== undefined) {
    const taken = state.schemas.get(req.id);
    if (taken && taken.identity !== resolved.identity) {
      throw errors.notPermitted(
        `Overwrite new schema with id ${req.id} is not permitted: the id holds another schema`,
      );
    }
    id = req.id;
  } else {
    id = existingId ?? state.maxId + 1;
  }
  const all = state.versions(subject, true);
  let version: number;
  if (req.version !== undefined) {
    if (state.subjects.get(subject)?.has(req.version)) {
      throw errors.notPermitted(`Version ${req.version} of subject ${subject} already exists`);
    }
    version = req.version;
  } else {
    version = (all.at(-1)?.version ?? 0) + 1;
  }
  // Confluent stores its parser's text (Avro's Schema.toString()), or the normalized form when asked.
  const parsed = normalize ? resolved.normalized() : resolved.text;
  const text = existingId !== undefined ? (state.schemas.get(existingId)?.schema ?? parsed) : parsed;
  const value = {
    subject,
    version,
    id,
    schema: text,
    deleted: false,
    ...(req.schemaType !== "AVRO" ? { schemaType: req.schemaType } : {}),
    ...(req.references.length > 0 ? { references: req.references } : {}),
  };
  return { records: [{ keytype: "SCHEMA", subject, version, value }], result: { id, version } };
}

function refuseIfReferenced(state: RegistryState, v: VersionEntry): void {
  const by = state.referencedBy(v.subject, v.version);
  if (by.length > 0) {
    throw new RegistryError(
      "REFERENCE_EXISTS",
      `One or more references exist to the schema {magic=1,keytype=SCHEMA,subject=${v.subject},version=${v.version}}: ids ${by.join(", ")}; delete those first`,
    );
  }
}

function schemaRecord(state: RegistryState, v: VersionEntry, deleted: boolean): LogRecord {
  const s = state.schemas.get(v.id);
  const value = {
    subject: v.subject,
    version: v.version,
    id: v.id,
    schema: s?.schema ?? "",
    deleted,
    ...(s && s.references.length > 0 ? { references: s.references } : {}),
  };
  return { keytype: "SCHEMA", subject: v.subject, version: v.version, value };
}

export function deleteSubject(state: RegistryState, subject: string, permanent: boolean): Write<number[]> {
  const all = state.versions(subject, true);
  if (all.length === 0) throw errors.subjectNotFound(subject);
  writable(state, subject);
  const live = all.filter((v) => !v.deleted);
  if (!permanent) {
    if (live.length === 0) {
      throw new RegistryError(
        "SUBJECT_SOFT_DELETED",
        // Confluent's text, missing space included (Errors.subjectSoftDeletedException).
        `Subject '${subject}' was soft deleted.Set permanent=true to delete permanently`,
      );
    }
    for (const v of live) refuseIfReferenced(state, v);
    return { records: live.map((v) => schemaRecord(state, v, true)), result: live.map((v) => v.version) };
  }
  if (live.length > 0) {
    throw new RegistryError(
      "SUBJECT_NOT_SOFT_DELETED",
      `Subject '${subject}' was not deleted first before being permanently deleted`,
    );
  }
  const records: LogRecord[] = [{ keytype: "ID_FLOOR", value: { maxId: state.maxId } }];
  for (const v of all) records.push({ keytype: "SCHEMA", subject, version: v.version, value: null });
  if (state.configs.has(subject)) records.push({ keytype: "CONFIG", subject, value: null });
  if (state.modes.has(subject)) records.push({ keytype: "MODE", subject, value: null });
  return { records, result: all.map((v) => v.version) };
}

export function deleteVersion(
  state: RegistryState,
  subject: string,
  version: string,
  permanent: boolean,
): Write<number> {
  // A soft-deleted version named by number answers 40406; "latest" means the latest live one.
  const v = findVersion(state, subject, version, permanent || version !== "latest");
  writable(state, subject);
  if (!permanent) {
    if (v.deleted) {
      throw new RegistryError(
        "VERSION_SOFT_DELETED",
        `Subject '${subject}' Version ${v.version} was soft deleted. Set permanent=true to delete permanently`,
      );
    }
    refuseIfReferenced(state, v);
    return { records: [schemaRecord(state, v, true)], result: v.version };
  }
  if (!v.deleted) {
    throw new RegistryError(
      "VERSION_NOT_SOFT_DELETED",
      `Subject '${subject}' Version ${v.version} was not deleted first before being permanently deleted`,
    );
  }
  refuseIfReferenced(state, v);
  const records: LogRecord[] = [
    { keytype: "ID_FLOOR", value: { maxId: state.maxId } },
    { keytype: "SCHEMA", subject, version: v.version, value: null },
  ];
  return { records, result: v.version };
}

export function putConfig(
  state: RegistryState,
  subject: string | null,
  body: unknown,
): Write<{ compatibility: Level }> {
  const level =
    (body as Record<string, unknown> | null)?.compatibility ??
    (body as Record<string, unknown> | null)?.compatibilityLevel;
  if (!isLevel(level)) throw errors.invalidLevel();
  void state;
  return {
    records: [{ keytype: "CONFIG", subject, value: { compatibilityLevel: level } }],
    result: { compatibility: level },
  };
}

export function deleteConfig(
  state: RegistryState,
  subject: string | null,
): Write<{ compatibilityLevel: Level }> {
  if (subject !== null && state.versions(subject, true).length === 0 && !state.configs.has(subject)) {
    throw errors.subjectNotFound(subject);
  }
  const previous =
    state.configs.get(subject) ?? (subject === null ? DEFAULT_LEVEL : effectiveLevel(state, subject));
  const records: LogRecord[] = state.configs.has(subject)
    ? [{ keytype: "CONFIG", subject, value: null }]
    : [];
  return { records, result: { compatibilityLevel: previous } };
}

export function putMode(
  state: RegistryState,
  subject: string | null,
  body: unknown,
  force: boolean,
): Write<{ mode: Mode }> {
  const mode = (body as Record<string, unknown> | null)?.mode;
  if (typeof mode !== "string" || !(MODES as readonly string[]).includes(mode))
    throw errors.invalidMode(mode);
  if (mode === "IMPORT" && !force) {
    const nonEmpty =
      subject === null ? state.subjectNames(true).length > 0 : state.versions(subject, true).length > 0;
    if (nonEmpty) {
      throw errors.notPermitted(
        `Cannot import since found existing subjects${subject === null ? "" : ` (${subject})`}; pass force=true to switch to IMPORT anyway`,
      );
    }
  }
  return { records: [{ keytype: "MODE", subject, value: { mode } }], result: { mode: mode as Mode } };
}

export function deleteMode(state: RegistryState, subject: string): Write<{ mode: Mode }> {
  if (state.versions(subject, true).length === 0 && !state.modes.has(subject))
    throw errors.subjectNotFound(subject);
  const previous = state.modes.get(subject) ?? DEFAULT_MODE;
  const records: LogRecord[] = state.modes.has(subject) ? [{ keytype: "MODE", subject, value: null }] : [];
  return { records, result: { mode: previous } };
}
