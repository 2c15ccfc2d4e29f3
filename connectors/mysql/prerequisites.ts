// What must hold before a MySQL/MariaDB source can be captured, each problem with a stable code and the
// statement or setting that fixes it (docs/connector-mysql.md "What a DBA runs"). Creates nothing.
//   unreachable (transient), auth, log_bin, binlog_format, binlog_row_image, binlog_transaction_compression
//   and binlog_row_value_options (MySQL 8), replication_slave, replication_client, schema_missing,
//   table_missing, select_privilege
// Tables without a primary key are accepted (null keys, as Postgres' keyless tables).
import type mysql from "mysql2/promise";
import type { Problem, SourceDefinition } from "../core/change-source.ts";
import { qualified, quoteName, resolveTables, serverInfo } from "./catalog.ts";
import { closeQuietly, errno, openConnection, parseSourceUrl } from "./connection.ts";

type Rows = mysql.RowDataPacket[];

/** The privileges granted to the current user on `*.*` (upper-case), from SHOW GRANTS. */
export function globalPrivileges(grants: readonly string[]): { privileges: Set<string>; viaRoles: boolean } {
  const privileges = new Set<string>();
  let viaRoles = false;
  for (const line of grants) {
    const m = /^GRANT\s+(.+?)\s+ON\s+(\S+)\s+TO\s/i.exec(line);
    if (!m) {
      // `GRANT role TO user`: what a role holds is not in these lines; trust it rather than refuse.
      if (/^GRANT\s+\S+\s+TO\s/i.test(line)) viaRoles = true;
      continue;
    }
    if (m[2] !== "*.*") continue;
    for (const p of (m[1] as string).split(",")) privileges.add(p.trim().toUpperCase());
  }
  return { privileges, viaRoles };
}

export async function checkMysqlPrerequisites(def: SourceDefinition): Promise<Problem[]> {
  const url = parseSourceUrl(def.url);
  let conn: mysql.Connection;
  try {
    conn = await openConnection(def.url);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "MESH_SOURCE_AUTH")
      return [
        {
          code: "auth",
          message: (err as Error).message,
          fix: "check the user and password in the source url",
        },
      ];
    if (code === "MESH_SOURCE_PREREQUISITE")
      return [
        {
          code: "schema_missing",
          message: (err as Error).message,
          fix: `CREATE DATABASE \`${url.database}\`; or name an existing database in the source url`,
        },
      ];
    return [
      {
        code: "unreachable",
        message: (err as Error).message,
        fix: `check that the server at ${url.host}:${url.port} runs and accepts connections`,
        transient: true,
      },
    ];
  }
  try {
    return await check(conn, def, url.database);
  } finally {
    await closeQuietly(conn);
  }
}

async function check(conn: mysql.Connection, def: SourceDefinition, urlDatabase: string): Promise<Problem[]> {
  const problems: Problem[] = [];
  const info = await serverInfo(conn);
  const [who] = await conn.query<Rows>("SELECT CURRENT_USER() AS who");
  const rawUser = String((who[0]?.who as string | undefined) ?? "user@host");
  const at = rawUser.lastIndexOf("@");
  const user = `'${rawUser.slice(0, at)}'@'${rawUser.slice(at + 1)}'`;
  const restart = "and in the [mysqld] section of my.cnf, so it survives a restart";
  if (!info.logBin)
    problems.push({
      code: "log_bin",
      message: "the server writes no binary log (log_bin is OFF)",
      fix: "start the server with log_bin (e.g. log_bin=mysql-bin, server_id=1, binlog_format=ROW in [mysqld] of my.cnf) and restart it",
    });
  if (info.binlogFormat.toUpperCase() !== "ROW")
    problems.push({
      code: "binlog_format",
      message: `binlog_format is ${info.binlogFormat || "unset"}; row events need ROW`,
      fix: `SET GLOBAL binlog_format = 'ROW'; ${restart}`,
    });
  if (info.binlogRowImage.toUpperCase() !== "FULL")
    problems.push({
      code: "binlog_row_image",
      message: `binlog_row_image is ${info.binlogRowImage || "unset"}; every column of every row needs FULL`,
      fix: `SET GLOBAL binlog_row_image = 'FULL'; ${restart}`,
    });
  if ((info.binlogTransactionCompression ?? "OFF").toUpperCase() === "ON")
    problems.push({
      code: "binlog_transaction_compression",
      message: "binlog_transaction_compression is ON: compressed transactions cannot be decoded",
      fix: `SET GLOBAL binlog_transaction_compression = OFF; ${restart}`,
    });
  if (/PARTIAL_JSON/i.test(info.binlogRowValueOptions ?? ""))
    problems.push({
      code: "binlog_row_value_options",
      message: "binlog_row_value_options is PARTIAL_JSON: JSON updates are logged as diffs, not whole values",
      fix: `SET GLOBAL binlog_row_value_options = ''; ${restart}`,
    });

  const [grantRows] = await conn.query<Rows>("SHOW GRANTS FOR CURRENT_USER()");
  const { privileges, viaRoles } = globalPrivileges(
    grantRows.map((r) => String(Object.values(r)[0] as string)),
  );
  const all = privileges.has("ALL PRIVILEGES") || privileges.has("ALL");
  if (!all && !viaRoles && !privileges.has("REPLICATION SLAVE"))
    problems.push({
      code: "replication_slave",
      message: `${user} may not read the binlog (REPLICATION SLAVE)`,
      fix: `GRANT REPLICATION SLAVE ON *.* TO ${user};`,
    });
  // REPLICATION CLIENT (MariaDB 10.5+: BINLOG MONITOR) lets the connector list the binlogs: tried directly.
  try {
    await conn.query("SHOW BINARY LOGS");
  } catch (err) {
    if (info.logBin)
      problems.push({
        code: "replication_client",
        message: `${user} may not list the binary logs (${(err as Error).message})`,
        fix:
          info.flavor === "mariadb"
            ? `GRANT BINLOG MONITOR ON *.* TO ${user}; (REPLICATION CLIENT before MariaDB 10.5)`
            : `GRANT REPLICATION CLIENT ON *.* TO ${user};`,
      });
  }

  const entries = [...def.tables, ...(def.outbox?.tables ?? [])];
  const resolved = await resolveTables(conn, entries, urlDatabase);
  for (const db of resolved.missingDatabases)
    problems.push({
      code: "schema_missing",
      message: `database ${db} does not exist (or ${user} cannot see it)`,
      fix: `CREATE DATABASE \`${db}\`; or GRANT SELECT ON \`${db}\`.* TO ${user}; or fix the source's tables`,
    });
  for (const t of resolved.missingTables)
    problems.push({
      code: "table_missing",
      message: `table ${t} does not exist (or ${user} cannot see it)`,
      fix: `create the table, GRANT SELECT ON ${t} TO ${user}, or remove it from the source's tables`,
    });
  for (const t of resolved.tables) {
    try {
      await conn.query(`SELECT 1 FROM ${quoteName(t.db, t.table)} LIMIT 0`);
    } catch (err) {
      // ER_TABLEACCESS_DENIED_ERROR / ER_COLUMNACCESS_DENIED_ERROR
      if (errno(err) === 1142 || errno(err) === 1143)
        problems.push({
          code: "select_privilege",
          message: `${user} may not read ${qualified(t)}`,
          fix: `GRANT SELECT ON ${quoteName(t.db, t.table)} TO ${user};`,
        });
      else throw err;
    }
  }
  return problems;
}
