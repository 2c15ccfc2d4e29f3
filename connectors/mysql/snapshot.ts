// The initial snapshot: one consistent read of the captured tables and the binlog position it corresponds
// to, so streaming from that position continues it with no gap and no duplicate.
//   MariaDB (and Percona): START TRANSACTION WITH CONSISTENT SNAPSHOT, then SHOW STATUS LIKE
//   'binlog_snapshot_%' reports the binlog position of exactly that snapshot: no lock at all.
//   MySQL: FLUSH TABLES WITH READ LOCK for the moment it takes to start the snapshot and read SHOW
//   BINARY LOG STATUS (MASTER STATUS before 8.2), then UNLOCK TABLES (the user needs RELOAD).
// Tables are read in primary-key order in chunks (keyset pagination: one chunk in memory), keyless tables
// by one streamed SELECT; the next chunk is read while the last one is sent. Chunk queries use the text protocol with FLOAT columns cast to DOUBLE (the server
// prints a FLOAT to 6 digits, a DOUBLE exactly). `keysetQuery` is shared with re-snapshot chunks.
import type { Connection as CoreConnection } from "mysql2";
import type mysql from "mysql2/promise";
import { MeshError } from "../../lib/errors.ts";
import type { Row, SnapshotRead, SnapshotTable } from "../core/backend.ts";
import type { MysqlPosition } from "./binlog-position.ts";
import { estimatedRows, quoteIdent, quoteName } from "./catalog.ts";
import { closeQuietly, errno, openConnection } from "./connection.ts";
import type { MysqlColumn } from "./mysql-types.ts";
import { convertValues, cursorParams, keyCursor, type TableVersion } from "./table-version.ts";

type Rows = mysql.RowDataPacket[];

/** The select list of a version's columns, in order (FLOAT read exactly through DOUBLE). */
export function selectList(v: TableVersion): string {
  return v.columns
    .map((c: MysqlColumn) =>
      c.dataType === "float" ? `CAST(${quoteIdent(c.name)} AS DOUBLE)` : quoteIdent(c.name),
    )
    .join(", ");
}

/**
 * `SELECT ... WHERE key > cursor ORDER BY key LIMIT n` for a keyed version; the condition is expanded
 * (`a > ? OR (a = ? AND b > ?)`) because not every server uses an index for row-constructor comparisons.
 */
export function keysetQuery(
  v: TableVersion,
  after: readonly (string | null)[] | null,
  limit: number,
): { sql: string; params: unknown[] } {
  const keys = v.keyIndexes.map((i) => quoteIdent((v.columns[i] as MysqlColumn).name));
  let where = "";
  const params: unknown[] = [];
  if (after) {
    const values = cursorParams(v, after);
    const ors: string[] = [];
    for (let i = 0; i < keys.length; i++) {
      const ands: string[] = [];
      for (let j = 0; j < i; j++) {
        ands.push(`${keys[j]} = ?`);
        params.push(values[j]);
      }
      ands.push(`${keys[i]} > ?`);
      params.push(values[i]);
      ors.push(`(${ands.join(" AND ")})`);
    }
    where = ` WHERE ${ors.join(" OR ")}`;
  }
  const sql =
    `SELECT ${selectList(v)} FROM ${quoteName(v.table.schema, v.table.table)}${where}` +
    ` ORDER BY ${keys.join(", ")} LIMIT ${Math.max(1, Math.floor(limit))}`;
  return { sql, params };
}

/** Reads one chunk: rows in Avro form and the cursor after the last (null when the table is done). */
export async function readKeysetChunk(
  conn: mysql.Connection,
  v: TableVersion,
  after: readonly (string | null)[] | null,
  limit: number,
): Promise<{ rows: Row[]; next: (string | null)[] | null }> {
  const q = keysetQuery(v, after, limit);
  const [raw] = await conn.query<Rows & unknown[][]>({ sql: q.sql, rowsAsArray: true }, q.params);
  const values = raw as unknown as unknown[][];
  const rows = values.map((r) => convertValues(v, r));
  const last = values[values.length - 1];
  return { rows, next: values.length < limit || !last ? null : keyCursor(v, last) };
}

async function beginMariadbSnapshot(conn: mysql.Connection): Promise<MysqlPosition | null> {
  await conn.query("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ");
  await conn.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
  const [status] = await conn.query<Rows>("SHOW STATUS LIKE 'binlog_snapshot_%'");
  const byName = new Map(
    status.map((r) => [String(r.Variable_name as string).toLowerCase(), r.Value as unknown]),
  );
  const file = byName.get("binlog_snapshot_file");
  const pos = byName.get("binlog_snapshot_position");
  if (typeof file !== "string" || file === "" || pos === undefined) return null;
  let gtids: string | null = null;
  try {
    const [g] = await conn.query<Rows>("SELECT BINLOG_GTID_POS(?, ?) AS gtids", [file, Number(pos)]);
    gtids = (g[0]?.gtids as string | null) ?? null;
  } catch {
    // Not MariaDB (Percona reports the snapshot position too, but has no BINLOG_GTID_POS).
  }
  return { file, pos: Number(pos), gtids, gtid: null };
}

async function beginLockedSnapshot(conn: mysql.Connection): Promise<MysqlPosition> {
  await conn.query("ROLLBACK");
  try {
    await conn.query("FLUSH TABLES WITH READ LOCK");
  } catch (err) {
    if (errno(err) === 1227)
      throw new MeshError(
        "MESH_SOURCE_PREREQUISITE",
        "the snapshot needs a moment's global read lock on MySQL (it has no lock-free snapshot position): " +
          "GRANT RELOAD ON *.* TO the connector's user, or use snapshot mode never",
        {},
        { cause: err },
      );
    throw err;
  }
  try {
    await conn.query("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ");
    await conn.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
    let rows: Rows;
    try {
      [rows] = await conn.query<Rows>("SHOW BINARY LOG STATUS");
    } catch {
      [rows] = await conn.query<Rows>("SHOW MASTER STATUS");
    }
    const r = rows[0];
    if (!r) throw new MeshError("MESH_SOURCE_PREREQUISITE", "the server has no binary log (log_bin is off)");
    const executed = String((r.Executed_Gtid_Set as string | null) ?? "").replace(/\s+/g, "");
    return {
      file: String(r.File as string),
      pos: Number(r.Position as number),
      gtids: executed || null,
      gtid: null,
    };
  } finally {
    await conn.query("UNLOCK TABLES");
  }
}

/** Opens the consistent read; `versions` are the captured tables' current versions (outbox excluded). */
export async function openSnapshot(
  url: string,
  versions: readonly TableVersion[],
  onLost: (err: Error) => void,
): Promise<SnapshotRead<MysqlPosition>> {
  const conn = await openConnection(url, onLost);
  try {
    const position = (await beginMariadbSnapshot(conn)) ?? (await beginLockedSnapshot(conn));
    const tables: SnapshotTable[] = [];
    for (const v of versions)
      tables.push({
        table: v.table,
        estimatedRows: await estimatedRows(conn, v.table.schema, v.table.table),
      });
    const byQualified = new Map(versions.map((v) => [v.table.qualified, v]));
    // One connection holds the snapshot: reads of several tables take turns on it.
    let turn: Promise<unknown> = Promise.resolve();
    const exclusive = <T>(f: () => Promise<T>): Promise<T> => {
      const run = turn.then(f, f);
      turn = run.catch(() => undefined);
      return run;
    };
    return {
      position,
      tables,
      rows(table, chunkRows) {
        const v = byQualified.get(table.qualified);
        if (!v) throw new TypeError(`${table.qualified} is not part of this snapshot`);
        return v.keyIndexes.length > 0
          ? keyedRows(conn, v, chunkRows, exclusive)
          : keylessRows(conn, v, chunkRows, exclusive);
      },
      async close() {
        await conn.query("COMMIT").catch(() => undefined);
        await closeQuietly(conn);
      },
    };
  } catch (err) {
    await closeQuietly(conn);
    throw err;
  }
}

async function* keyedRows(
  conn: mysql.Connection,
  v: TableVersion,
  chunkRows: number,
  exclusive: <T>(f: () => Promise<T>) => Promise<T>,
): AsyncGenerator<Row[]> {
  type Chunk = { rows: Row[]; next: (string | null)[] | null };
  const read = (after: (string | null)[] | null): Promise<Chunk> => {
    const p = exclusive(() => readKeysetChunk(conn, v, after, chunkRows));
    p.catch(() => undefined); // a prefetch nobody awaits (the reader stopped early) must not go unhandled
    return p;
  };
  // The next chunk is read while this one is encoded and sent: the server's time and ours overlap (two
  // chunks in memory at most).
  let pending = read(null);
  for (;;) {
    const chunk = await pending;
    if (chunk.next !== null) pending = read(chunk.next);
    if (chunk.rows.length > 0) yield chunk.rows;
    if (chunk.next === null) return;
  }
}

async function* keylessRows(
  conn: mysql.Connection,
  v: TableVersion,
  chunkRows: number,
  exclusive: <T>(f: () => Promise<T>) => Promise<T>,
): AsyncGenerator<Row[]> {
  // No key to page by: one SELECT, streamed with backpressure, cut into chunks. It holds the snapshot
  // connection until the table is read, so other tables wait their turn.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let granted!: () => void;
  const ready = new Promise<void>((r) => (granted = r));
  void exclusive(() => {
    granted();
    return held;
  });
  await ready;
  // The callback connection under the promise wrapper streams (the wrapper has no stream()).
  const core = (conn as unknown as { connection: CoreConnection }).connection;
  const rows = core
    .query({
      sql: `SELECT ${selectList(v)} FROM ${quoteName(v.table.schema, v.table.table)}`,
      rowsAsArray: true,
    })
    .stream({ highWaterMark: Math.min(chunkRows, 1000) });
  try {
    let chunk: Row[] = [];
    for await (const values of rows as AsyncIterable<unknown[]>) {
      chunk.push(convertValues(v, values));
      if (chunk.length >= chunkRows) {
        yield chunk;
        chunk = [];
      }
    }
    if (chunk.length > 0) yield chunk;
  } finally {
    rows.destroy();
    release();
  }
}
