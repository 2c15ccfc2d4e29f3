// The SQL types of view expressions: how an Avro column type reads as one, how two types meet (CASE,
// COALESCE, comparisons, arithmetic: Postgres' resolution for the types served), the Avro type a computed
// column is declared with, and the SQL name GET /v1/views/{name} shows. Pure.
import type { KeyKind } from "../keys/encoding.ts";
import { kindOf, type AvroSchemaJson } from "./catalog.ts";

/**
 * int: 32-bit (JS number) · long: 64-bit (bigint) · decimal: exact text · double: float/double (JS number)
 * · string · boolean · bytes (Buffer) · other: dates, times, timestamps, uuid, json, enums (compared and
 * passed through, never computed with) · unknown: a quoted literal not yet given a type · null: NULL.
 */
export type T =
  "int" | "long" | "decimal" | "double" | "string" | "boolean" | "bytes" | "other" | "unknown" | "null";

export interface SqlType {
  t: T;
  /** The non-null Avro type when it says more than `t` (a decimal's precision and scale, other types). */
  avro?: AvroSchemaJson;
}

export const NUMERIC: readonly T[] = ["int", "long", "decimal", "double"];
export const isNumeric = (t: T): boolean => NUMERIC.includes(t);

export const VARIABLE_DECIMAL = { type: "string", logicalType: "variable-decimal" } as AvroSchemaJson;

function nonNull(type: AvroSchemaJson): AvroSchemaJson {
  if (!Array.isArray(type)) return type;
  const branches = type.filter((t) => t !== "null") as AvroSchemaJson[];
  return branches.length === 1 && branches[0] !== undefined ? branches[0] : type;
}

/** The SQL type of a column of Avro type `avro`. */
export function typeOfAvro(avro: AvroSchemaJson): SqlType {
  const a = nonNull(avro);
  if (typeof a === "string") {
    if (a === "int") return { t: "int" };
    if (a === "long") return { t: "long" };
    if (a === "float" || a === "double") return { t: "double" };
    if (a === "string") return { t: "string" };
    if (a === "boolean") return { t: "boolean" };
    if (a === "bytes") return { t: "bytes" };
    return { t: "other", avro: a };
  }
  if (Array.isArray(a)) return { t: "other", avro: a };
  const logical = a.logicalType;
  if (logical === "decimal") return { t: "decimal", avro: a };
  if (logical === "variable-decimal") return { t: "decimal" };
  if (logical === undefined && typeof a.type === "string" && !["record", "enum", "fixed"].includes(a.type))
    return typeOfAvro(a.type);
  return { t: "other", avro: a };
}

/** The Avro type a view column of this SQL type is declared with (nullable: any expression may be NULL). */
export function avroOfType(st: SqlType): AvroSchemaJson {
  const inner = ((): AvroSchemaJson => {
    if (st.avro !== undefined) return st.avro;
    switch (st.t) {
      case "decimal":
        return VARIABLE_DECIMAL;
      case "unknown":
      case "null":
        return "string";
      case "other":
        return "string";
      default:
        return st.t;
    }
  })();
  return ["null", inner] as AvroSchemaJson;
}

/** How values of the type compare and encode as key parts (keys/encoding.ts). */
export function kindOfType(st: SqlType): KeyKind {
  if (st.t === "null") return "any";
  if (st.t === "unknown") return "string";
  return kindOf(avroOfType(st));
}

const RANK: Partial<Record<T, number>> = { int: 0, long: 1, decimal: 2, double: 3 };

/**
 * The type two values meet in (CASE and COALESCE results, both sides of a comparison, IN lists), or null
 * when they cannot: numbers widen (int < bigint < numeric < double), a quoted literal takes the other
 * side's type, NULL takes anything, everything else must be the same type.
 */
export function commonType(a: SqlType, b: SqlType): SqlType | null {
  if (a.t === "null") return b;
  if (b.t === "null") return a;
  if (a.t === "unknown") return b.t === "unknown" ? { t: "string" } : b;
  if (b.t === "unknown") return a;
  const ra = RANK[a.t];
  const rb = RANK[b.t];
  if (ra !== undefined && rb !== undefined) {
    if (ra !== rb) return ra > rb ? { t: a.t } : { t: b.t };
    // Same kind: a decimal keeps its declared precision and scale only when both sides have the same.
    return JSON.stringify(a.avro) === JSON.stringify(b.avro) ? a : { t: a.t };
  }
  if (a.t !== b.t) return null;
  if (a.t === "other" && JSON.stringify(a.avro) !== JSON.stringify(b.avro)) return null;
  return a;
}

/** The result type of `a op b` for + - * / % (null: not a numeric pair Postgres computes). */
export function arithmeticType(op: string, a: SqlType, b: SqlType): SqlType | null {
  const at = a.t === "unknown" || a.t === "null" ? b.t : a.t;
  const bt = b.t === "unknown" || b.t === "null" ? a.t : b.t;
  if (!isNumeric(at) || !isNumeric(bt)) return null;
  const common = commonType({ t: at }, { t: bt });
  if (!common) return null;
  if (op === "%" && common.t === "double") return null;
  return { t: common.t };
}

/** The name Postgres gives a type, as GET /v1/views/{name} shows each column's (docs/views.md). */
export function sqlTypeName(avro: AvroSchemaJson): string {
  const a = nonNull(avro);
  if (typeof a === "string") {
    const names: Record<string, string> = {
      int: "integer",
      long: "bigint",
      float: "real",
      double: "double precision",
      string: "text",
      boolean: "boolean",
      bytes: "bytea",
    };
    return names[a] ?? a;
  }
  if (Array.isArray(a)) return "union";
  const logical = a.logicalType;
  if (logical === "decimal") return `numeric(${Number(a.precision)},${Number(a.scale ?? 0)})`;
  const names: Record<string, string> = {
    "variable-decimal": "numeric",
    date: "date",
    "time-micros": "time",
    "time-millis": "time",
    "timestamp-micros": "timestamptz",
    "timestamp-millis": "timestamptz",
    "local-timestamp-micros": "timestamp",
    "local-timestamp-millis": "timestamp",
    uuid: "uuid",
    json: "json",
  };
  if (typeof logical === "string") return names[logical] ?? logical;
  if (a.type === "enum") return "enum";
  if (a.type === "fixed") return "bytea";
  if (typeof a.type === "string") return sqlTypeName(a.type);
  return "record";
}
