// Owns the per-table messages every connector writes (docs/contracts.md "Topics and subjects"): the Avro
// `Key` and `Envelope` schemas derived from a table's columns, and their TypeScript types. Pure: a
// connector maps its catalogue to `ColumnSpec`s and its decoded rows to plain objects.
//
//   key    Key      {<primary-key columns, non-null, in key order>}      (none for a keyless table)
//   value  Envelope {before: Value|null, after: Value|null, op: "r"|"c"|"u"|"d"|"t", ts_ms: long,
//                    source: Source, transaction: Transaction|null}
//   Value: every column nullable with default null (ADD/DROP COLUMN stay BACKWARD compatible)
//   Avro names: namespace = the topic with each dotted part sanitized (`avroName`)
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

/** The key object of a row (primary-key columns), or null for a keyless table. */
export function rowKey(shape: TableShape, row: Record<string, unknown>): Record<string, unknown> | null {
  if (shape.key.length === 0) return null;
  const key: Record<string, unknown> = {};
  for (const k of shape.key) key[k] = row[k];
  return key;
}

/**
 * An envelope as a reader decodes it with its writer schema: `op` may be a letter this reader does not know
 * (readers park such records instead of guessing).
 */
export type DecodedEnvelope = Omit<Envelope, "op"> & { op: string };

// ---- reading schemas back (what a reader learns of a table from its registered subjects) ----

/** An Avro schema as JSON (what the registry stores). */
export type AvroSchemaJson = string | Record<string, unknown> | unknown[];

function nonNull(type: AvroSchemaJson): AvroSchemaJson {
  if (Array.isArray(type)) {
    const branches = type.filter((t) => t !== "null") as AvroSchemaJson[];
    return branches.length === 1 && branches[0] !== undefined ? branches[0] : type;
  }
  return type;
}

/** The primary-key column names of a `Key` schema, in key order. */
export function keyColumns(keySchema: AvroSchemaJson): string[] {
  return ((keySchema as { fields?: { name: string }[] }).fields ?? []).map((f) => f.name);
}

/** The row columns of an `Envelope` schema, each with its (nullable) type as the `Value` record declares it. */
export function envelopeColumns(valueSchema: AvroSchemaJson): { name: string; type: AvroSchemaJson }[] {
  const fields = (valueSchema as { fields?: { name: string; type: AvroSchemaJson }[] }).fields ?? [];
  // `before` defines the Value record and `after` refers to it by name (or the other way round).
  const images = fields.filter((f) => f.name === "before" || f.name === "after").map((f) => nonNull(f.type));
  const defined = images.find((t) => typeof t === "object" && !Array.isArray(t));
  const valueRecord = (defined ?? { fields: [] }) as { fields?: { name: string; type: AvroSchemaJson }[] };
  return (valueRecord.fields ?? []).map((f) => ({ name: f.name, type: f.type }));
}
