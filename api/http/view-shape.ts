// The public shape of a view (DESIGN.md HTTP shapes) and the JSON schemas of the view routes: a view with
// its status, a page of rows, the declaration's SQL grammar, and the events of a view's change stream.
import type { ViewStatus, ViewSummary } from "../../materializer/contract.ts";
import type { ViewRecord } from "../../protocol/catalog.ts";
import { SOURCE_NAME_PATTERN } from "../../protocol/topics.ts";
import { PARKED_LISTED } from "../runtime.ts";

// `CREATE [MATERIALIZED] VIEW <name> AS <query>`, any case: what materializer/engine-views.ts viewNameOf
// reads. What follows AS is compiled; SQL outside the supported subset is a 422 MESH_BAD_SQL.
const ci = (word: string): string => [...word].map((c) => `[${c.toUpperCase()}${c.toLowerCase()}]`).join("");
const ws = "[ \\t\\r\\n]";
export const VIEW_SQL_PATTERN =
  `^${ws}*${ci("create")}${ws}+(?:${ci("materialized")}${ws}+)?${ci("view")}${ws}+` +
  `(?:"[^"]+"|[A-Za-z_][A-Za-z0-9_]*)${ws}+${ci("as")}${ws}+[\\s\\S]+$`;

export const viewStatusSchema = {
  $id: "ViewStatus",
  type: "object",
  required: ["state", "error", "progress", "rows", "lagMs", "parked", "parkedCount"],
  properties: {
    state: {
      type: "string",
      enum: ["waiting", "backfilling", "ready", "failed"],
      description:
        "`waiting`: declared before its tables' schemas (or topics) exist, which `waitingFor` names; it " +
        "backfills once they do (a source registers its schemas when its snapshot starts)",
    },
    waitingFor: {
      type: "object",
      required: ["schemas", "topics"],
      description: "state `waiting`: what the view waits for",
      properties: {
        schemas: {
          type: "array",
          items: { type: "string" },
          description: "tables (topic names) whose schemas are not in the registry yet",
        },
        topics: { type: "array", items: { type: "string" }, description: "topics not in Kafka yet" },
      },
    },
    error: { type: ["string", "null"], description: "`<MESH code>: <message>` of a failed view" },
    progress: { type: ["number", "null"], description: "backfill progress, 0..1" },
    rows: { type: "number" },
    lagMs: { type: ["number", "null"] },
    parked: {
      type: "array",
      description: `records the view could not apply, each holding back its key (at most ${PARKED_LISTED} listed)`,
      items: {
        type: "object",
        required: ["topic", "partition", "offset", "key", "reason"],
        properties: {
          topic: { type: "string" },
          partition: { type: "number" },
          offset: { type: "string" },
          key: { type: "string", description: "the record's Kafka key, hex" },
          reason: { type: "string" },
        },
      },
    },
    parkedCount: { type: "number" },
  },
} as const;

export const viewSchema = {
  $id: "View",
  type: "object",
  required: ["name", "sql", "key", "columns", "createdAt", "status"],
  properties: {
    name: { type: "string" },
    sql: { type: "string" },
    owner: {
      type: ["string", "null"],
      description:
        "the service that declared it (null: the admin's); only it (or the admin) changes or drops it",
    },
    key: { type: "array", items: { type: "string" }, description: "the key columns, in key order" },
    columns: { type: "array", items: { type: "string" } },
    columnTypes: {
      type: "array",
      description:
        "each column's type: Postgres' name for it (bigint, numeric, numeric(12,2), text, ...; computed columns' derived from their expressions) and its exact Avro type",
      items: {
        type: "object",
        required: ["name", "type", "avro"],
        properties: { name: { type: "string" }, type: { type: "string" }, avro: {} },
      },
    },
    createdAt: { type: "string", format: "date-time" },
    status: { $ref: "ViewStatus#" },
  },
} as const;

/** A row: the view's columns as lossless JSON (64-bit integers and decimals as strings). */
export const rowSchema = {
  $id: "Row",
  type: "object",
  additionalProperties: true,
  description: "the view's columns as lossless JSON: 64-bit integers and decimals are strings",
} as const;

export const rowPageSchema = {
  $id: "RowPage",
  type: "object",
  required: ["rows", "next"],
  properties: {
    rows: { type: "array", items: { $ref: "Row#" } },
    next: { type: ["string", "null"], description: "the `cursor` of the next page; null on the last page" },
  },
} as const;

export const createViewSchema = {
  $id: "ViewDeclaration",
  type: "object",
  additionalProperties: false,
  required: ["sql"],
  properties: {
    sql: {
      type: "string",
      pattern: VIEW_SQL_PATTERN,
      description:
        "CREATE VIEW <name> AS SELECT ... [JOIN ...] [WHERE ...] (docs/views.md: the supported subset); " +
        "optionally followed by `; CREATE INDEX ON <name>(<column>)`",
    },
    owner: {
      type: "string",
      pattern: SOURCE_NAME_PATTERN,
      description:
        "the service that owns the view: a service token's own (the default; another is refused with 403); the admin may name one (none: the admin's)",
    },
  },
} as const;

export const parkedResultSchema = {
  $id: "ParkedResult",
  type: "object",
  required: ["applied", "stillParked"],
  properties: {
    applied: { type: "number" },
    stillParked: { type: "number" },
    members: {
      type: "array",
      description: "API with --materializer: what each member did (error: it failed or holds no such key)",
      items: {
        type: "object",
        required: ["member"],
        properties: {
          member: { type: "string" },
          applied: { type: "number" },
          stillParked: { type: "number" },
          error: {
            type: "object",
            required: ["code", "message"],
            properties: { code: { type: "string" }, message: { type: "string" } },
          },
        },
      },
    },
  },
} as const;

/** `data` of a view stream's `event: change`. */
export const viewChangeSchema = {
  $id: "ViewChange",
  type: "object",
  required: ["op", "key", "before", "after"],
  properties: {
    op: { type: "string", enum: ["insert", "update", "delete"] },
    key: { type: "array", items: {}, description: "the row's key values, in the view's key order" },
    before: { type: ["object", "null"], additionalProperties: true },
    after: { type: ["object", "null"], additionalProperties: true },
    at: {
      type: "string",
      format: "date-time",
      description: "when the change was applied to the view (absent on changes stored before it was kept)",
    },
    member: { type: "string", description: "a split view read through --materializer: the member's URL" },
  },
} as const;

/** `data` of a view stream's `event: notice` (a start older than the changes kept). */
export const viewNoticeSchema = {
  $id: "ViewNotice",
  type: "object",
  required: ["notice", "message"],
  properties: {
    notice: { type: "string", enum: ["trimmed"] },
    message: { type: "string" },
    from: { type: "string" },
    oldestId: { type: "string" },
    oldestAt: { type: ["string", "null"] },
  },
} as const;

export const viewSchemas = [
  viewStatusSchema,
  viewSchema,
  rowSchema,
  rowPageSchema,
  createViewSchema,
  parkedResultSchema,
  viewChangeSchema,
  viewNoticeSchema,
];

export function publicView(view: ViewRecord, info: ViewSummary | undefined): Record<string, unknown> {
  return {
    name: view.name,
    sql: view.sql,
    owner: view.owner ?? null,
    key: info?.key ?? [],
    columns: info?.columns ?? [],
    columnTypes: info?.columnTypes ?? [],
    createdAt: view.createdAt,
    status: info
      ? publicStatus(info.status)
      : {
          state: "backfilling",
          error: null,
          progress: null,
          rows: 0,
          lagMs: null,
          parked: [],
          parkedCount: 0,
        },
  };
}

/**
 * A view as `reader` sees it: its parked records (input keys and the reasons they failed, from tables of other
 * services) only for its owner and the admin; others see how many there are.
 */
export function publicViewFor(
  reader: { admin: boolean; internal: boolean; service: string | null },
  view: ViewRecord,
  info: ViewSummary | undefined,
): Record<string, unknown> {
  const out = publicView(view, info);
  const owns = reader.admin || reader.internal || (view.owner !== undefined && view.owner === reader.service);
  if (owns) return out;
  return { ...out, status: { ...(out.status as Record<string, unknown>), parked: [] } };
}

/** A view's status as the API shows it (viewSchema): a stopped view is failed, the error one line. */
function publicStatus(status: ViewStatus): Record<string, unknown> {
  return {
    state: status.state === "stopped" ? "failed" : status.state,
    error: status.error ? `${status.error.code}: ${status.error.message}` : null,
    progress: status.progress,
    rows: status.rows,
    lagMs: status.lagMs,
    parked: status.parked.slice(0, PARKED_LISTED),
    parkedCount: status.parked.length,
    ...(status.state === "waiting" && status.waitingFor ? { waitingFor: status.waitingFor } : {}),
  };
}
