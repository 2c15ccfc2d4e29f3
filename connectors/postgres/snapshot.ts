// Reads a table in primary-key order in chunks through a cursor, so memory stays bounded by one chunk
// however large the table is. Runs inside the transaction that imported the slot's exported snapshot.
import type pg from "pg";
import { qualifiedIdent, quoteIdent } from "./catalog.ts";

export async function beginSnapshotTransaction(client: pg.Client, snapshotName: string): Promise<void> {
  await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  await client.query(`SET TRANSACTION SNAPSHOT '${snapshotName.replace(/'/g, "''")}'`);
}

/** Yields chunks of rows (text values in `columns` order). */
export async function* readTable(
  client: pg.Client,
  schema: string,
  table: string,
  columns: string[],
  keyColumns: string[],
  chunkRows: number,
): AsyncGenerator<(string | null)[][]> {
  const cursor = quoteIdent(`mesh_snap_${table}`.slice(0, 60));
  const order = keyColumns.length > 0 ? ` ORDER BY ${keyColumns.map(quoteIdent).join(", ")}` : "";
  await client.query(
    `DECLARE ${cursor} NO SCROLL CURSOR FOR SELECT ${columns.map(quoteIdent).join(", ")} FROM ${qualifiedIdent(schema, table)}${order}`,
  );
  try {
    for (;;) {
      const res = await client.query<(string | null)[]>({
        text: `FETCH ${chunkRows} FROM ${cursor}`,
        rowMode: "array",
      });
      if (res.rows.length === 0) return;
      yield res.rows;
    }
  } finally {
    await client.query(`CLOSE ${cursor}`).catch(() => undefined);
  }
}
