// Owns the records of the control-plane catalog topic (`_mesh_catalog`, docs/contracts.md "Control-plane
// catalog") and the pure reducer that folds them into state. Keys: `source/<name>`, `view/<name>`; JSON
// values; a null value (tombstone) deletes. The reducer decides conflicts in log order, so every process
// replaying the topic (API processes, standalone materializers) reaches the same state, and two API
// processes racing for one table or name are settled by Kafka's order, not by whoever checked first.
// Reading and writing the topic is the API's (api/catalog/kafka-log.ts). Pure.
import { qualifiedTableTopic } from "./topics.ts";

/** The kinds of source database a connector exists for. */
export type SourceKind = "postgres" | "mysql";

export interface SourceRecord {
  type: "source";
  /** Unique per registration: an update (pause/resume) keeps it, a new registration of a name does not. */
  id: string;
  name: string;
  owner: string;
  kind: SourceKind;
  /** With credentials: the connector needs them after a restart. Never returned or logged. */
  url: string;
  /** Qualified (`schema.table` / `db.table`), in the order given. */
  tables: string[];
  /** Ownership identities, one per table (api/catalog/table-identity.ts). */
  tableIds: string[];
  snapshot: "initial" | "never";
  /** Partitions of each table topic (docs/contracts.md: 3 by default). */
  partitions: number;
  /** The connector's delivery mode; records written before it existed have none: at-least-once. */
  delivery?: "at-least-once" | "exactly-once";
  paused: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface ViewRecord {
  type: "view";
  id: string;
  name: string;
  sql: string;
  createdAt: string;
}

export type CatalogRecord = SourceRecord | ViewRecord;

export interface CatalogState {
  sources: Map<string, SourceRecord>;
  views: Map<string, ViewRecord>;
  /** table identity → the source that owns it */
  tables: Map<string, { owner: string; source: string; table: string }>;
}

export type Rejection =
  | { code: "MESH_TABLE_OWNED"; message: string; details: Record<string, unknown> }
  | { code: "MESH_CONFLICT"; message: string; details: Record<string, unknown> };

export type ApplyResult =
  { accepted: true; change: CatalogChange | null } | { accepted: false; rejection: Rejection };

export type CatalogChange =
  | { type: "source"; name: string; before: SourceRecord | null; after: SourceRecord | null }
  | { type: "view"; name: string; before: ViewRecord | null; after: ViewRecord | null };

export function emptyState(): CatalogState {
  return { sources: new Map(), views: new Map(), tables: new Map() };
}

/** The topics of the sources' tables: what a view may name before their schemas are registered. */
export function sourceTopics(sources: Iterable<SourceRecord>): string[] {
  return [...sources].flatMap((s) => s.tables.map((t) => qualifiedTableTopic(s.name, t)));
}

export function sourceKey(name: string): string {
  return `source/${name}`;
}

export function viewKey(name: string): string {
  return `view/${name}`;
}

/** Conflicts a source record would have with the state; null when it may be applied. */
export function sourceConflict(state: CatalogState, record: SourceRecord): Rejection | null {
  const existing = state.sources.get(record.name);
  if (existing && existing.id !== record.id) {
    return {
      code: "MESH_CONFLICT",
      message: `a source named "${record.name}" exists already (owner "${existing.owner}"); choose another name or delete it first`,
      details: { source: record.name, owner: existing.owner },
    };
  }
  for (const [i, id] of record.tableIds.entries()) {
    const claim = state.tables.get(id);
    if (!claim || claim.source === record.name) continue;
    const table = record.tables[i] ?? id;
    if (claim.owner !== record.owner) {
      return {
        code: "MESH_TABLE_OWNED",
        message: `table ${table} is owned by service "${claim.owner}" (source "${claim.source}"); ask its owner, or subscribe to its topic instead`,
        details: { table, tableId: id, owner: claim.owner, source: claim.source },
      };
    }
    return {
      code: "MESH_CONFLICT",
      message: `table ${table} is already captured by source "${claim.source}" of the same owner; add it there instead`,
      details: { table, tableId: id, owner: claim.owner, source: claim.source },
    };
  }
  return null;
}

export function viewConflict(state: CatalogState, record: ViewRecord): Rejection | null {
  const existing = state.views.get(record.name);
  if (existing && existing.id !== record.id) {
    return {
      code: "MESH_CONFLICT",
      message: `a view named "${record.name}" exists already; choose another name or delete it first`,
      details: { view: record.name },
    };
  }
  return null;
}

/** Applies one record in log order (mutates `state`). Unknown keys are ignored: newer writers may add kinds. */
export function applyRecord(state: CatalogState, key: string, value: CatalogRecord | null): ApplyResult {
  const slash = key.indexOf("/");
  const kind = key.slice(0, slash);
  const name = key.slice(slash + 1);
  if (kind === "source") {
    const before = state.sources.get(name) ?? null;
    if (value === null) {
      if (!before) return { accepted: true, change: null };
      releaseTables(state, before);
      state.sources.delete(name);
      return { accepted: true, change: { type: "source", name, before, after: null } };
    }
    if (value.type !== "source" || value.name !== name) return { accepted: true, change: null };
    const rejection = sourceConflict(state, value);
    if (rejection) return { accepted: false, rejection };
    if (before) releaseTables(state, before);
    for (const [i, id] of value.tableIds.entries()) {
      state.tables.set(id, { owner: value.owner, source: name, table: value.tables[i] ?? id });
    }
    state.sources.set(name, value);
    return { accepted: true, change: { type: "source", name, before, after: value } };
  }
  if (kind === "view") {
    const before = state.views.get(name) ?? null;
    if (value === null) {
      if (!before) return { accepted: true, change: null };
      state.views.delete(name);
      return { accepted: true, change: { type: "view", name, before, after: null } };
    }
    if (value.type !== "view" || value.name !== name) return { accepted: true, change: null };
    const rejection = viewConflict(state, value);
    if (rejection) return { accepted: false, rejection };
    state.views.set(name, value);
    return { accepted: true, change: { type: "view", name, before, after: value } };
  }
  return { accepted: true, change: null };
}

function releaseTables(state: CatalogState, record: SourceRecord): void {
  for (const id of record.tableIds) {
    if (state.tables.get(id)?.source === record.name) state.tables.delete(id);
  }
}
