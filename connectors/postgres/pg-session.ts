// One Postgres session (core/backend.ts `BackendSession<bigint>`): the publication and the captured tables,
// the slot (created with an exported snapshot for the initial snapshot, or without one to stream only), the
// change stream from the slot, the heartbeat and watermark messages, and re-snapshot chunks read in a
// snapshot whose visibility is known. Positions are LSNs.
import type pg from "pg";
import { MeshError } from "../../lib/errors.ts";
import type {
  BackendSession,
  ChangeStream,
  ChunkRead,
  SessionContext,
  SnapshotRead,
  SnapshotTable,
} from "../core/backend.ts";
import type { SourceDefinition } from "../core/contract.ts";
import {
  estimatedRows,
  fetchColumns,
  primaryKey,
  qualifiedIdent,
  quoteIdent,
  relationFromCatalog,
  resolveTables,
  splitQualified,
  TypeCatalog,
} from "./catalog.ts";
import { HEARTBEAT_PREFIX, PgChangeStream, WATERMARK_PREFIX } from "./change-stream.ts";
import { formatLsn } from "./lsn.ts";
import { defaultPublicationName, defaultSlotName } from "./names.ts";
import type { Relation } from "./pgoutput.ts";
import { tableMapping, textRowToRow, type TableMapping } from "./row-mapping.ts";
import { SessionConnections } from "./session-connections.ts";
import { createSlot, dropSlot, ensurePublication, slotLag, slotState } from "./slot.ts";
import { beginSnapshotTransaction, readTableParallel } from "./snapshot.ts";
import { isVisible, parseSnapshot } from "./visibility.ts";

/**
 * Connections reading the initial snapshot at once (block ranges of each table; tables under
 * MIN_BLOCKS_PER_READER blocks per reader use fewer). Postgres then produces the next chunks while the
 * connector encodes this one.
 */
export const SNAPSHOT_READERS = 3;

export async function openPostgresSession(
  def: SourceDefinition,
  ctx: SessionContext,
): Promise<BackendSession<bigint>> {
  const conns = new SessionConnections(def.url, (err) => ctx.fail(err));
  try {
    const client = await conns.open();
    const db = (await client.query<{ db: string }>("SELECT current_database() AS db")).rows[0]?.db ?? "";
    const captured = await resolveTables(client, def.tables);
    const outbox = await resolveTables(client, def.outbox?.tables ?? []);
    const outboxNames = new Set(outbox.map((t) => `${t.schema}.${t.table}`));
    const tables = captured.filter((t) => !outboxNames.has(`${t.schema}.${t.table}`));
    const publication = def.publication ?? defaultPublicationName(def.name);
    await ensurePublication(client, publication, [...tables, ...outbox]);
    return new PostgresSession(def, conns, client, db, {
      tables: tables.map((t) => `${t.schema}.${t.table}`),
      outbox: [...outboxNames],
      publication,
    });
  } catch (err) {
    await conns.cleanup();
    throw err;
  }
}

class PostgresSession implements BackendSession<bigint> {
  readonly db: string;
  readonly tables: readonly string[];
  readonly outboxTables: readonly string[];
  readonly #def: SourceDefinition;
  readonly #conns: SessionConnections;
  /** Catalogue queries and TOAST reads (the stream's). */
  readonly #client: pg.Client;
  readonly #types: TypeCatalog;
  readonly #slot: string;
  readonly #publication: string;
  /** Heartbeats, lag and watermarks: never queued behind a TOAST read or a chunk. */
  #aux: Promise<pg.Client> | null = null;
  /** Re-snapshot chunks, each in its own transaction. */
  #chunks: Promise<pg.Client> | null = null;

  constructor(
    def: SourceDefinition,
    conns: SessionConnections,
    client: pg.Client,
    db: string,
    o: { tables: string[]; outbox: string[]; publication: string },
  ) {
    this.#def = def;
    this.#conns = conns;
    this.#client = client;
    this.#types = new TypeCatalog(client);
    this.db = db;
    this.tables = o.tables;
    this.outboxTables = o.outbox;
    this.#slot = def.slot ?? defaultSlotName(def.name);
    this.#publication = o.publication;
  }

  async storedPosition(): Promise<bigint | null> {
    const state = await slotState(this.#client, this.#slot);
    return state && !state.lost ? state.confirmed : null;
  }

  async snapshot(): Promise<SnapshotRead<bigint>> {
    // Whatever the slot held belongs to an unfinished snapshot or a lost position: start afresh.
    await dropSlot(this.#client, this.#slot);
    const created = await createSlot(this.#def.url, this.#slot, true);
    // Several readers share the exported snapshot (snapshot.ts): each imports it before the slot's
    // connection lets it go (it is valid only while that connection is idle).
    const readers: pg.Client[] = [];
    try {
      for (let i = 0; i < SNAPSHOT_READERS; i++) {
        const c = await this.#conns.open();
        readers.push(c);
        await beginSnapshotTransaction(c, created.snapshotName ?? "");
      }
    } finally {
      await created.release();
    }
    const snap = readers[0] as pg.Client;
    const tables: SnapshotTable[] = [];
    for (const qualified of [...this.tables]) {
      const [schema = "", table = ""] = splitQualified(qualified);
      const mapping = await this.#map(await relationFromCatalog(snap, schema, table));
      tables.push({ table: mapping, estimatedRows: await estimatedRows(snap, schema, table) });
    }
    return {
      position: created.consistentPoint,
      tables,
      rows: (table, chunkRows) => snapshotRows(readers, table as TableMapping, chunkRows),
      close: async () => {
        for (const c of readers) {
          await c.query("COMMIT").catch(() => undefined);
          await c.end().catch(() => undefined);
        }
      },
    };
  }

  async stream(from: bigint | null): Promise<ChangeStream<bigint>> {
    let state = await slotState(this.#client, this.#slot);
    if (state === null && from !== null) throw this.#lost(from, "no longer exists");
    if (state?.lost) throw this.#lost(from, "was invalidated (its WAL was removed: max_slot_wal_keep_size)");
    if (state === null) {
      const created = await createSlot(this.#def.url, this.#slot, false);
      await created.release();
      state = await slotState(this.#client, this.#slot);
    }
    const stream = new PgChangeStream({
      url: this.#def.url,
      slot: this.#slot,
      publication: this.#publication,
      confirmed: state?.confirmed ?? 0n,
      from: from ?? 0n,
      mapRelation: (rel) => this.#map(rel),
      fetchColumns: (m, keyText, cols) => fetchColumns(this.#client, m, keyText, cols),
    });
    this.#conns.defer(() => stream.close());
    await stream.start();
    return stream;
  }

  async heartbeat(): Promise<void> {
    // A WAL record we will receive (as `progress`): once everything before it is acknowledged, the slot moves.
    await (
      await this.#auxClient()
    ).query("SELECT pg_logical_emit_message(false, $1, '')", [HEARTBEAT_PREFIX]);
  }

  async lag(): Promise<number | null> {
    return (await slotLag(await this.#auxClient(), this.#slot))?.lagBytes ?? null;
  }

  async writeWatermark(chunk: string, edge: "low" | "high"): Promise<void> {
    await (
      await this.#auxClient()
    ).query("SELECT pg_logical_emit_message(false, $1, $2)", [WATERMARK_PREFIX, `${chunk}|${edge}`]);
  }

  async readChunk(qualified: string, after: (string | null)[] | null, limit: number): Promise<ChunkRead> {
    this.#chunks ??= this.#conns.open();
    const c = await this.#chunks;
    const [schema = "", table = ""] = splitQualified(qualified);
    // REPEATABLE READ: the first statement takes the snapshot every later one reads, so the rows are
    // exactly what `pg_current_snapshot()` sees.
    await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    try {
      const snapshot = parseSnapshot(
        (await c.query<{ s: string }>("SELECT pg_current_snapshot()::text AS s")).rows[0]?.s ?? "",
      );
      const mapping = await this.#map(await relationFromCatalog(c, schema, table));
      if (mapping.keyIndexes.length === 0) return { table: mapping, rows: [], next: null };
      const keyCols = mapping.keyIndexes.map((i) => quoteIdent(mapping.columnNames[i] as string));
      const where = after
        ? ` WHERE (${keyCols.join(", ")}) > (${keyCols.map((_, i) => `$${i + 1}`).join(", ")})`
        : "";
      const res = await c.query<(string | null)[]>({
        text: `SELECT ${mapping.columnNames.map(quoteIdent).join(", ")} FROM ${qualifiedIdent(schema, table)}${where} ORDER BY ${keyCols.join(", ")} LIMIT ${limit}`,
        values: after ?? [],
        rowMode: "array",
      });
      const last = res.rows[res.rows.length - 1];
      return {
        table: mapping,
        rows: res.rows.map((values) => textRowToRow(mapping, values)),
        next: res.rows.length < limit || !last ? null : mapping.keyIndexes.map((i) => last[i] ?? null),
        visible: (txId) => isVisible(snapshot, txId),
      };
    } finally {
      await c.query("COMMIT").catch(() => undefined);
    }
  }

  close(): Promise<void> {
    return this.#conns.cleanup();
  }

  #auxClient(): Promise<pg.Client> {
    this.#aux ??= this.#conns.open();
    return this.#aux;
  }

  /** A relation's table version: its types and real primary key from the catalogue. */
  async #map(rel: Relation): Promise<TableMapping> {
    await this.#types.load(rel.columns.map((c) => c.typeOid));
    const pk = await primaryKey(this.#client, rel.schema, rel.name);
    return tableMapping(this.#def.name, rel, (oid) => this.#types.get(oid), pk);
  }

  #lost(from: bigint | null, what: string): MeshError {
    const slot = this.#slot;
    return new MeshError(
      "MESH_SOURCE_POSITION_LOST",
      `replication slot "${slot}" of source ${this.#def.name} ${what}: the changes after ${from === null ? "its last position" : formatLsn(from)} are gone from the server. ` +
        `To capture again, set the source's snapshot mode to "when_needed" (it then snapshots anew) or delete and re-create the source; ` +
        `to find out who dropped it, look for pg_drop_replication_slot('${slot}') in the server log`,
      { slot, position: from === null ? null : formatLsn(from) },
    );
  }
}

async function* snapshotRows(
  clients: pg.Client[],
  mapping: TableMapping,
  chunkRows: number,
): AsyncGenerator<Record<string, unknown>[]> {
  const keyColumns = mapping.keyIndexes.map((i) => mapping.columnNames[i] as string);
  for await (const chunk of readTableParallel(
    clients,
    mapping.schema,
    mapping.table,
    mapping.columnNames,
    keyColumns,
    chunkRows,
  ))
    yield chunk.map((values) => textRowToRow(mapping, values));
}
