// One version of a captured table's schema as the MySQL backend holds it: the information_schema columns,
// the runtime's `SourceTable` (topic, Avro columns, key), and the conversion of decoded rows (binlog rows
// keyed by column name, snapshot rows by position) into Avro-form rows keyed by field name. Also what the
// binlog decoder needs about the columns, and the check that a binlog TABLE_MAP event was written under
// this version (the binlog carries column types, not names, unless binlog_row_metadata=FULL). Pure.
import { avroName, type ColumnSpec } from "../../protocol/envelope.ts";
import { tableTopic } from "../../protocol/topics.ts";
import type { Row, SourceTable } from "../core/backend.ts";
import { columnType, type MysqlColumn, type MysqlColumnType } from "./mysql-types.ts";

/** What @vlasky/zongji reads about a column (the shape of its information_schema query). */
export interface DecoderColumnSchema {
  COLUMN_NAME: string;
  COLLATION_NAME: string | null;
  CHARACTER_SET_NAME: string | null;
  COLUMN_COMMENT: string;
  COLUMN_TYPE: string;
}

export interface TableVersion {
  table: SourceTable;
  columns: readonly MysqlColumn[];
  /** Avro field names by position. */
  fields: readonly string[];
  types: readonly MysqlColumnType[];
  /** Positions of the primary-key columns, in key order (empty: keyless). */
  keyIndexes: readonly number[];
  decoderColumns: readonly DecoderColumnSchema[];
}

export function tableVersion(
  source: string,
  db: string,
  table: string,
  columns: readonly MysqlColumn[],
  primaryKey: readonly string[],
): TableVersion {
  const fields = columns.map((c) => avroName(c.name));
  const types = columns.map(columnType);
  const keyIndexes = primaryKey.map((k) => columns.findIndex((c) => c.name === k));
  // A key column missing from the columns (an older version of the table, see `prefixVersion`): keyless.
  const keyed = keyIndexes.every((i) => i >= 0) ? keyIndexes : [];
  const specs: ColumnSpec[] = fields.map((name, i) => ({ name, type: (types[i] as MysqlColumnType).avro }));
  return {
    table: {
      schema: db,
      table,
      qualified: `${db}.${table}`,
      shape: {
        topic: tableTopic(source, db, table),
        columns: specs,
        key: keyed.map((i) => fields[i] as string),
      },
    },
    columns,
    fields,
    types,
    keyIndexes: keyed,
    decoderColumns: columns.map((c) => ({
      COLUMN_NAME: c.name,
      COLLATION_NAME: c.collation,
      CHARACTER_SET_NAME: c.charset,
      COLUMN_COMMENT: c.comment,
      COLUMN_TYPE: c.columnType,
    })),
  };
}

/** The table as it was before columns were added at its end: its first `n` columns. */
export function prefixVersion(source: string, v: TableVersion, n: number): TableVersion {
  const keyNames = v.keyIndexes.map((i) => (v.columns[i] as MysqlColumn).name);
  return tableVersion(source, v.table.schema, v.table.table, v.columns.slice(0, n), keyNames);
}

/** Same Avro shape (two versions with equal fingerprints need no new schema). */
export function sameShape(a: TableVersion, b: TableVersion): boolean {
  return JSON.stringify(a.table.shape) === JSON.stringify(b.table.shape);
}

/** A binlog row (decoded by column name) → an Avro-form row. */
export function convertRow(v: TableVersion, raw: Record<string, unknown>): Row {
  const row: Row = {};
  const { columns, fields, types } = v;
  for (let i = 0; i < fields.length; i++) {
    const value = raw[(columns[i] as MysqlColumn).name];
    const t = types[i] as MysqlColumnType;
    row[fields[i] as string] = value === null ? null : value === undefined ? t.missing : t.convert(value);
  }
  return row;
}

/** A snapshot row (values by column position) → an Avro-form row. */
export function convertValues(v: TableVersion, values: readonly unknown[]): Row {
  const row: Row = {};
  const { fields, types } = v;
  for (let i = 0; i < fields.length; i++) {
    const value = values[i];
    const t = types[i] as MysqlColumnType;
    row[fields[i] as string] = value === null ? null : value === undefined ? t.missing : t.convert(value);
  }
  return row;
}

// ---- re-snapshot cursors: the key values of a row as text, and back to query parameters ----

/** The key of a raw snapshot row (values by position) as cursor text (binary columns as hex). */
export function keyCursor(v: TableVersion, values: readonly unknown[]): (string | null)[] {
  return v.keyIndexes.map((i) => {
    const value = values[i];
    if (value === null || value === undefined) return null;
    if (Buffer.isBuffer(value)) return value.toString("hex");
    if (typeof value === "string") return value;
    if (typeof value === "number" || typeof value === "bigint") return value.toString();
    return JSON.stringify(value);
  });
}

/** Cursor text back to the parameters of a keyset query. */
export function cursorParams(v: TableVersion, cursor: readonly (string | null)[]): unknown[] {
  return v.keyIndexes.map((col, j) => {
    const text = cursor[j] ?? null;
    if (text === null) return null;
    return (v.types[col] as MysqlColumnType).binary ? Buffer.from(text, "hex") : text;
  });
}

// ---- binlog TABLE_MAP column types (MySQL's enum_field_types) ----

const T = {
  DECIMAL: 0,
  TINY: 1,
  SHORT: 2,
  LONG: 3,
  FLOAT: 4,
  DOUBLE: 5,
  TIMESTAMP: 7,
  LONGLONG: 8,
  INT24: 9,
  DATE: 10,
  TIME: 11,
  DATETIME: 12,
  YEAR: 13,
  NEWDATE: 14,
  VARCHAR: 15,
  BIT: 16,
  TIMESTAMP2: 17,
  DATETIME2: 18,
  TIME2: 19,
  BLOB_COMPRESSED: 140,
  VARCHAR_COMPRESSED: 141,
  JSON: 245,
  NEWDECIMAL: 246,
  ENUM: 247,
  SET: 248,
  BLOB: 252,
  VAR_STRING: 253,
  STRING: 254,
  GEOMETRY: 255,
} as const;

const STRINGY = [T.VARCHAR, T.VAR_STRING, T.STRING, T.VARCHAR_COMPRESSED];
const BLOBBY = [T.BLOB, T.BLOB_COMPRESSED, 249, 250, 251];

/** The TABLE_MAP type codes a column of this DATA_TYPE is written with (null: any). */
export function binlogTypeCodes(dataType: string): readonly number[] | null {
  switch (dataType) {
    case "tinyint":
      return [T.TINY];
    case "smallint":
      return [T.SHORT];
    case "mediumint":
      return [T.INT24];
    case "int":
    case "integer":
      return [T.LONG];
    case "bigint":
      return [T.LONGLONG];
    case "float":
      return [T.FLOAT];
    case "double":
    case "real":
      return [T.DOUBLE];
    case "decimal":
    case "numeric":
      return [T.NEWDECIMAL, T.DECIMAL];
    case "date":
      return [T.DATE, T.NEWDATE];
    case "datetime":
      return [T.DATETIME, T.DATETIME2];
    case "timestamp":
      return [T.TIMESTAMP, T.TIMESTAMP2];
    case "time":
      return [T.TIME, T.TIME2];
    case "year":
      return [T.YEAR];
    case "bit":
      return [T.BIT];
    case "char":
    case "binary":
    case "varchar":
    case "varbinary":
      return STRINGY;
    case "enum":
      return [T.ENUM, T.STRING];
    case "set":
      return [T.SET, T.STRING];
    case "json":
      // MySQL's binary JSON; MariaDB's JSON is LONGTEXT.
      return [T.JSON, ...BLOBBY];
    case "tinytext":
    case "text":
    case "mediumtext":
    case "longtext":
    case "tinyblob":
    case "blob":
    case "mediumblob":
    case "longblob":
      return BLOBBY;
    case "geometry":
    case "point":
    case "linestring":
    case "polygon":
    case "multipoint":
    case "multilinestring":
    case "multipolygon":
    case "geometrycollection":
      return [T.GEOMETRY];
    default:
      return null;
  }
}

/** Whether the first `types.length` columns of `v` could have been written as these binlog types. */
export function typesMatch(v: TableVersion, types: readonly number[]): boolean {
  if (types.length > v.columns.length) return false;
  return types.every((code, i) => {
    const allowed = binlogTypeCodes((v.columns[i] as MysqlColumn).dataType);
    return allowed === null || allowed.includes(code);
  });
}

/**
 * The version a TABLE_MAP event with these column types (and, with binlog_row_metadata=FULL, names) was
 * written under, given the version the connector knows: itself when they agree, its first columns when the
 * event is from before columns were added at the end (ALTER TABLE ... ADD COLUMN, the common DDL), null
 * when the binlog cannot be decoded against what the connector knows.
 */
export function versionForTableMap(
  source: string,
  known: TableVersion,
  types: readonly number[],
  names: readonly string[] | null,
): TableVersion | null {
  const namesAgree = (v: TableVersion): boolean =>
    names === null || names.every((n, i) => v.columns[i]?.name === n);
  if (types.length === known.columns.length)
    return typesMatch(known, types) && namesAgree(known) ? known : null;
  if (types.length < known.columns.length && typesMatch(known, types) && namesAgree(known)) {
    const older = prefixVersion(source, known, types.length);
    // A key column among the missing ones would make the older rows keyless: not the same table.
    return older.keyIndexes.length === known.keyIndexes.length ? older : null;
  }
  return null;
}
