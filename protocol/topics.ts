// Owns the names of what travels on Kafka (docs/contracts.md "Topics and subjects", "Internal topics"):
// building and parsing topic and subject names, and the one rule for source names.
//
//   <source>.<schema>.<table>   table changes (MySQL: <source>.<db>.<table>); the table part may hold dots
//   <source>.transactions       BEGIN/END markers, 1 partition
//   <source>.heartbeat          heartbeats, 1 partition, compacted
//   <owner>.<aggregatetype>     outbox events (built, never parsed: they look like any foreign topic)
//   _<name>                     internal topics (registry, catalog, offsets, health)
//   <topic>-key, <topic>-value  registry subjects (Confluent's TopicNameStrategy)
//
// Parsing takes the first dotted part as the source, which is sound only because no source name holds a
// dot: every entry point that accepts a source name (HTTP route, `mesh connect` config, CLI) checks it with
// `checkSourceName`. Pure.
import { MeshError } from "../lib/errors.ts";

/**
 * Source and owner names: the first dotted part of every topic name they prefix. The HTTP API's JSON
 * schema uses this pattern; everything else calls `checkSourceName`.
 */
export const SOURCE_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$";
const sourceName = new RegExp(SOURCE_NAME_PATTERN);

export function isSourceName(name: string): boolean {
  return sourceName.test(name);
}

/** Throws MESH_BAD_REQUEST unless `name` may prefix topic names (`field` names it in the message). */
export function checkSourceName(name: unknown, field = "name"): string {
  if (typeof name === "string" && sourceName.test(name)) return name;
  throw new MeshError(
    "MESH_BAD_REQUEST",
    `${field} ${JSON.stringify(name)} is not a valid name: use 1 to 100 letters, digits, "_" or "-", ` +
      `starting with a letter or digit (no dots: it is the first part of topic names like <name>.<schema>.<table>)`,
    { field, value: name },
  );
}

// ---- CDC topics ----

export const TRANSACTIONS_SUFFIX = ".transactions";
export const HEARTBEAT_SUFFIX = ".heartbeat";

export function tableTopic(source: string, schema: string, table: string): string {
  return `${source}.${schema}.${table}`;
}

/** The topic of a qualified table name as sources list them (`schema.table` / `db.table`). */
export function qualifiedTableTopic(source: string, qualified: string): string {
  return `${source}.${qualified}`;
}

export interface TableTopic {
  source: string;
  schema: string;
  /** Everything after the schema: a table name may hold dots. */
  table: string;
}

/** `<source>.<schema>.<table>` split into its parts; null when the name has fewer than three parts. */
export function parseTableTopic(topic: string): TableTopic | null {
  const [source, schema, ...rest] = topic.split(".");
  if (!source || schema === undefined || rest.length === 0) return null;
  return { source, schema, table: rest.join(".") };
}

export function transactionsTopic(source: string): string {
  return `${source}${TRANSACTIONS_SUFFIX}`;
}

export function heartbeatTopic(source: string): string {
  return `${source}${HEARTBEAT_SUFFIX}`;
}

export function isTransactionsTopic(topic: string): boolean {
  return (
    topic.endsWith(TRANSACTIONS_SUFFIX) && topic.indexOf(".") === topic.length - TRANSACTIONS_SUFFIX.length
  );
}

export function isHeartbeatTopic(topic: string): boolean {
  return topic.endsWith(HEARTBEAT_SUFFIX) && topic.indexOf(".") === topic.length - HEARTBEAT_SUFFIX.length;
}

/** The source a CDC topic (table, transactions or heartbeat) belongs to: its first dotted part. */
export function sourceOfTopic(topic: string): string {
  return topic.split(".")[0] ?? topic;
}

/** Outbox events of `owner`: characters Kafka refuses in topic names become `_`. */
export function outboxTopic(owner: string, aggregateType: string): string {
  return `${owner}.${aggregateType.replace(/[^A-Za-z0-9._-]/g, "_")}`;
}

export type ParsedTopic =
  | ({ kind: "table" } & TableTopic)
  | { kind: "transactions"; source: string }
  | { kind: "heartbeat"; source: string }
  | { kind: "internal"; name: string }
  /** Anything else: outbox topics and topics nobody here wrote. */
  | { kind: "other"; name: string };

export function parseTopic(topic: string): ParsedTopic {
  if (topic.startsWith("_")) return { kind: "internal", name: topic };
  if (isTransactionsTopic(topic)) return { kind: "transactions", source: sourceOfTopic(topic) };
  if (isHeartbeatTopic(topic)) return { kind: "heartbeat", source: sourceOfTopic(topic) };
  const table = parseTableTopic(topic);
  return table ? { kind: "table", ...table } : { kind: "other", name: topic };
}

// ---- registry subjects ----

export function keySubject(topic: string): string {
  return `${topic}-key`;
}

export function valueSubject(topic: string): string {
  return `${topic}-value`;
}

/** `<topic>-key` / `<topic>-value` → topic and part; null for other subjects. */
export function parseSubject(subject: string): { topic: string; part: "key" | "value" } | null {
  if (subject.endsWith("-key")) return { topic: subject.slice(0, -"-key".length), part: "key" };
  if (subject.endsWith("-value")) return { topic: subject.slice(0, -"-value".length), part: "value" };
  return null;
}

// ---- internal topics (docs/contracts.md "Internal topics") ----

/** The schema registry's log (Confluent's record shapes), compacted, 1 partition. */
export const SCHEMAS_TOPIC = "_schemas";
/** The registry's leader election group topic (nothing is written to it). */
export function schemasLeaderTopic(schemasTopic: string): string {
  return `${schemasTopic}_leader`;
}
/** The control-plane catalog (protocol/catalog.ts records), compacted, 1 partition. */
export const CATALOG_TOPIC = "_mesh_catalog";
/** Per-source connector leases through consumer groups (nothing is written to it). */
export function catalogLeasesTopic(catalogTopic: string): string {
  return `${catalogTopic}_leases`;
}
/** Each source's connector status, published by its lease holder; compacted, key = source name. */
export function catalogStatusTopic(catalogTopic: string): string {
  return `${catalogTopic}_status`;
}
/** Connector state beside the source offset (protocol/offsets.ts keys), compacted, 1 partition. */
export const OFFSETS_TOPIC = "_mesh_offsets";
/**
 * Topic configs of compacted topics rewritten all the time (`_mesh_offsets` gets a record with every
 * exactly-once transaction, a heartbeat topic one per beat): the log cleaner only compacts closed segments,
 * and Kafka's defaults close one at 1 GiB or after 7 days, so until then every record stays and each
 * connector start replays them all (265k records, 3.7 s of CPU and 445 MB of RSS on a dev stack after a day
 * of benches). A segment closed every 10 minutes keeps a replay to the latest record per key plus 10 minutes.
 */
export const REWRITTEN_STATE_TOPIC_CONFIGS: Readonly<Record<string, string>> = {
  "segment.ms": String(10 * 60 * 1000),
  "min.cleanable.dirty.ratio": "0.1",
};
/**
 * Domain events a connector could not publish (no schema for their type, a payload that does not fit it), kept
 * until an operator retries or skips them (connectors/core/outbox-parked.ts); compacted, 1 partition.
 */
export const PARKED_EVENTS_TOPIC = "_mesh_parked_events";
/** The local stack's readiness probe. */
export const HEALTH_TOPIC = "_mesh_health";

export function isInternalTopic(topic: string): boolean {
  return topic.startsWith("_");
}
