// Owns the records of the control-plane catalog topic (`_mesh_catalog`, docs/contracts.md "Control-plane
// catalog") and the pure reducer that folds them into state. Keys: `source/<name>`, `view/<name>`,
// `events/<topic>` (a domain-event topic's declared event types), `policy/<id>` (protocol/policies.ts), `token/<id>` (protocol/tokens.ts); JSON values; a null value (tombstone) deletes.
// Names are owned: a table by the service whose source claimed it, a domain-event topic `<owner>.<aggregate>`
// by its owner, and every topic name `<x>.…` by the service `x` names (a source's name, or a service with
// domain events), so no source of one service can write into another's names. The reducer decides conflicts in log order, so every process
// replaying the topic (API processes, standalone materializers) reaches the same state, and two API
// processes racing for one table or name are settled by Kafka's order, not by whoever checked first.
// Reading and writing the topic is the API's (api/catalog/kafka-log.ts). Pure.
import { policyConflict, type PolicyRecord } from "./policies.ts";
import { asTokenRecord, type TokenRecord } from "./tokens.ts";
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
  /** The transactional outbox: its events go to `<owner>.<aggregatetype>` (absent: none). */
  outbox?: SourceOutbox;
  paused: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface SourceOutbox {
  /** Outbox tables, qualified; claimed like captured tables (`tableIds`, same order). */
  tables: string[];
  tableIds: string[];
  /** Postgres logical messages with this prefix are outbox events too (null: none). */
  messagePrefix: string | null;
  /** `json`: events of topics with no declared type are published as plain JSON (a migration period). */
  untyped: "park" | "json";
}

/** One declared event type of a domain-event topic: its schema's subject and latest version. */
export interface EventTypeRecord {
  type: string;
  /** `<topic>.<type>` (connectors/core/outbox-schemas.ts). */
  subject: string;
  version: number;
  schemaId: number;
  /** What the topic schema calls it (Avro record / Protobuf message full name; JSON: the type). */
  name: string;
  updatedAt: string;
}

/** A domain-event topic's declarations (`events/<topic>`): owner, schema format, types in declaration order. */
export interface EventTopicRecord {
  type: "events";
  id: string;
  topic: string;
  owner: string;
  format: "AVRO" | "JSON" | "PROTOBUF";
  types: EventTypeRecord[];
  /** The version of `<topic>-value` over these types. */
  valueVersion: number;
  valueSchemaId: number;
  createdAt: string;
  updatedAt: string;
}

export interface ViewRecord {
  type: "view";
  id: string;
  name: string;
  sql: string;
  /** The service that declared it (absent: declared before ownership existed, or by the admin: admin-owned). */
  owner?: string;
  createdAt: string;
}

export type CatalogRecord = SourceRecord | ViewRecord | EventTopicRecord | PolicyRecord | TokenRecord;

export interface CatalogState {
  sources: Map<string, SourceRecord>;
  views: Map<string, ViewRecord>;
  /** domain-event topic → its declarations */
  events: Map<string, EventTopicRecord>;
  /** table identity → the source that owns it */
  tables: Map<string, { owner: string; source: string; table: string }>;
  /** policy id → the policy (protocol/policies.ts) */
  policies: Map<string, PolicyRecord>;
  /** token id → the service token's record (protocol/tokens.ts; revoked ones kept) */
  tokens: Map<string, TokenRecord>;
}

export type Rejection =
  | { code: "MESH_TABLE_OWNED"; message: string; details: Record<string, unknown> }
  | { code: "MESH_CONFLICT"; message: string; details: Record<string, unknown> }
  | { code: "MESH_TOPIC_OWNED"; message: string; details: Record<string, unknown> };

export type ApplyResult =
  { accepted: true; change: CatalogChange | null } | { accepted: false; rejection: Rejection };

export type CatalogChange =
  | { type: "source"; name: string; before: SourceRecord | null; after: SourceRecord | null }
  | { type: "view"; name: string; before: ViewRecord | null; after: ViewRecord | null }
  | { type: "events"; name: string; before: EventTopicRecord | null; after: EventTopicRecord | null }
  | { type: "policy"; name: string; before: PolicyRecord | null; after: PolicyRecord | null }
  | { type: "token"; name: string; before: TokenRecord | null; after: TokenRecord | null };

export function emptyState(): CatalogState {
  return {
    sources: new Map(),
    views: new Map(),
    events: new Map(),
    tables: new Map(),
    policies: new Map(),
    tokens: new Map(),
  };
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

export function eventsKey(topic: string): string {
  return `events/${topic}`;
}

/** The service a domain-event topic `<owner>.<aggregatetype>` belongs to. */
export function eventTopicOwner(topic: string): string {
  return topic.slice(0, topic.indexOf("."));
}

/** Table identities a source claims: its captured tables', then its outbox tables'. */
function claims(record: SourceRecord): { id: string; table: string }[] {
  const own = record.tableIds.map((id, i) => ({ id, table: record.tables[i] ?? id }));
  const outbox =
    record.outbox?.tableIds.map((id, i) => ({ id, table: record.outbox?.tables[i] ?? id })) ?? [];
  return [...own, ...outbox];
}

/** Another service that publishes domain events as `name` (`<name>.<aggregate>` topics), if any. */
function eventNamespaceOwner(state: CatalogState, name: string, except: string): string | null {
  for (const e of state.events.values()) if (e.owner === name && e.owner !== except) return e.owner;
  for (const s of state.sources.values())
    if (s.outbox && s.owner === name && s.owner !== except) return s.owner;
  return null;
}

function topicOwned(message: string, details: Record<string, unknown>): Rejection {
  return { code: "MESH_TOPIC_OWNED", message, details };
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
  // A source's topics are `<name>.…`: not a name another service publishes domain events under.
  const publisher = eventNamespaceOwner(state, record.name, record.owner);
  if (publisher)
    return topicOwned(
      `topics ${record.name}.* are service "${publisher}"'s domain-event topics; name the source otherwise`,
      { source: record.name, owner: publisher },
    );
  // Its domain events go to `<owner>.…`: not another service's source's names.
  const named = record.outbox ? state.sources.get(record.owner) : undefined;
  if (named && named.owner !== record.owner)
    return topicOwned(
      `this source's domain events would go to ${record.owner}.<aggregatetype>, but topics ${record.owner}.* are source "${named.name}"'s (owner "${named.owner}")`,
      { source: named.name, owner: named.owner },
    );
  for (const { id, table } of claims(record)) {
    const claim = state.tables.get(id);
    if (!claim || claim.source === record.name) continue;
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

/** Conflicts of an event topic's declarations: its owner's names must not be another service's source's. */
export function eventsConflict(state: CatalogState, record: EventTopicRecord): Rejection | null {
  const prefix = eventTopicOwner(record.topic);
  if (record.owner !== prefix)
    return topicOwned(`topic ${record.topic} belongs to service "${prefix}", not "${record.owner}"`, {
      topic: record.topic,
      owner: prefix,
    });
  const named = state.sources.get(prefix);
  if (named && named.owner !== record.owner)
    return topicOwned(
      `topics ${prefix}.* are source "${named.name}"'s (owner "${named.owner}"): service "${record.owner}" cannot publish domain events there`,
      { topic: record.topic, source: named.name, owner: named.owner },
    );
  const existing = state.events.get(record.topic);
  if (existing && existing.id !== record.id)
    return {
      code: "MESH_CONFLICT",
      message: `the event types of ${record.topic} changed meanwhile; declare again`,
      details: { topic: record.topic },
    };
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
    for (const { id, table } of claims(value))
      state.tables.set(id, { owner: value.owner, source: name, table });
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
  if (kind === "events") {
    const before = state.events.get(name) ?? null;
    if (value === null) {
      if (!before) return { accepted: true, change: null };
      state.events.delete(name);
      return { accepted: true, change: { type: "events", name, before, after: null } };
    }
    if (value.type !== "events" || value.topic !== name) return { accepted: true, change: null };
    const rejection = eventsConflict(state, value);
    if (rejection) return { accepted: false, rejection };
    state.events.set(name, value);
    return { accepted: true, change: { type: "events", name, before, after: value } };
  }
  if (kind === "policy") {
    const before = state.policies.get(name) ?? null;
    if (value === null) {
      if (!before) return { accepted: true, change: null };
      state.policies.delete(name);
      return { accepted: true, change: { type: "policy", name, before, after: null } };
    }
    if (value.type !== "policy" || value.id !== name) return { accepted: true, change: null };
    const rejection = policyConflict(state.policies, value);
    if (rejection) return { accepted: false, rejection };
    state.policies.set(name, value);
    return { accepted: true, change: { type: "policy", name, before, after: value } };
  }
  if (kind === "token") {
    // Tokens never conflict: ids are random, and a revocation is the same record with revokedAt set.
    const before = state.tokens.get(name) ?? null;
    const after = value === null ? null : asTokenRecord(name, value);
    if (value !== null && after === null) return { accepted: true, change: null };
    if (after) state.tokens.set(name, after);
    else if (before) state.tokens.delete(name);
    else return { accepted: true, change: null };
    return { accepted: true, change: { type: "token", name, before, after } };
  }
  return { accepted: true, change: null };
}

function releaseTables(state: CatalogState, record: SourceRecord): void {
  for (const { id } of claims(record)) {
    if (state.tables.get(id)?.source === record.name) state.tables.delete(id);
  }
}
