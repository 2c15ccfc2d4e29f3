// Postgres column types → Avro types and text → value converters: every type in docs/connector-postgres.md
// kept exactly (numeric as decimal or variable-decimal strings, int8 as bigint, timestamps in micros, json
// as text). Pure: the catalogue facts about a type (`PgTypeInfo`) are looked up by catalog.ts.
import type avro from "avsc";
import { parseArrayLiteral, parseBytea, parseFloat8, parseTimestamp, parseTimestamptz } from "./pg-text.ts";

/** What pg_type says about one type (after following domains to their base type). */
export interface PgTypeInfo {
  oid: number;
  /** pg_type.typname, e.g. `int4`, `_int4` (an array), `mood` (an enum). */
  name: string;
  /** pg_type.typtype: b base, e enum, c composite, d domain, r range, m multirange, p pseudo. */
  kind: string;
  /** For arrays: the element type. */
  elem: PgTypeInfo | null;
}

export interface ColumnType {
  avro: avro.Schema;
  fromText: (text: string) => unknown;
}

const identity = (t: string): string => t;

/** numeric's typmod packs precision and scale: ((p << 16) | s) + 4; -1 means unconstrained. */
export function numericPrecisionScale(typmod: number): { precision: number; scale: number } | null {
  if (typmod < 4) return null;
  const v = typmod - 4;
  return { precision: (v >> 16) & 0xffff, scale: v & 0xffff };
}

export function columnType(info: PgTypeInfo, typmod: number): ColumnType {
  if (info.elem) {
    // Arrays: element typmod equals the column's (numeric(10,2)[] keeps its scale).
    const elem = columnType(info.elem, typmod);
    return {
      avro: { type: "array", items: ["null", elem.avro] } as avro.Schema,
      fromText: (text) => parseArrayLiteral(text).map((e) => (e === null ? null : elem.fromText(e))),
    };
  }
  if (info.kind === "e") return { avro: "string", fromText: identity };
  switch (info.name) {
    case "int2":
    case "int4":
      return { avro: "int", fromText: (t) => Number.parseInt(t, 10) };
    case "int8":
    case "oid":
    case "xid":
      return { avro: "long", fromText: (t) => BigInt(t) };
    case "numeric": {
      const ps = numericPrecisionScale(typmod);
      if (!ps) return { avro: { type: "string", logicalType: "variable-decimal" }, fromText: identity };
      return {
        avro: { type: "bytes", logicalType: "decimal", precision: ps.precision, scale: ps.scale },
        fromText: identity,
      };
    }
    case "float4":
      return { avro: "float", fromText: parseFloat8 };
    case "float8":
      return { avro: "double", fromText: parseFloat8 };
    case "bool":
      return { avro: "boolean", fromText: (t) => t === "t" };
    case "bytea":
      return { avro: "bytes", fromText: parseBytea };
    case "date":
      return { avro: { type: "int", logicalType: "date" }, fromText: identity };
    case "time":
      return { avro: { type: "long", logicalType: "time-micros" }, fromText: identity };
    case "timestamp":
      return { avro: { type: "long", logicalType: "local-timestamp-micros" }, fromText: parseTimestamp };
    case "timestamptz":
      return { avro: { type: "long", logicalType: "timestamp-micros" }, fromText: parseTimestamptz };
    case "uuid":
      return { avro: { type: "string", logicalType: "uuid" }, fromText: identity };
    case "json":
    case "jsonb":
      return { avro: { type: "string", logicalType: "json" }, fromText: identity };
    default:
      // text, varchar, bpchar, name, timetz, interval (ISO-8601 with IntervalStyle iso_8601), inet, money, …:
      // the server's text is the exact value.
      return { avro: "string", fromText: identity };
  }
}
