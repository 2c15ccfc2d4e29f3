// The versions of the tables a session reads from the binlog (captured, outbox, the signal table): loaded
// from information_schema when the session opens, re-read when a DDL statement in the binlog names one of
// them, and matched against each TABLE_MAP event, so every row is decoded and encoded under the version it
// was written with (table-version.ts `versionForTableMap`). A TABLE_MAP that no known version fits means
// the binlog holds rows from before a change the connector cannot reconstruct: the stored position cannot
// be streamed from, which the runtime handles like a purged binlog (re-snapshot or a clear stop).
import type mysql from "mysql2/promise";
import { MeshError } from "../../lib/errors.ts";
import type { SourceTable } from "../core/backend.ts";
import { versionFromFullMetadata, type BinlogColumnSchema } from "./binlog-columns.ts";
import { loadColumns, primaryKey, qualified, type QualifiedTable } from "./catalog.ts";
import type { TableName } from "./ddl.ts";
import { positionLost } from "./errors.ts";
import { sameShape, tableVersion, versionForTableMap, type TableVersion } from "./table-version.ts";

export type TableRole = "captured" | "outbox" | "signal";

/** What a TABLE_MAP event says about its table. */
export interface TableMapFacts {
  db: string;
  table: string;
  /** Real column types (ENUM/SET resolved). */
  types: readonly number[];
  /** Columns from binlog_row_metadata=FULL, when the event carries them. */
  binlogColumns: readonly BinlogColumnSchema[] | null;
  /** Primary-key column positions (FULL metadata), when given. */
  primaryKey: readonly number[] | null;
}

export class SchemaTracker {
  private readonly source: string;
  private readonly conn: () => mysql.Connection;
  private readonly roles = new Map<string, TableRole>();
  private readonly versions = new Map<string, TableVersion>();
  /** Historical versions met in the binlog (FULL metadata), so each is announced once. */
  private readonly history = new Map<string, TableVersion[]>();

  constructor(
    source: string,
    conn: () => mysql.Connection,
    tables: readonly (QualifiedTable & { role: TableRole })[],
  ) {
    this.source = source;
    this.conn = conn;
    for (const t of tables) this.roles.set(qualified(t), t.role);
  }

  async load(): Promise<void> {
    for (const name of this.roles.keys()) await this.reload(name);
  }

  role(db: string, table: string): TableRole | null {
    return this.roles.get(`${db}.${table}`) ?? null;
  }

  current(name: string): TableVersion | undefined {
    return this.versions.get(name);
  }

  /** The databases and tables the binlog decoder should decode rows of. */
  includeSchema(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const name of this.roles.keys()) {
      const dot = name.indexOf(".");
      (out[name.slice(0, dot)] ??= []).push(name.slice(dot + 1));
    }
    return out;
  }

  /**
   * Re-reads the named tables that this session reads; returns the versions whose Avro shape changed (to
   * announce before their next change). A table that no longer exists keeps no version.
   */
  async refresh(names: readonly TableName[]): Promise<SourceTable[]> {
    const changed: SourceTable[] = [];
    for (const n of names) {
      const name = `${n.db}.${n.table}`;
      if (!this.roles.has(name)) continue;
      const before = this.versions.get(name);
      const after = await this.reload(name);
      if (after && (!before || !sameShape(before, after)) && this.roles.get(name) !== "signal")
        changed.push(after.table);
    }
    return changed;
  }

  /** Every version of a database's tables is re-read (DROP DATABASE). */
  async refreshDatabase(db: string): Promise<SourceTable[]> {
    const names = [...this.roles.keys()].filter((n) => n.startsWith(`${db}.`));
    return this.refresh(names.map((n) => ({ db, table: n.slice(db.length + 1) })));
  }

  /**
   * The version a TABLE_MAP event was written under: from the event's own metadata under
   * binlog_row_metadata=FULL, else the known version if the event's column types fit it (or its first
   * columns: rows from before an ADD COLUMN). Throws MESH_SOURCE_POSITION_LOST when none fits.
   */
  resolve(map: TableMapFacts, at: string): TableVersion {
    const name = `${map.db}.${map.table}`;
    const known = this.versions.get(name);
    if (map.binlogColumns) {
      const seen = this.history.get(name) ?? [];
      this.history.set(name, seen);
      return versionFromFullMetadata(
        this.source,
        map.db,
        map.table,
        map.binlogColumns,
        map.types,
        map.primaryKey,
        known,
        seen,
      );
    }
    const version = known ? versionForTableMap(this.source, known, map.types, null) : null;
    if (version) return version;
    throw positionLost(
      `the binlog at ${at} holds rows of ${name} with ${map.types.length} columns written before a schema ` +
        `change the connector has not read (the table now has ${known ? known.columns.length : "no"} columns of ` +
        "other types): they cannot be decoded exactly. Set binlog_row_metadata=FULL (MariaDB 10.5+, MySQL " +
        "8.0+), with which the binlog names every row's columns, and re-snapshot the source (snapshot mode " +
        "when_needed does it by itself)",
      { table: name, at },
    );
  }

  private async reload(name: string): Promise<TableVersion | null> {
    const dot = name.indexOf(".");
    const db = name.slice(0, dot);
    const table = name.slice(dot + 1);
    const columns = await loadColumns(this.conn(), db, table);
    if (columns.length === 0) {
      this.versions.delete(name);
      return null;
    }
    const version = tableVersion(this.source, db, table, columns, await primaryKey(this.conn(), db, table));
    this.versions.set(name, version);
    return version;
  }
}

/** Thrown when the signal table is needed and missing (re-snapshots need it). */
export function signalTableMissing(name: string, user: string): MeshError {
  return new MeshError(
    "MESH_SOURCE_PREREQUISITE",
    `re-snapshots write watermarks to the signal table ${name}, which does not exist or is not writable; ` +
      `create it: CREATE TABLE ${name} (id VARCHAR(64) PRIMARY KEY, chunk VARCHAR(255) NOT NULL, ` +
      `edge VARCHAR(8) NOT NULL, at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6)); GRANT INSERT, DELETE ON ${name} TO ${user}`,
    { table: name },
  );
}
