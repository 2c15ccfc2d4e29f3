// One run of the MySQL backend against its server (the runtime's `BackendSession`): resolves the tables,
// keeps a catalogue connection (every connection with an 'error' listener that fails the session), and
// opens the snapshot, the binlog stream, re-snapshot chunks and watermarks on demand. Nothing is held on
// the server between runs: the position lives in `_mesh_offsets` (`storedPosition()` only tells where an
// open stream started) and `teardown` has nothing to remove.
import { randomUUID } from "node:crypto";
import type mysql from "mysql2/promise";
import { MeshError } from "../../lib/errors.ts";
import type { BackendSession, ChunkRead, SessionContext, SnapshotRead } from "../core/backend.ts";
import type { SourceDefinition } from "../core/change-source.ts";
import { lagBytes, positionOnServer, serializePosition, type MysqlPosition } from "./binlog-position.ts";
import { BinlogStream } from "./binlog-stream.ts";
import {
  binaryLogs,
  loadColumns,
  primaryKey,
  qualified,
  quoteName,
  resolveTables,
  serverInfo,
  type QualifiedTable,
  type ServerInfo,
} from "./catalog.ts";
import { closeQuietly, errno, openConnection, parseSourceUrl } from "./connection.ts";
import { positionLost } from "./errors.ts";
import { SchemaTracker, signalTableMissing, type TableRole } from "./schema-tracker.ts";
import { serverIdFor } from "./server-id.ts";
import { openSnapshot, readKeysetChunk } from "./snapshot.ts";
import { tableVersion } from "./table-version.ts";

type Rows = mysql.RowDataPacket[];

/** The table re-snapshot watermarks go through (in the source's database; shared by its sources). */
export const SIGNAL_TABLE = "mesh_signal";

export function signalTableDdl(name: string): string {
  return (
    `CREATE TABLE IF NOT EXISTS ${name} (id VARCHAR(64) PRIMARY KEY, source VARCHAR(100) NOT NULL, ` +
    "chunk VARCHAR(255) NOT NULL, edge VARCHAR(8) NOT NULL, at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))"
  );
}

export async function openMysqlSession(
  def: SourceDefinition,
  ctx: SessionContext,
): Promise<BackendSession<MysqlPosition>> {
  const session = new MysqlSession(def, ctx);
  try {
    await session.open();
    return session;
  } catch (err) {
    await session.close();
    throw err;
  }
}

class MysqlSession implements BackendSession<MysqlPosition> {
  db = "";
  tables: string[] = [];
  outboxTables: string[] = [];
  private readonly def: SourceDefinition;
  private readonly ctx: SessionContext;
  private conn: mysql.Connection | null = null;
  private info: ServerInfo | null = null;
  private signal: QualifiedTable = { db: "", table: SIGNAL_TABLE };
  private roles: (QualifiedTable & { role: TableRole })[] = [];
  private readonly streams = new Set<BinlogStream>();
  private readonly snapshots = new Set<SnapshotRead<MysqlPosition>>();
  private closed = false;
  private streamStart: MysqlPosition | null = null;

  constructor(def: SourceDefinition, ctx: SessionContext) {
    this.def = def;
    this.ctx = ctx;
  }

  private readonly lost = (err: Error): void => {
    if (this.closed) return;
    this.ctx.fail(
      new MeshError(
        "MESH_SOURCE_UNREACHABLE",
        `a source connection was lost: ${err.message}`,
        {},
        { cause: err },
      ),
    );
  };

  private connection(): mysql.Connection {
    if (!this.conn) throw new MeshError("MESH_SOURCE_UNREACHABLE", "the session is closed");
    return this.conn;
  }

  async open(): Promise<void> {
    const urlDb = parseSourceUrl(this.def.url).database;
    this.conn = await openConnection(this.def.url, this.lost);
    const conn = this.conn;
    this.info = await serverInfo(conn);
    const captured = await resolveTables(conn, this.def.tables, urlDb);
    const outbox = await resolveTables(conn, this.def.outbox?.tables ?? [], urlDb);
    const missing = [
      ...captured.missingDatabases,
      ...captured.missingTables,
      ...outbox.missingDatabases,
      ...outbox.missingTables,
    ];
    if (missing.length > 0)
      throw new MeshError(
        "MESH_SOURCE_PREREQUISITE",
        `not on the server (or not visible to the user): ${missing.join(", ")}`,
        {
          missing,
        },
      );
    const outboxNames = new Set(outbox.tables.map(qualified));
    const tables = captured.tables.filter((t) => !outboxNames.has(qualified(t)));
    this.tables = tables.map(qualified);
    this.outboxTables = outbox.tables.map(qualified);
    this.db = urlDb || (tables[0]?.db ?? outbox.tables[0]?.db ?? "");
    this.signal = { db: this.db, table: SIGNAL_TABLE };
    this.roles = [
      ...tables.map((t) => ({ ...t, role: "captured" as const })),
      ...outbox.tables.map((t) => ({ ...t, role: "outbox" as const })),
      ...(this.db ? [{ ...this.signal, role: "signal" as const }] : []),
    ];
  }

  private async tracker(): Promise<SchemaTracker> {
    const t = new SchemaTracker(this.def.name, () => this.connection(), this.roles);
    await t.load();
    return t;
  }

  /**
   * The server keeps nothing for a source: its position is the runtime's. Once a stream is open, where it
   * started (a stream from "now" included, so the runtime can store that position before any event).
   */
  storedPosition(): Promise<MysqlPosition | null> {
    return Promise.resolve(this.streamStart);
  }

  async snapshot(): Promise<SnapshotRead<MysqlPosition>> {
    const tracker = await this.tracker();
    const versions = this.tables.map((name) => {
      const v = tracker.current(name);
      if (!v) throw new MeshError("MESH_SOURCE_PREREQUISITE", `table ${name} has no columns or is gone`);
      return v;
    });
    const read = await openSnapshot(this.def.url, versions, this.lost);
    this.snapshots.add(read);
    return {
      ...read,
      close: async () => {
        this.snapshots.delete(read);
        await read.close();
      },
    };
  }

  async stream(from: MysqlPosition | null): Promise<BinlogStream> {
    const conn = this.connection();
    const start = from ?? (await this.head());
    if (from) {
      const files = await binaryLogs(conn);
      if (!positionOnServer(files, from))
        throw positionLost(
          `the server no longer has binlog ${from.file} (it has ${files.map((f) => f.name).join(", ") || "none"}), ` +
            `where source ${this.def.name} stopped (${serializePosition(from)}): it was purged. Raise ` +
            "binlog_expire_logs_seconds above the longest time the connector may be stopped, and re-snapshot " +
            "(snapshot mode when_needed does it by itself)",
          { position: serializePosition(from), files: files.map((f) => f.name) },
        );
    }
    const stream = await BinlogStream.open({
      source: this.def.name,
      url: this.def.url,
      serverId: serverIdFor(this.def),
      from: start,
      tracker: await this.tracker(),
      heartbeatMs: 1000,
      logger: this.ctx.logger,
    });
    this.streams.add(stream);
    this.streamStart = start;
    return stream;
  }

  /** The end of the binlog now, with its GTID state. */
  private async head(): Promise<MysqlPosition> {
    const conn = this.connection();
    let rows: Rows;
    try {
      [rows] = await conn.query<Rows>("SHOW BINARY LOG STATUS");
    } catch {
      [rows] = await conn.query<Rows>("SHOW MASTER STATUS");
    }
    const r = rows[0];
    if (!r)
      throw new MeshError("MESH_SOURCE_PREREQUISITE", "the server writes no binary log (log_bin is OFF)");
    const file = String(r.File as string);
    const pos = Number(r.Position as number);
    let gtids: string | null;
    if (this.info?.flavor === "mariadb") {
      const [g] = await conn.query<Rows>("SELECT BINLOG_GTID_POS(?, ?) AS gtids", [file, pos]);
      gtids = (g[0]?.gtids as string | null) ?? null;
    } else gtids = String((r.Executed_Gtid_Set as string | null) ?? "").replace(/\s+/g, "") || null;
    return { file, pos, gtids, gtid: null };
  }

  /** The server sends heartbeat events while the binlog is idle (the stream's `progress`): nothing to write. */
  heartbeat(): Promise<void> {
    return Promise.resolve();
  }

  async lag(confirmed: MysqlPosition | null): Promise<number | null> {
    if (!confirmed) return null;
    return lagBytes(await binaryLogs(this.connection()), confirmed);
  }

  async writeWatermark(chunk: string, edge: "low" | "high"): Promise<void> {
    const conn = this.connection();
    const name = quoteName(this.signal.db, this.signal.table);
    const insert = (): Promise<unknown> =>
      conn.query(`INSERT INTO ${name} (id, source, chunk, edge) VALUES (?, ?, ?, ?)`, [
        randomUUID(),
        this.def.name,
        chunk,
        edge,
      ]);
    try {
      await insert();
    } catch (err) {
      // ER_NO_SUCH_TABLE: create it when the user may (CREATE), else say what to run.
      if (errno(err) !== 1146) throw this.signalError(err);
      try {
        await conn.query(signalTableDdl(name));
      } catch (createErr) {
        throw this.signalError(createErr);
      }
      await insert().catch((e: unknown) => {
        throw this.signalError(e);
      });
    }
    if (edge === "high")
      // Old watermarks are of no use once read: keep the table small (this source's rows only).
      await conn
        .query(`DELETE FROM ${name} WHERE source = ? AND at < NOW(6) - INTERVAL 1 HOUR`, [this.def.name])
        .catch(() => undefined);
  }

  private signalError(err: unknown): Error {
    const n = errno(err);
    if (n === 1142 || n === 1146 || n === 1044 || n === 1227)
      return signalTableMissing(`\`${this.signal.db}\`.\`${this.signal.table}\``, "the connector's user");
    return err as Error;
  }

  async readChunk(table: string, after: (string | null)[] | null, limit: number): Promise<ChunkRead> {
    const conn = this.connection();
    const dot = table.indexOf(".");
    const db = table.slice(0, dot);
    const name = table.slice(dot + 1);
    // The table as it is now: the chunk is read now.
    const version = tableVersion(
      this.def.name,
      db,
      name,
      await loadColumns(conn, db, name),
      await primaryKey(conn, db, name),
    );
    if (version.keyIndexes.length === 0) return { table: version.table, rows: [], next: null };
    const chunk = await readKeysetChunk(conn, version, after, limit);
    return { table: version.table, rows: chunk.rows, next: chunk.next };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.streams]) await s.close().catch(() => undefined);
    this.streams.clear();
    for (const r of [...this.snapshots]) await r.close().catch(() => undefined);
    this.snapshots.clear();
    await closeQuietly(this.conn);
    this.conn = null;
  }
}
