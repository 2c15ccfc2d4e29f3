// What the backend asks the server's catalogue: the server and its binlog settings, the captured tables
// (`db.table`, a bare `db` for all its tables, a bare `table` in the URL's database), their columns and
// primary keys from information_schema, row estimates, and the binary logs on the server.
import type mysql from "mysql2/promise";
import type { BinlogFile } from "./binlog-position.ts";
import type { MysqlColumn } from "./mysql-types.ts";

type Rows = mysql.RowDataPacket[];

export interface ServerInfo {
  version: string;
  flavor: "mariadb" | "mysql";
  serverId: number;
  logBin: boolean;
  binlogFormat: string;
  binlogRowImage: string;
  /** NO_LOG / MINIMAL / FULL (MariaDB ≥ 10.5, MySQL ≥ 8.0), null when the server has no such setting. */
  binlogRowMetadata: string | null;
  /** MySQL's gtid_mode (MariaDB: always "ON", its GTIDs cannot be switched off). */
  gtidMode: string;
  /** MySQL 8.0.20+: compressed transactions the decoder cannot read (null: no such setting). */
  binlogTransactionCompression: string | null;
  /** MySQL 8.0+: PARTIAL_JSON writes JSON diffs the decoder cannot read (null: no such setting). */
  binlogRowValueOptions: string | null;
}

async function variable(conn: mysql.Connection, name: string): Promise<string | null> {
  const [rows] = await conn.query<Rows>("SHOW GLOBAL VARIABLES LIKE ?", [name]);
  const v = rows[0]?.Value as string | number | null | undefined;
  return v === undefined || v === null ? null : `${v}`;
}

export async function serverInfo(conn: mysql.Connection): Promise<ServerInfo> {
  const [rows] = await conn.query<Rows>("SELECT VERSION() AS version, @@server_id AS serverId");
  const version = String(rows[0]?.version as string);
  const flavor = /mariadb/i.test(version) ? "mariadb" : "mysql";
  return {
    version,
    flavor,
    serverId: Number(rows[0]?.serverId as number),
    logBin: (await variable(conn, "log_bin"))?.toUpperCase() === "ON",
    binlogFormat: (await variable(conn, "binlog_format")) ?? "",
    binlogRowImage: (await variable(conn, "binlog_row_image")) ?? "",
    binlogRowMetadata: await variable(conn, "binlog_row_metadata"),
    gtidMode: flavor === "mariadb" ? "ON" : ((await variable(conn, "gtid_mode")) ?? "OFF"),
    binlogTransactionCompression: await variable(conn, "binlog_transaction_compression"),
    binlogRowValueOptions: await variable(conn, "binlog_row_value_options"),
  };
}

export interface QualifiedTable {
  db: string;
  table: string;
}

export const qualified = (t: QualifiedTable): string => `${t.db}.${t.table}`;

/** Splits an entry of a source's `tables` (`db.table`, `db`, `table`) against the URL's database. */
export function parseEntry(entry: string, urlDatabase: string): { db: string; table: string | null } {
  const dot = entry.indexOf(".");
  if (dot >= 0) return { db: entry.slice(0, dot), table: entry.slice(dot + 1) };
  return urlDatabase ? { db: urlDatabase, table: entry } : { db: entry, table: null };
}

/**
 * The tables the entries name, in order, with what is missing: `db.table` and (with a URL database) bare
 * table names name one table; without a URL database a bare name is a database (all its base tables).
 */
export async function resolveTables(
  conn: mysql.Connection,
  entries: readonly string[],
  urlDatabase: string,
): Promise<{ tables: QualifiedTable[]; missingDatabases: string[]; missingTables: string[] }> {
  const tables: QualifiedTable[] = [];
  const missingDatabases: string[] = [];
  const missingTables: string[] = [];
  const seen = new Set<string>();
  const add = (t: QualifiedTable): void => {
    if (seen.has(qualified(t))) return;
    seen.add(qualified(t));
    tables.push(t);
  };
  for (const entry of entries) {
    const { db, table } = parseEntry(entry, urlDatabase);
    const [dbs] = await conn.query<Rows>(
      "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
      [db],
    );
    if (dbs.length === 0) {
      missingDatabases.push(db);
      continue;
    }
    const [rows] = await conn.query<Rows>(
      "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'" +
        (table === null ? "" : " AND TABLE_NAME = ?") +
        " ORDER BY TABLE_NAME",
      table === null ? [db] : [db, table],
    );
    if (table !== null && rows.length === 0) missingTables.push(`${db}.${table}`);
    for (const r of rows) add({ db, table: String(r.name as string) });
  }
  return { tables, missingDatabases, missingTables };
}

/** The table's columns in ordinal order (empty when the table does not exist). */
export async function loadColumns(conn: mysql.Connection, db: string, table: string): Promise<MysqlColumn[]> {
  const [rows] = await conn.query<Rows>(
    `SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType,
            NUMERIC_PRECISION AS numericPrecision, NUMERIC_SCALE AS numericScale,
            CHARACTER_SET_NAME AS charset, COLLATION_NAME AS collation, COLUMN_COMMENT AS comment, EXTRA AS extra
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [db, table],
  );
  return rows.map((r) => ({
    name: String(r.name as string),
    dataType: String(r.dataType as string).toLowerCase(),
    columnType: String(r.columnType as string).toLowerCase(),
    numericPrecision: r.numericPrecision === null ? null : Number(r.numericPrecision as string),
    numericScale: r.numericScale === null ? null : Number(r.numericScale as string),
    charset: (r.charset as string | null) ?? null,
    collation: (r.collation as string | null) ?? null,
    comment: String((r.comment as string | null) ?? ""),
    generated: /GENERATED|PERSISTENT/i.test(String((r.extra as string | null) ?? "")),
  }));
}

/** The primary key's columns in key order (empty: keyless). */
export async function primaryKey(conn: mysql.Connection, db: string, table: string): Promise<string[]> {
  const [rows] = await conn.query<Rows>(
    `SELECT COLUMN_NAME AS name FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX`,
    [db, table],
  );
  return rows.map((r) => String(r.name as string));
}

export async function estimatedRows(conn: mysql.Connection, db: string, table: string): Promise<number> {
  const [rows] = await conn.query<Rows>(
    "SELECT TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
    [db, table],
  );
  return Number((rows[0]?.n as number | null) ?? 0);
}

export async function binaryLogs(conn: mysql.Connection): Promise<BinlogFile[]> {
  const [rows] = await conn.query<Rows>("SHOW BINARY LOGS");
  return rows.map((r) => ({ name: String(r.Log_name as string), size: Number(r.File_size as number) }));
}

/** `db`.`table` with backticks doubled. */
export function quoteName(db: string, table: string): string {
  return `${quoteIdent(db)}.${quoteIdent(table)}`;
}

export function quoteIdent(name: string): string {
  return `\`${name.replace(/`/g, "``")}\``;
}
