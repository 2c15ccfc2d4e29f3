// The public shape of a source (DESIGN.md HTTP shapes): everything but the credentials; and the JSON schemas
// of a source, its status and its registration (one per kind: the URL's grammar depends on it).
import type { SourceRecord } from "../../protocol/catalog.ts";
import { publicUrl } from "../catalog/table-identity.ts";
import { SOURCE_NAME_PATTERN } from "../../protocol/topics.ts";
import type { PlacedSourceStatus, SourceRuntime } from "../runtime.ts";

export function topicsOf(source: Pick<SourceRecord, "name" | "tables">): string[] {
  return source.tables.map((t) => `${source.name}.${t}`);
}

const unknownStatus: PlacedSourceStatus = {
  state: "stopped",
  error: null,
  progress: null,
  lagBytes: null,
  lagSeconds: null,
  offset: null,
  events: {},
  tables: {},
};

/**
 * `declared`: the domain-event topics with declared types of the source's owner; with the topics its
 * connector routed events to, they are the topics the source's outbox feeds.
 */
export function publicSource(
  source: SourceRecord,
  runtime: SourceRuntime,
  declared: readonly string[] = [],
): Record<string, unknown> {
  const status = runtime.status(source.name) ?? {
    ...unknownStatus,
    state: source.paused ? "paused" : "stopped",
  };
  const outbox = source.outbox
    ? {
        tables: source.outbox.tables,
        messagePrefix: source.outbox.messagePrefix,
        untyped: source.outbox.untyped,
        topics: [...new Set([...declared, ...Object.keys(status.outbox ?? {})])].sort(),
      }
    : null;
  return {
    name: source.name,
    owner: source.owner,
    kind: source.kind,
    url: publicUrl(source.url),
    tables: source.tables,
    topics: topicsOf(source),
    snapshot: source.snapshot,
    partitions: source.partitions,
    delivery: source.delivery ?? "at-least-once",
    outbox,
    paused: source.paused,
    createdAt: source.createdAt,
    status: { ...status, resnapshot: status.resnapshot ?? null, holder: status.holder ?? null },
  };
}

const statusError = {
  type: ["object", "null"],
  required: ["code", "message"],
  properties: { code: { type: "string" }, message: { type: "string" } },
} as const;

export const sourceStatusSchema = {
  $id: "SourceStatus",
  type: "object",
  required: ["state", "error", "progress", "lagBytes", "lagSeconds", "offset", "events", "tables"],
  properties: {
    state: { type: "string", enum: ["starting", "snapshotting", "streaming", "paused", "stopped", "failed"] },
    error: statusError,
    progress: {
      type: ["object", "null"],
      required: ["phase", "rowsDone", "rowsEstimated", "table"],
      properties: {
        phase: { type: "string", enum: ["initial", "incremental"] },
        rowsDone: { type: "number" },
        rowsEstimated: { type: "number" },
        table: { type: ["string", "null"] },
      },
    },
    lagBytes: { type: ["number", "null"] },
    lagSeconds: { type: ["number", "null"] },
    offset: { type: ["string", "null"], description: "the confirmed source position (LSN, binlog file:pos)" },
    events: {
      type: "object",
      description: "events written per table since the connector started",
      additionalProperties: { type: "number" },
    },
    tables: {
      type: "object",
      description: "tables stopped on their own (e.g. an incompatible schema change), with the reason",
      additionalProperties: {
        type: "object",
        required: ["state", "error"],
        properties: { state: { type: "string", enum: ["streaming", "failed"] }, error: statusError },
      },
    },
    outbox: {
      type: "object",
      description: "domain-event topics the outbox fed since the connector started, by topic",
      additionalProperties: {
        type: "object",
        required: ["published", "untyped", "parked", "perSecond", "lastEventAt"],
        properties: {
          published: { type: "integer", description: "events written to the topic" },
          untyped: { type: "integer", description: "of those, published as plain JSON (untyped: json)" },
          parked: { type: "integer", description: "events parked now" },
          perSecond: { type: "number", description: "published per second over the last minute" },
          lastEventAt: { type: ["string", "null"], format: "date-time" },
        },
      },
    },
    resnapshot: {
      type: ["object", "null"],
      description: "a requested re-snapshot still running: the tables still to do, the current one first",
      required: ["pending"],
      properties: { pending: { type: "array", items: { type: "string" } } },
    },
    holder: {
      type: ["object", "null"],
      description:
        "the API process running the connector and when it reported this status (stale: no report for 5 intervals)",
      required: ["url", "reportedAt", "stale"],
      properties: { url: { type: "string" }, reportedAt: { type: "string" }, stale: { type: "boolean" } },
    },
  },
} as const;

export const sourceSchema = {
  $id: "Source",
  type: "object",
  required: [
    "name",
    "owner",
    "kind",
    "url",
    "tables",
    "topics",
    "snapshot",
    "partitions",
    "delivery",
    "outbox",
    "paused",
    "createdAt",
    "status",
  ],
  properties: {
    name: { type: "string" },
    owner: { type: "string" },
    kind: { type: "string", enum: ["postgres", "mysql"] },
    url: { type: "string", description: "the source URL without its password" },
    tables: { type: "array", items: { type: "string" } },
    topics: { type: "array", items: { type: "string" } },
    snapshot: { type: "string", enum: ["initial", "never"] },
    partitions: { type: "integer" },
    delivery: { type: "string", enum: ["at-least-once", "exactly-once"] },
    outbox: {
      type: ["object", "null"],
      description: "the transactional outbox (null: none), with the domain-event topics it feeds",
      required: ["tables", "messagePrefix", "untyped", "topics"],
      properties: {
        tables: { type: "array", items: { type: "string" } },
        messagePrefix: { type: ["string", "null"] },
        untyped: { type: "string", enum: ["park", "json"] },
        topics: {
          type: "array",
          items: { type: "string" },
          description: "`<owner>.<aggregatetype>` topics with declared event types or events routed to them",
        },
      },
    },
    paused: { type: "boolean" },
    createdAt: { type: "string", format: "date-time" },
    status: { $ref: "SourceStatus#" },
  },
} as const;

export const sourceRef = { $ref: "Source#" } as const;

// A URL the registration takes: every string these patterns match is one `new URL()` parses to the kind's
// scheme, a host, an optional port 0..65535 and a database, with percent-escapes of printable ASCII only
// (they are decoded on the way to the driver). Hosts are names or IPv4 addresses.
const escaped = "%[2-7][0-9A-Fa-f]";
const userInfo = `(?:(?:[A-Za-z0-9._~!$&'()*+,;=-]|${escaped})+(?::(?:[A-Za-z0-9._~!$&'()*+,;=-]|${escaped})*)?@)?`;
const host =
  "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*";
const port = "(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?";
// No dot: `new URL()` reads a path segment "." or "%2e" as "this directory" and drops it.
const database = "/(?:[A-Za-z0-9_~$-]|%(?:2[0-9A-Da-dFf]|[3-7][0-9A-Fa-f]))+";
const query = `(?:\\?(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|${escaped})*)?`;
const urlPattern = (schemes: string): string => `^${schemes}://${userInfo}${host}${port}${database}${query}$`;

/** A captured table: `table` or `<schema>.<table>` (MySQL: `<database>.<table>`), unquoted identifiers. */
export const tablesSchema = {
  type: "array",
  minItems: 1,
  uniqueItems: true,
  items: {
    type: "string",
    pattern: "^[A-Za-z_][A-Za-z0-9_$]{0,62}(?:\\.[A-Za-z_][A-Za-z0-9_$]{0,62})?$",
    description: "`<schema>.<table>` or `<table>` (Postgres: schema public; MySQL: the URL's database)",
  },
} as const;

/** Logical-message prefixes (`pg_logical_emit_message(true, '<prefix>', ...)`). */
export const MESSAGE_PREFIX_PATTERN = "^[A-Za-z0-9_.:-]{1,64}$";

/** A registration's `outbox` (Postgres also takes logical messages by prefix). */
function outboxSchema(kind: "postgres" | "mysql"): Record<string, unknown> {
  const tables = {
    ...tablesSchema,
    description:
      "outbox tables (columns id, aggregatetype, aggregateid, type, payload): each inserted row is a domain event",
  };
  const untyped = {
    type: "string",
    enum: ["park", "json"],
    default: "park",
    description:
      "events of a topic with no declared event type: park (default) keeps them until the type is declared; " +
      "json publishes them as plain JSON, unchecked (a migration period; GET /v1/events flags the topic untyped)",
  };
  const common = {
    type: "object",
    additionalProperties: false,
    description:
      "the transactional outbox: events go to `<owner>.<aggregatetype>`, keyed by aggregateid, under the schemas " +
      "declared with PUT /v1/events/{topic}/types/{type}",
  };
  if (kind === "mysql") return { ...common, required: ["tables"], properties: { tables, untyped } };
  return {
    ...common,
    minProperties: 1,
    properties: {
      tables,
      messagePrefix: {
        type: "string",
        pattern: MESSAGE_PREFIX_PATTERN,
        description: "logical messages (pg_logical_emit_message) with this prefix are domain events too",
      },
      untyped,
    },
  };
}

function registration(
  id: string,
  kind: "postgres" | "mysql",
  schemes: string,
  example: string,
): Record<string, unknown> {
  return {
    $id: id,
    type: "object",
    additionalProperties: false,
    required: ["name", "kind", "url", "tables"],
    properties: {
      name: {
        type: "string",
        pattern: SOURCE_NAME_PATTERN,
        description: "topic prefix: <name>.<schema>.<table>",
      },
      owner: {
        type: "string",
        pattern: SOURCE_NAME_PATTERN,
        description:
          "the service that owns these tables: a service token's own service (the default; another is refused with 403), named by the admin",
      },
      kind: { type: "string", enum: [kind] },
      url: {
        type: "string",
        pattern: urlPattern(schemes),
        description: `${example} (the password is never returned)`,
      },
      tables: tablesSchema,
      snapshot: {
        type: "string",
        enum: ["initial", "never"],
        default: "initial",
        description: "initial: read the tables first, then stream; never: stream from now on",
      },
      partitions: { type: "integer", minimum: 1, maximum: 64, default: 3, description: "of each topic" },
      delivery: {
        type: "string",
        enum: ["at-least-once", "exactly-once"],
        description:
          "exactly-once (default): Kafka transactions of whole source transactions with the stored position, " +
          "so read_committed consumers see every change once across any crash; at-least-once: a crash may " +
          "repeat the last events (exact copies), which become readable at the produce acknowledgement",
      },
      outbox: outboxSchema(kind),
    },
  };
}

export const postgresRegistrationSchema = registration(
  "PostgresSourceRegistration",
  "postgres",
  "postgres(?:ql)?",
  "postgres://user:password@host:5432/database",
);
export const mysqlRegistrationSchema = registration(
  "MysqlSourceRegistration",
  "mysql",
  "mysql",
  "mysql://user:password@host:3306/database",
);

/** POST /v1/sources: one of the registrations (`kind` tells which). */
export const sourceRegistrationSchema = {
  $id: "SourceRegistration",
  oneOf: [{ $ref: "PostgresSourceRegistration#" }, { $ref: "MysqlSourceRegistration#" }],
} as const;

/** The shared schemas of the source routes (server.ts registers them; the document names them). */
export const sourceSchemas = [
  sourceStatusSchema,
  sourceSchema,
  postgresRegistrationSchema,
  mysqlRegistrationSchema,
  sourceRegistrationSchema,
];
