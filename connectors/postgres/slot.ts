// Replication slot and publication management. The slot is created over a replication connection with
// EXPORT_SNAPSHOT, so the initial snapshot reads exactly the state at the slot's consistent point: no gap,
// no overlap with what the slot streams afterwards.
import pg from "pg";
import { SESSION_OPTIONS, qualifiedIdent, quoteIdent, quoteLiteral } from "./catalog.ts";
import { parseLsn } from "./lsn.ts";

export interface CreatedSlot {
  consistentPoint: bigint;
  snapshotName: string | null;
  /** The replication connection; the exported snapshot lives until it is closed (or runs another command). */
  release: () => Promise<void>;
}

export async function slotExists(client: pg.Client, slot: string): Promise<boolean> {
  const res = await client.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", [slot]);
  return (res.rowCount ?? 0) > 0;
}

export async function dropSlot(client: pg.Client, slot: string): Promise<void> {
  await client.query(
    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
    [slot],
  );
}

export async function createSlot(url: string, slot: string, exportSnapshot: boolean): Promise<CreatedSlot> {
  const repl = new pg.Client({
    connectionString: url,
    options: SESSION_OPTIONS,
    replication: "database",
  } as pg.ClientConfig);
  // Without a listener a server-ended connection would kill the process; its loss shows where it is used
  // (importing the exported snapshot fails).
  repl.on("error", () => undefined);
  await repl.connect();
  try {
    const res = await repl.query<{ consistent_point: string; snapshot_name: string | null }>(
      `CREATE_REPLICATION_SLOT ${quoteIdent(slot)} LOGICAL pgoutput ${exportSnapshot ? "EXPORT_SNAPSHOT" : "NOEXPORT_SNAPSHOT"}`,
    );
    const row = res.rows[0];
    if (!row) throw new Error("CREATE_REPLICATION_SLOT returned nothing");
    return {
      consistentPoint: parseLsn(row.consistent_point),
      snapshotName: row.snapshot_name,
      release: () => repl.end().catch(() => undefined),
    };
  } catch (err) {
    await repl.end().catch(() => undefined);
    throw err;
  }
}

/** Creates the publication, or makes its table list exactly `tables` (schema, table pairs). */
export async function ensurePublication(
  client: pg.Client,
  publication: string,
  tables: { schema: string; table: string }[],
): Promise<void> {
  const list = tables.map((t) => qualifiedIdent(t.schema, t.table)).join(", ");
  const existing = await client.query<{ schemaname: string; tablename: string }>(
    "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1",
    [publication],
  );
  const exists = await client.query("SELECT 1 FROM pg_publication WHERE pubname = $1", [publication]);
  if ((exists.rowCount ?? 0) === 0) {
    await client.query(`CREATE PUBLICATION ${quoteIdent(publication)} FOR TABLE ${list}`);
    return;
  }
  const have = new Set(existing.rows.map((r) => `${r.schemaname}.${r.tablename}`));
  const want = new Set(tables.map((t) => `${t.schema}.${t.table}`));
  if (have.size !== want.size || [...want].some((t) => !have.has(t))) {
    await client.query(`ALTER PUBLICATION ${quoteIdent(publication)} SET TABLE ${list}`);
  }
}

/** Bytes of WAL the slot holds back, and its confirmed position (null if it does not exist). */
export async function slotLag(
  client: pg.Client,
  slot: string,
): Promise<{ lagBytes: number; confirmed: string } | null> {
  const res = await client.query<{ lag: string; confirmed: string }>(
    `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint AS lag, confirmed_flush_lsn::text AS confirmed
       FROM pg_replication_slots WHERE slot_name = ${quoteLiteral(slot)}`,
  );
  const row = res.rows[0];
  return row ? { lagBytes: Number(row.lag), confirmed: row.confirmed } : null;
}

/** The slot's confirmed position and whether the server still holds the WAL after it (null: no such slot). */
export async function slotState(
  client: pg.Client,
  slot: string,
): Promise<{ confirmed: bigint | null; lost: boolean } | null> {
  const res = await client.query<{ confirmed: string | null; wal_status: string | null }>(
    "SELECT confirmed_flush_lsn::text AS confirmed, wal_status FROM pg_replication_slots WHERE slot_name = $1",
    [slot],
  );
  const row = res.rows[0];
  if (!row) return null;
  return { confirmed: row.confirmed ? parseLsn(row.confirmed) : null, lost: row.wal_status === "lost" };
}
