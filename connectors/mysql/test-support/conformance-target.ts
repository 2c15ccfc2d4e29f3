// The MySQL backend as the conformance suite sees it (core/conformance/target.ts), on the stack's MariaDB:
// each database gets its own CDC user (SELECT, REPLICATION SLAVE, BINLOG MONITOR on *.*, and INSERT,
// DELETE, CREATE on the database for the signal table), so a test can end exactly its source's binlog
// connections; a lost position is the binlog purged behind the connector. The server runs with
// binlog_row_metadata=FULL (set here too, for a stack started before it did).
import mysql from "mysql2/promise";
import type { ConformanceTarget, TestDatabase, TypeCase } from "../../core/conformance/index.ts";
import { createMysqlDatabase, stackEnv } from "../../../test/support/stack.ts";
import { binlogIndex } from "../binlog-position.ts";
import { TYPE_CASES } from "./type-cases.ts";

/** Decoded from Kafka, the temporal columns are ISO text (the Avro form above is micros). */
const decodedTemporal: Record<string, unknown> = {
  c_datetime: "9999-12-31T23:59:59.000000",
  c_datetime6: "1000-01-01T00:00:00.000001",
  c_datetime3: "2024-01-02T03:04:05.678000",
  c_timestamp: "2038-01-19T03:14:07.000000Z",
  c_timestamp6: "1970-01-01T00:00:01.000001Z",
};

const types: TypeCase[] = [
  ...TYPE_CASES.map((c) => ({
    column: c.column,
    type: c.type,
    literal: c.values[0][0],
    expected: c.column in decodedTemporal ? decodedTemporal[c.column] : c.values[0][1],
  })),
  // Zero dates: a documented null (docs/connector-mysql.md "Types").
  { column: "z_date", type: "DATE", literal: "'0000-00-00'", expected: null },
  { column: "z_datetime", type: "DATETIME(6)", literal: "'2024-00-10 00:00:00'", expected: null },
  { column: "z_timestamp", type: "TIMESTAMP NULL", literal: "'0000-00-00 00:00:00'", expected: null },
  // Generated columns are streamed like the others (the binlog's full row image holds them).
  { column: "g_virtual", type: "BIGINT AS (c_int * 2) VIRTUAL", literal: "DEFAULT", expected: -4294967296n },
  {
    column: "g_stored",
    type: "VARCHAR(200) AS (CONCAT(c_varchar, '!')) PERSISTENT",
    literal: "DEFAULT",
    expected: "😀 héllo ✓!",
  },
];

function adminUrl(database = "mysql"): string {
  const u = new URL(stackEnv().MESH_MYSQL_URL);
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin<T>(fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const c = await mysql.createConnection({ uri: adminUrl(), multipleStatements: true });
  c.on("error", () => undefined);
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

let metadataSet: Promise<unknown> | null = null;
const hosts = ["%", "localhost", "127.0.0.1"];

async function createDatabase(prefix: string): Promise<TestDatabase> {
  metadataSet ??= admin((c) => c.query("SET GLOBAL binlog_row_metadata = 'FULL'"));
  await metadataSet;
  const db = await createMysqlDatabase(prefix);
  const user = `u_${db.name}`.slice(0, 80);
  const password = "cdc";
  await admin(async (c) => {
    for (const host of hosts) {
      await c.query("CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?", [user, host, password]);
      await c.query("GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO ?@?", [user, host]);
      await c.query(`GRANT INSERT, DELETE, CREATE ON \`${db.name}\`.* TO ?@?`, [user, host]);
    }
  });
  const stack = new URL(stackEnv().MESH_MYSQL_URL);
  const url = `mysql://${user}:${password}@${stack.hostname}:${stack.port}/${db.name}`;
  // A pool: statements of one exec() share a connection (a transaction stays whole), concurrent ones do not.
  const pool = mysql.createPool({
    uri: adminUrl(db.name),
    connectionLimit: 4,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
  });
  pool.on("connection", (c) => c.on("error", () => undefined));
  return {
    name: db.name,
    url,
    qualified: (table) => `${db.name}.${table}`,
    exec: async (...statements) => {
      const c = await pool.getConnection();
      try {
        for (const sql of statements) await c.query(sql);
      } catch (err) {
        await c.query("ROLLBACK").catch(() => undefined);
        throw err;
      } finally {
        c.release();
      }
    },
    query: async <T>(sql: string) => (await pool.query(sql))[0] as T[],
    drop: async () => {
      await pool.end().catch(() => undefined);
      await admin(async (c) => {
        for (const host of hosts) await c.query("DROP USER IF EXISTS ?@?", [user, host]);
      });
      await db.drop();
    },
  };
}

/** Ends the binlog connections of the database's user, and waits until the server has let them go. */
async function endDumpThreads(c: mysql.Connection, user: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const [rows] = await c.query<mysql.RowDataPacket[]>(
      "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ? AND COMMAND LIKE 'Binlog Dump%'",
      [user],
    );
    if (rows.length === 0) return;
    for (const r of rows) await c.query(`KILL ${Number(r.id)}`).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the binlog connections of ${user} did not end`);
}

export const mysqlTarget: ConformanceTarget = {
  kind: "mysql",
  createDatabase,
  exactResnapshot: false,
  types,
  alterType: (table, column, type) => `ALTER TABLE ${table} MODIFY COLUMN ${column} ${type}`,
  outboxPayloadType: "json",
  // The source's binlog file is purged: its connections are ended first (the server keeps a file a
  // reader is on), the binlog rotated, and every older file purged. Files other sources on the shared
  // server are reading stay: PURGE stops at the oldest file in use.
  losePosition: async (db) =>
    admin(async (c) => {
      const user = new URL(db.url).username;
      await endDumpThreads(c, user);
      const [status] = await c.query<mysql.RowDataPacket[]>("SHOW MASTER STATUS");
      const gone = String(status[0]?.File as string);
      await c.query("FLUSH BINARY LOGS");
      const [logs] = await c.query<mysql.RowDataPacket[]>("SHOW BINARY LOGS");
      const newest = String(logs[logs.length - 1]?.Log_name as string);
      // MariaDB keeps a file until its binlog checkpoint has moved on (crash recovery), which happens
      // shortly after the rotation: purge until the file is gone.
      for (let i = 0; ; i++) {
        await c.query("PURGE BINARY LOGS TO ?", [newest]);
        const [left] = await c.query<mysql.RowDataPacket[]>("SHOW BINARY LOGS");
        if (!left.some((l) => l.Log_name === gone)) break;
        if (i > 100) throw new Error(`the server keeps binlog ${gone}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      return gone;
    }),
  writeElsewhere: async (db, table, mb) => {
    // About 10 MB of binlog per 100,000 of these rows (MariaDB's sequence engine makes the rows).
    for (let i = 0; i < Math.ceil(mb / 10); i++)
      await db.exec(`INSERT INTO ${table} SELECT seq, REPEAT('x', 80) FROM seq_1_to_100000`);
  },
  logOrder: (source) =>
    source.file === null ? 0n : (BigInt(binlogIndex(source.file)) << 32n) + (source.pos ?? 0n),
};
