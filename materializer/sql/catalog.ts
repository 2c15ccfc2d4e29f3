// The catalog the SQL compiler resolves table names against: every table topic with its key columns and
// its row columns' Avro types, as the registry holds them (subjects `<topic>-key` / `<topic>-value`).
// Pure types and helpers; materializer/kafka/registry-catalog.ts builds one from Kafka and the registry.
import { envelopeColumns, keyColumns, type AvroSchemaJson } from "../../protocol/envelope.ts";
import { parseTableTopic } from "../../protocol/topics.ts";
import type { KeyKind } from "../keys/encoding.ts";
import type { ViewPlan } from "./plan.ts";

export type { AvroSchemaJson };

export interface ColumnInfo {
  name: string;
  /** The column's Avro type as declared in the `Value` record (nullable union). */
  type: AvroSchemaJson;
}

export interface TableInfo {
  /** `<source>.<schema>.<table>` (the Kafka topic). */
  topic: string;
  source: string;
  schema: string;
  table: string;
  /** Primary-key column names, in key order (the `Key` record's fields). */
  key: string[];
  columns: ColumnInfo[];
  /** Columns `*` leaves out: a view's key parts it does not show (sources.ts viewTable). */
  hidden?: string[];
}

export interface Catalog {
  tables: readonly TableInfo[];
  /** Views a new view may read (FROM <view name>): the plans of the views that exist. */
  views?: readonly ViewPlan[];
}

function nonNull(type: AvroSchemaJson): AvroSchemaJson {
  if (Array.isArray(type)) {
    const branches = type.filter((t) => t !== "null") as AvroSchemaJson[];
    return branches.length === 1 && branches[0] !== undefined ? branches[0] : type;
  }
  return type;
}

/**
 * How values of an Avro type compare and join (docs/contracts.md's decoded representation): all numeric
 * kinds compare by value, decimals arrive as strings but are numbers, dates and timestamps are canonical
 * ISO strings that sort as text.
 */
export function kindOf(type: AvroSchemaJson): KeyKind {
  const t = nonNull(type);
  if (typeof t === "string") {
    if (t === "int" || t === "long" || t === "float" || t === "double") return "number";
    if (t === "string") return "string";
    if (t === "bytes") return "bytes";
    if (t === "boolean") return "boolean";
    return "any";
  }
  if (Array.isArray(t)) return "any";
  const logical = t.logicalType;
  if (logical === "decimal" || logical === "variable-decimal") return "decimal";
  if (typeof logical === "string") return "string";
  const base = t.type;
  if (base === "enum") return "string";
  if (base === "fixed") return "bytes";
  if (typeof base === "string" && base !== "record" && base !== "array" && base !== "map")
    return kindOf(base);
  return "any";
}

/** Builds a TableInfo from a topic name and its key and value (envelope) schemas. */
export function tableInfoFromSchemas(
  topic: string,
  keySchema: AvroSchemaJson,
  valueSchema: AvroSchemaJson,
): TableInfo {
  const { source, schema, table } = parseTableTopic(topic) ?? { source: topic, schema: "", table: "" };
  return { topic, source, schema, table, key: keyColumns(keySchema), columns: envelopeColumns(valueSchema) };
}
