// Avro schemas and values of what every connector writes (docs/contracts.md "Topics and subjects"):
// the per-table Key and Envelope, the transaction markers and the heartbeat. Pure: a connector maps its
// catalogue to `ColumnSpec`s and its decoded rows to plain objects; this module never touches a socket.
import type avro from "avsc";

/** One source column as Avro sees it: `type` is the non-null Avro type (the Value field wraps it in a union). */
export interface ColumnSpec {
  /** The Avro field name (already sanitized, see `avroName`). */
  name: string;
  type: avro.Schema;
}

export interface TableShape {
  /** `<source>.<schema>.<table>`: the topic and the Avro namespace (sanitized per dotted part). */
  topic: string;
  columns: ColumnSpec[];
  /** Names (Avro field names) of the primary-key columns, in key order; empty for a keyless table. */
  key: string[];
}

export type Op = "r" | "c" | "u" | "d" | "t";
export type SnapshotFlag = "true" | "last" | "false" | "incremental";

export interface SourceBlock {
  version: string;
  connector: "postgresql" | "mysql";
  name: string;
  ts_ms: bigint;
  snapshot: SnapshotFlag;
  db: string;
  schema: string | null;
  table: string;
  txId: bigint | null;
  lsn: bigint | null;
  file: string | null;
  pos: bigint | null;
  gtid: string | null;
}

export interface TransactionBlock {
  id: string;
  total_order: bigint;
  data_collection_order: bigint;
}

export interface Envelope {
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  op: Op;
  ts_ms: bigint;
  source: SourceBlock;
  transaction: TransactionBlock | null;
}

export const CONNECTOR_VERSION = "0.1.0";

/** Avro names allow `[A-Za-z_][A-Za-z0-9_]*`; every other character becomes `_` (and a leading digit gets `_`). */
export function avroName(text: string): string {
  const name = text.replace(/[^A-Za-z0-9_]/g, "_");
  return /^[0-9]/.test(name) || name === "" ? `_${name}` : name;
}

export function avroNamespace(topic: string): string {
  return topic
    .split(".")
    .map((part) => avroName(part))
    .join(".");
}

export function tableTopic(source: string, schema: string, table: string): string {
  return `${source}.${schema}.${table}`;
}

const nullable = (type: avro.Schema): avro.Schema => ["null", type] as avro.Schema;

/** The `Key` record: primary-key columns, non-null, in key order. Null for a keyless table. */
export function keySchema(shape: TableShape): avro.Schema | null {
  if (shape.key.length === 0) return null;
  const byName = new Map(shape.columns.map((c) => [c.name, c]));
  return {
    type: "record",
    name: "Key",
    namespace: avroNamespace(shape.topic),
    fields: shape.key.map((k) => {
      const col = byName.get(k);
      if (!col) throw new TypeError(`key column ${k} is not a column of ${shape.topic}`);
      return { name: k, type: col.type };
    }),
  };
}

export function sourceSchema(): avro.Schema {
  const str = "string";
  const optStr = ["null", "string"];
  const optLong = ["null", "long"];
  return {
    type: "record",
    name: "Source",
    fields: [
      { name: "version", type: str },
      { name: "connector", type: str },
      { name: "name", type: str },
      { name: "ts_ms", type: "long" },
      { name: "snapshot", type: str },
      { name: "db", type: str },
      { name: "schema", type: optStr, default: null },
      { name: "table", type: str },
      { name: "txId", type: optLong, default: null },
      { name: "lsn", type: optLong, default: null },
      { name: "file", type: optStr, default: null },
      { name: "pos", type: optLong, default: null },
      { name: "gtid", type: optStr, default: null },
    ],
  };
}

/** The `Envelope` value schema; every `Value` field is nullable with default null (contracts.md). */
export function envelopeSchema(shape: TableShape): avro.Schema {
  return {
    type: "record",
    name: "Envelope",
    namespace: avroNamespace(shape.topic),
    fields: [
      {
        name: "before",
        type: [
          "null",
          {
            type: "record",
            name: "Value",
            fields: shape.columns.map((c) => ({ name: c.name, type: nullable(c.type), default: null })),
          },
        ],
        default: null,
      },
      { name: "after", type: ["null", "Value"], default: null },
      { name: "op", type: "string" },
      { name: "ts_ms", type: "long" },
      { name: "source", type: sourceSchema() },
      {
        name: "transaction",
        type: [
          "null",
          {
            type: "record",
            name: "Transaction",
            fields: [
              { name: "id", type: "string" },
              { name: "total_order", type: "long" },
              { name: "data_collection_order", type: "long" },
            ],
          },
        ],
        default: null,
      },
    ],
  };
}

export function transactionKeySchema(source: string): avro.Schema {
  return {
    type: "record",
    name: "TransactionKey",
    namespace: avroNamespace(source),
    fields: [{ name: "id", type: "string" }],
  };
}

export function transactionMarkerSchema(source: string): avro.Schema {
  return {
    type: "record",
    name: "TransactionMarker",
    namespace: avroNamespace(source),
    fields: [
      { name: "status", type: "string" },
      { name: "id", type: "string" },
      { name: "event_count", type: ["null", "long"], default: null },
      {
        name: "data_collections",
        type: [
          "null",
          {
            type: "array",
            items: {
              type: "record",
              name: "DataCollection",
              fields: [
                { name: "data_collection", type: "string" },
                { name: "event_count", type: "long" },
                // Per partition of the topic (a materializer that reads only some partitions needs them);
                // optional so the schema stays BACKWARD compatible with markers written before it.
                {
                  name: "partitions",
                  type: [
                    "null",
                    {
                      type: "array",
                      items: {
                        type: "record",
                        name: "PartitionCount",
                        fields: [
                          { name: "partition", type: "int" },
                          { name: "event_count", type: "long" },
                        ],
                      },
                    },
                  ],
                  default: null,
                },
              ],
            },
          },
        ],
        default: null,
      },
      { name: "ts_ms", type: "long" },
    ],
  };
}

export interface DataCollectionCount {
  data_collection: string;
  event_count: bigint;
  /** Events per partition of the topic (a truncate counts once on every partition); null from old writers. */
  partitions: { partition: number; event_count: bigint }[] | null;
}

export interface TransactionMarker {
  status: "BEGIN" | "END";
  id: string;
  event_count: bigint | null;
  data_collections: DataCollectionCount[] | null;
  ts_ms: bigint;
}

export function heartbeatKeySchema(source: string): avro.Schema {
  return {
    type: "record",
    name: "HeartbeatKey",
    namespace: avroNamespace(source),
    fields: [{ name: "source", type: "string" }],
  };
}

export function heartbeatValueSchema(source: string): avro.Schema {
  return {
    type: "record",
    name: "Heartbeat",
    namespace: avroNamespace(source),
    fields: [
      { name: "ts_ms", type: "long" },
      { name: "lsn", type: ["null", "long"], default: null },
    ],
  };
}

/** The key object of a row (primary-key columns), or null for a keyless table. */
export function rowKey(shape: TableShape, row: Record<string, unknown>): Record<string, unknown> | null {
  if (shape.key.length === 0) return null;
  const key: Record<string, unknown> = {};
  for (const k of shape.key) key[k] = row[k];
  return key;
}

/**
 * Counts the events of one source transaction: the `transaction` block of each event and the END marker's
 * per-table counts (topic name → count), in the order the tables were first touched.
 */
export class TransactionCounter {
  readonly id: string;
  private total = 0n;
  private readonly perTopic = new Map<string, bigint>();

  constructor(id: string) {
    this.id = id;
  }

  next(topic: string): TransactionBlock {
    this.total += 1n;
    const n = (this.perTopic.get(topic) ?? 0n) + 1n;
    this.perTopic.set(topic, n);
    return { id: this.id, total_order: this.total, data_collection_order: n };
  }

  get eventCount(): bigint {
    return this.total;
  }

  marker(status: "BEGIN" | "END", tsMs: bigint): TransactionMarker {
    if (status === "BEGIN")
      return { status, id: this.id, event_count: null, data_collections: null, ts_ms: tsMs };
    return {
      status,
      id: this.id,
      event_count: this.total,
      // Per-partition counts are filled in by the EventWriter, which chooses each event's partition.
      data_collections: [...this.perTopic].map(([data_collection, event_count]) => ({
        data_collection,
        event_count,
        partitions: null,
      })),
      ts_ms: tsMs,
    };
  }
}
