// Owns the registry's in-memory state: what `_schemas` says, rebuilt by applying its records in order. Reads
// are served from here. Applying a record is idempotent (upsert by key), so re-reading is harmless. Pure.
import type { LogRecord, SchemaReference, SchemaValue } from "./records.ts";
import { resolveSchema, type ResolvedSchema } from "../avro/references.ts";
import type { Level } from "../avro/levels.ts";
import { isSchemaType, resolveTyped, type Resolved, type SchemaType } from "../formats/index.ts";

export type Mode = "READWRITE" | "READONLY" | "IMPORT";
export const MODES: readonly Mode[] = ["READWRITE", "READONLY", "IMPORT"];

export interface VersionEntry {
  subject: string;
  version: number;
  id: number;
  deleted: boolean;
}

export interface StoredSchema {
  id: number;
  /** The text as stored for this id (the first registration's). */
  schema: string;
  schemaType: string;
  references: SchemaReference[];
  identity: string;
}

export class RegistryState {
  readonly subjects = new Map<string, Map<number, VersionEntry>>();
  readonly schemas = new Map<number, StoredSchema>();
  readonly byIdentity = new Map<string, number>();
  /** Versions using each id, as "subject\0version". */
  readonly idUses = new Map<number, Set<string>>();
  readonly configs = new Map<string | null, Level>();
  readonly modes = new Map<string | null, Mode>();
  maxId = 0;
  private readonly resolved = new Map<number, Resolved>();
  /**
   * The latest schemas parsed, by type, text and references: a registration parses the submitted text, then
   * applying its record parses the stored text (the canonical text of the same schema) — once is enough.
   */
  private readonly recent = new Map<string, Resolved>();

  apply(r: LogRecord): void {
    switch (r.keytype) {
      case "SCHEMA":
        return this.applySchema(r.subject, r.version, r.value);
      case "CONFIG":
        if (r.value === null) this.configs.delete(r.subject);
        else this.configs.set(r.subject, r.value.compatibilityLevel as Level);
        return;
      case "MODE":
        if (r.value === null) this.modes.delete(r.subject);
        else this.modes.set(r.subject, r.value.mode as Mode);
        return;
      case "DELETE_SUBJECT": {
        const upTo = r.value?.version ?? Infinity;
        for (const v of this.subjects.get(r.subject)?.values() ?? []) if (v.version <= upTo) v.deleted = true;
        return;
      }
      case "ID_FLOOR":
        if (r.value) this.maxId = Math.max(this.maxId, r.value.maxId);
        return;
      case "NOOP":
        return;
    }
  }

  private applySchema(subject: string, version: number, value: SchemaValue | null): void {
    const use = `${subject}\u0000${version}`;
    let versions = this.subjects.get(subject);
    const previous = versions?.get(version);
    if (previous) this.idUses.get(previous.id)?.delete(use);
    if (value === null) {
      // A permanent delete frees the version number: a reference to it may mean another schema later.
      this.recent.clear();
      versions?.delete(version);
      if (versions?.size === 0) this.subjects.delete(subject);
      if (previous) this.dropIfUnused(previous.id);
      return;
    }
    if (!versions) this.subjects.set(subject, (versions = new Map()));
    versions.set(version, { subject, version, id: value.id, deleted: value.deleted });
    if (previous && previous.id !== value.id) this.dropIfUnused(previous.id);
    this.maxId = Math.max(this.maxId, value.id);
    let uses = this.idUses.get(value.id);
    if (!uses) this.idUses.set(value.id, (uses = new Set()));
    uses.add(use);
    if (!this.schemas.has(value.id)) {
      const references = value.references ?? [];
      const schemaType = value.schemaType ?? "AVRO";
      let identity: string;
      try {
        if (!isSchemaType(schemaType)) throw new Error(`unknown schemaType ${schemaType}`);
        const resolved = this.resolveAs(schemaType, value.schema, references);
        identity = resolved.identity;
        this.resolved.set(value.id, resolved);
      } catch {
        identity = `${schemaType}:${value.schema}`;
      }
      this.schemas.set(value.id, { id: value.id, schema: value.schema, schemaType, references, identity });
      if (!this.byIdentity.has(identity)) this.byIdentity.set(identity, value.id);
    }
  }

  private dropIfUnused(id: number): void {
    if ((this.idUses.get(id)?.size ?? 0) > 0) return;
    this.idUses.delete(id);
    const s = this.schemas.get(id);
    if (s && this.byIdentity.get(s.identity) === id) this.byIdentity.delete(s.identity);
    this.schemas.delete(id);
    this.resolved.delete(id);
  }

  /** Parses `text` with its references resolved against this state. Throws AvroSchemaError. */
  resolve(text: string, references: readonly SchemaReference[]): ResolvedSchema {
    return resolveSchema(text, references, (subject, version) => {
      const v = this.subjects.get(subject)?.get(version);
      const s = v && this.schemas.get(v.id);
      return s && { schema: s.schema, references: s.references };
    });
  }

  /** Parses `text` of `schemaType` with its references resolved against this state. Throws a format's error. */
  resolveAs(schemaType: SchemaType, text: string, references: readonly SchemaReference[]): Resolved {
    const refs = references.length === 0 ? "" : JSON.stringify(references);
    const key = `${schemaType}\u0000${refs}\u0000${text}`;
    const hit = this.recent.get(key);
    if (hit) return hit;
    const r = resolveTyped(schemaType, text, references, (subject, version) => {
      const v = this.subjects.get(subject)?.get(version);
      const s = v && this.schemas.get(v.id);
      return s && { schema: s.schema, schemaType: s.schemaType, references: s.references };
    });
    if (this.recent.size >= 256) this.recent.clear();
    this.recent.set(key, r);
    this.recent.set(`${schemaType}\u0000${refs}\u0000${r.text}`, r);
    return r;
  }

  /** The parsed schema of a stored id (cached). */
  resolvedById(id: number): Resolved | undefined {
    let r = this.resolved.get(id);
    if (r) return r;
    const s = this.schemas.get(id);
    if (!s || !isSchemaType(s.schemaType)) return undefined;
    r = this.resolveAs(s.schemaType, s.schema, s.references);
    this.resolved.set(id, r);
    return r;
  }

  /** Versions of a subject in ascending order. */
  versions(subject: string, includeDeleted: boolean): VersionEntry[] {
    const all = [...(this.subjects.get(subject)?.values() ?? [])];
    return all.filter((v) => includeDeleted || !v.deleted).sort((a, b) => a.version - b.version);
  }

  latest(subject: string, includeDeleted = false): VersionEntry | undefined {
    return this.versions(subject, includeDeleted).at(-1);
  }

  subjectNames(includeDeleted: boolean): string[] {
    const out: string[] = [];
    for (const [name, versions] of this.subjects) {
      for (const v of versions.values()) {
        if (includeDeleted || !v.deleted) {
          out.push(name);
          break;
        }
      }
    }
    return out.sort();
  }

  /** Ids of live schemas that reference `subject` at `version`. */
  referencedBy(subject: string, version: number): number[] {
    const ids: number[] = [];
    for (const [id, s] of this.schemas) {
      if (!s.references.some((r) => r.subject === subject && r.version === version)) continue;
      const live = [...(this.idUses.get(id) ?? [])].some((use) => {
        const [sub, ver] = use.split("\u0000");
        return this.subjects.get(sub ?? "")?.get(Number(ver))?.deleted === false;
      });
      if (live) ids.push(id);
    }
    return ids.sort((a, b) => a - b);
  }
}
