// Table versions from the binlog itself: with binlog_row_metadata=FULL (MariaDB 10.5+, MySQL 8.0+) every
// TABLE_MAP event carries its columns' names, signedness, charsets, ENUM/SET values and primary key, so
// the version a row was written under is known exactly, however far behind the connector reads (several
// ALTERs in a row included). The decoder turns that metadata into information_schema-shaped columns
// (`buildColumnSchemas`); this module makes them `MysqlColumn`s and keeps the catalogue's own column where
// it agrees (MariaDB's JSON is LONGTEXT in the binlog: only information_schema knows it is JSON). Pure.
import type { MysqlColumn } from "./mysql-types.ts";
import { columnType } from "./mysql-types.ts";
import { binlogTypeCodes, sameShape, tableVersion, type TableVersion } from "./table-version.ts";

/** What the decoder derives from FULL metadata for one column. */
export interface BinlogColumnSchema {
  COLUMN_NAME: string;
  COLUMN_TYPE: string;
  CHARACTER_SET_NAME: string | null;
}

/** A decoder-derived column → a MysqlColumn (DATA_TYPE is COLUMN_TYPE's first word). */
export function columnFromBinlog(s: BinlogColumnSchema): MysqlColumn {
  const columnType = s.COLUMN_TYPE.toLowerCase()
    .replace(/\s*\/\*.*?\*\/\s*/g, "")
    .trim();
  const dataType = /^[a-z0-9_]+/.exec(columnType)?.[0] ?? columnType;
  const decimal = /^decimal\((\d+),(\d+)\)/.exec(columnType);
  return {
    name: s.COLUMN_NAME,
    dataType,
    columnType,
    numericPrecision: decimal ? Number(decimal[1]) : null,
    numericScale: decimal ? Number(decimal[2]) : null,
    charset: s.CHARACTER_SET_NAME,
    collation: null,
    comment: "",
    generated: false,
  };
}

const avroOf = (c: MysqlColumn): string => JSON.stringify(columnType(c).avro);

/**
 * The version a TABLE_MAP with FULL metadata describes. `known` is the catalogue's version (as of the last
 * DDL the connector read); its columns are kept where name and Avro type agree with the binlog (or it is a
 * JSON column the binlog shows as text), and `known` itself is returned when the shapes are the same, so
 * an unchanged table is never announced again. `seen` caches earlier historical versions of the table.
 */
export function versionFromFullMetadata(
  source: string,
  db: string,
  table: string,
  binlog: readonly BinlogColumnSchema[],
  types: readonly number[],
  primaryKey: readonly number[] | null,
  known: TableVersion | undefined,
  seen: TableVersion[],
): TableVersion {
  const columns = binlog.map((b, i) => {
    const derived = columnFromBinlog(b);
    const k = known?.columns.find((c) => c.name === derived.name);
    if (!k) return derived;
    const code = types[i] ?? -1;
    if (avroOf(k) === avroOf(derived)) return k;
    if (k.dataType === "json" && (binlogTypeCodes("json") ?? []).includes(code)) return k;
    return derived;
  });
  const keyNames = primaryKey
    ? primaryKey.map((i) => binlog[i]?.COLUMN_NAME ?? "")
    : (known?.keyIndexes.map((i) => (known.columns[i] as MysqlColumn).name) ?? []).filter((n) =>
        columns.some((c) => c.name === n),
      );
  const version = tableVersion(source, db, table, columns, keyNames);
  if (known && sameShape(known, version)) return known;
  const earlier = seen.find((v) => sameShape(v, version));
  if (earlier) return earlier;
  seen.push(version);
  return version;
}
