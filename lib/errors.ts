// The one catalogue of datamesh error codes. Each code has an HTTP status, whether retrying can help,
// and what the operator should do. Retry decisions use `retryable`, never the message text.
export interface ErrorSpec {
  status: number;
  retryable: boolean;
  /** Cause and what to do, shown in docs/errors.md. */
  doc: string;
}

export const errorCatalogue = {
  MESH_BAD_REQUEST: {
    status: 400,
    retryable: false,
    doc: "The request body or query is malformed; fix the named field.",
  },
  MESH_UNKNOWN_FIELD: {
    status: 400,
    retryable: false,
    doc: "The body has a field the API does not know; remove or rename it.",
  },
  MESH_BAD_SQL: {
    status: 422,
    retryable: false,
    doc: "The view SQL is outside the supported subset; the message names the construct and position.",
  },
  MESH_BAD_QUERY: {
    status: 422,
    retryable: false,
    doc: "A row query, row key or change-stream position does not fit this view: a column it lacks, a value not of the column's type, an order by a column without an index, an unknown filter operator, another view's change id; the message names it.",
  },
  MESH_NOT_CAPTURED: {
    status: 422,
    retryable: false,
    doc: "A re-snapshot names tables the source does not capture; the message lists the ones it does.",
  },
  MESH_BAD_CURSOR: {
    status: 422,
    retryable: false,
    doc: "The cursor is not one this view returned for this query's order and filters; repeat the query without it, or pass the `next` of the previous page unchanged.",
  },
  MESH_UNPROCESSABLE: {
    status: 422,
    retryable: false,
    doc: "The request is well-formed but asks for what cannot be (a token expiring in the past, a source the admin registers without an owner, a policy naming its topic twice or none, granting the owner, or masking a column the table lacks); the message names the field.",
  },
  MESH_METHOD_NOT_ALLOWED: {
    status: 405,
    retryable: false,
    doc: "The path exists but does not take this HTTP method; the `Allow` header lists the ones it takes.",
  },
  MESH_UNAUTHORIZED: {
    status: 401,
    retryable: false,
    doc: "No or an invalid token; send `Authorization: Bearer <token>`.",
  },
  MESH_FORBIDDEN: {
    status: 403,
    retryable: false,
    doc: "The token's service may not do this; ask the owner for access.",
  },
  MESH_RATE_LIMITED: {
    status: 429,
    retryable: true,
    doc: "This token sent more requests to a query or stream route than its limit allows in the window; wait the `Retry-After` seconds, or ask the operator to raise `--rate-limit-query` / `--rate-limit-stream` of `mesh api`.",
  },
  MESH_NOT_FOUND: {
    status: 404,
    retryable: false,
    doc: "No such source, view, topic or row; check the name.",
  },
  MESH_CONFLICT: {
    status: 409,
    retryable: false,
    doc: "The name exists already; choose another or delete the old one.",
  },
  MESH_TABLE_OWNED: {
    status: 409,
    retryable: false,
    doc: "A table is owned by another service (data boundaries); ask its owner or subscribe to its topic.",
  },
  MESH_SOURCE_UNREACHABLE: {
    status: 422,
    retryable: true,
    doc: "The source database did not answer; check host, port and network.",
  },
  MESH_SOURCE_AUTH: {
    status: 422,
    retryable: false,
    doc: "The source database refused the credentials; check user and password.",
  },
  MESH_SOURCE_PREREQUISITE: {
    status: 422,
    retryable: false,
    doc: "The source database is not set up for CDC; run the setup SQL the message gives.",
  },
  MESH_SOURCE_POSITION_LOST: {
    status: 409,
    retryable: false,
    doc: "The source database no longer has the position the connector stopped at (its replication slot was dropped or invalidated, its binlogs purged); the message names what is gone. Set the source's snapshot mode to when_needed to snapshot anew, or delete and re-create the source.",
  },
  MESH_TOPIC_OWNED: {
    status: 409,
    retryable: false,
    doc: "A topic name belongs to another service: domain-event topics `<owner>.<aggregatetype>` are their owner's, and `<source>.*` names are that source's owner's; declare events as the topic's owner, or pick names that do not collide.",
  },
  MESH_BAD_SCHEMA: {
    status: 422,
    retryable: false,
    doc: "An event type's schema is not one the topic can use (it does not parse, an Avro schema is not a named record, a .proto file has no message, its format differs from the topic's); the message says what.",
  },
  MESH_EVENT_TYPE_UNDECLARED: {
    status: 422,
    retryable: false,
    doc: "A domain event's type has no schema on its topic, so it is parked; declare it (PUT /v1/events/{topic}/types/{type}) and retry the parked events.",
  },
  MESH_EVENT_INVALID: {
    status: 422,
    retryable: false,
    doc: "A domain event's payload does not fit its type's schema, so it is parked; register a compatible schema version that accepts it and retry, or skip the event.",
  },
  MESH_EVENT_UNROUTABLE: {
    status: 422,
    retryable: false,
    doc: "An outbox row or message has no aggregatetype or aggregateid (or is not JSON), so it cannot be routed and is parked; skip it and fix the writer.",
  },
  MESH_EVENT_BEHIND_PARKED: {
    status: 409,
    retryable: false,
    doc: "An earlier event of the same aggregate is parked, so this one waits behind it (events of one aggregate stay in order); retry or skip the first.",
  },
  MESH_SCHEMA_INCOMPATIBLE: {
    status: 409,
    retryable: false,
    doc: "A table's new schema breaks the subject's compatibility rule; the table is stopped until resolved.",
  },
  MESH_VIEW_NOT_READY: {
    status: 503,
    retryable: true,
    doc: "The view is still backfilling; retry, or pass `stale=true` to read it as it is.",
  },
  MESH_KAFKA_UNAVAILABLE: {
    status: 503,
    retryable: true,
    doc: "Kafka is unreachable; check MESH_KAFKA_BROKERS and the brokers.",
  },
  MESH_KAFKA_OFFSET_OUT_OF_RANGE: {
    status: 500,
    retryable: false,
    doc: "A reader's position is outside the partition's records (deleted by retention, or the topic was recreated); the message names topic, partition and offset. Rebuild what was derived from that partition (e.g. recreate the view) or resume from an offset that exists.",
  },
  MESH_KAFKA_TIMEOUT: {
    status: 503,
    retryable: true,
    doc: "A request to Kafka (or a wait for a topic's metadata) did not finish in time; the brokers are slow or overloaded. Retry; if it persists, check the brokers' load and logs.",
  },
  MESH_KAFKA_AUTH: {
    status: 503,
    retryable: false,
    doc: "Kafka refused this process' SASL credentials or ACLs deny the operation; check the mechanism, user and password (MESH_KAFKA_SASL_*) and the user's ACLs.",
  },
  MESH_KAFKA_FENCED: {
    status: 409,
    retryable: false,
    doc: "Another process took over this producer's transactional id (a newer instance of the same role); this one is a zombie and must stop. Check that only one instance runs per transactional id.",
  },
  MESH_KAFKA_TOPIC_MISSING: {
    status: 503,
    retryable: false,
    doc: "A topic this process writes or reads does not exist (topics are never auto-created); create it (the role creates its own at start) or check the name.",
  },
  MESH_KAFKA_TOPIC_MISCONFIGURED: {
    status: 500,
    retryable: false,
    doc: "A topic exists with settings this process cannot work with (partition count, cleanup.policy, a partition out of range); the message names the topic and setting. Fix the topic or recreate it.",
  },
  MESH_KAFKA_REJECTED: {
    status: 500,
    retryable: false,
    doc: "Kafka refused a request for a reason retrying will not fix (e.g. MESSAGE_TOO_LARGE, INVALID_RECORD); the message names Kafka's error code. Fix the cause it names.",
  },
  MESH_KAFKA_CLOSED: {
    status: 503,
    retryable: false,
    doc: "A Kafka client was used after close(), or closed while work waited on it; expected during shutdown, a bug otherwise.",
  },
  MESH_REGISTRY_UNAVAILABLE: {
    status: 503,
    retryable: true,
    doc: "The schema registry is unreachable; check the registry URL.",
  },
  MESH_NOT_READY: {
    status: 503,
    retryable: true,
    doc: "A dependency of this process is unreachable; /readyz names it. Check that dependency.",
  },
  MESH_UNAVAILABLE: {
    status: 503,
    retryable: true,
    doc: "A member of a view's materializer group did not answer; the details name the view and partitions. Retry, or check that member.",
  },
  MESH_CONNECTOR_OUTDATED: {
    status: 409,
    retryable: false,
    doc: "A view split across materializer processes needs per-partition counts in transaction markers; upgrade the source's connector (or run the view unsplit).",
  },
  MESH_MARKER_UNDECODABLE: {
    status: 500,
    retryable: false,
    doc: "A view stopped at a transaction marker it cannot decode (transactions after it could not be released whole); restore the marker's schema in the registry and restart, or recreate the view (docs/views.md, Parked records).",
  },
  MESH_PROTOCOL_NEWER: {
    status: 409,
    retryable: false,
    doc: "A record was written with a newer CDC protocol version (protocol/version.ts) than this process reads; upgrade this process (materializer, API) to the release of the connector that wrote it.",
  },
  MESH_SECRET_KEY: {
    status: 500,
    retryable: false,
    doc: "The key that encrypts source credentials in the catalog is missing, malformed or not the one they were written with; set MESH_SECRET_KEY (base64, 32 bytes) or restore the key file (docs/api.md, Credentials at rest).",
  },
  MESH_INTERNAL: {
    status: 500,
    retryable: true,
    doc: "An unexpected error; the log has details under the request id.",
  },
} satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof errorCatalogue;

export class MeshError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "MeshError";
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return errorCatalogue[this.code].status;
  }

  get retryable(): boolean {
    return errorCatalogue[this.code].retryable;
  }

  toJSON(): { code: ErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export function isMeshError(err: unknown): err is MeshError {
  return err instanceof MeshError;
}
