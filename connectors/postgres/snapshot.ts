// Reads tables for the initial snapshot, in the slot's exported snapshot. One reader: a cursor in key order,
// `chunkRows` at a time. Several readers (several connections that imported the same exported snapshot): the
// table's heap is cut into block ranges read at once (TID range scans), and their chunks are handed on as
// they come, so Postgres produces the next chunks while the connector encodes this one. Memory stays bounded
// by one chunk per reader plus the one being written: a reader fetches its next chunk only once its last
// one was taken.
import type pg from "pg";
import { qualifiedIdent, quoteIdent, quoteLiteral } from "./catalog.ts";

export async function beginSnapshotTransaction(client: pg.Client, snapshotName: string): Promise<void> {
  await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  await client.query(`SET TRANSACTION SNAPSHOT '${snapshotName.replace(/'/g, "''")}'`);
}

type Chunk = (string | null)[][];

/** Yields chunks of rows (text values in `columns` order), through a cursor in key order. */
export async function* readTable(
  client: pg.Client,
  schema: string,
  table: string,
  columns: string[],
  keyColumns: string[],
  chunkRows: number,
  where = "",
): AsyncGenerator<Chunk> {
  const cursor = quoteIdent(`mesh_snap_${table}`.slice(0, 60));
  const order = keyColumns.length > 0 ? ` ORDER BY ${keyColumns.map(quoteIdent).join(", ")}` : "";
  await client.query(
    `DECLARE ${cursor} NO SCROLL CURSOR FOR SELECT ${columns.map(quoteIdent).join(", ")} FROM ${qualifiedIdent(schema, table)}${where}${order}`,
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

/** Below this many heap blocks (8 kB each) a table is read by one reader: splitting would cost more. */
export const MIN_BLOCKS_PER_READER = 256;

/** Heap blocks of a table as the snapshot sees its files (an upper bound of what a TID scan visits). */
export async function heapBlocks(client: pg.Client, schema: string, table: string): Promise<number> {
  const res = await client.query<{ blocks: string }>(
    `SELECT pg_relation_size(${quoteLiteral(qualifiedIdent(schema, table))}::regclass) / current_setting('block_size')::int AS blocks`,
  );
  return Number(res.rows[0]?.blocks ?? 0);
}

/**
 * Block ranges [from, to) cutting `blocks` into `readers` parts; the last is open-ended (null), so a row in a
 * block past the size read above is still read exactly once.
 */
export function blockRanges(blocks: number, readers: number): { from: number; to: number | null }[] {
  const n = Math.max(1, Math.min(readers, Math.floor(blocks / MIN_BLOCKS_PER_READER)));
  const step = Math.ceil(blocks / n);
  return Array.from({ length: n }, (_, i) => ({ from: i * step, to: i === n - 1 ? null : (i + 1) * step }));
}

/** The WHERE clause of one block range (a TID range scan, PG ≥ 14). */
export function tidRange(range: { from: number; to: number | null }): string {
  const lower = `ctid >= '(${range.from},0)'::tid`;
  return range.to === null ? ` WHERE ${lower}` : ` WHERE ${lower} AND ctid < '(${range.to},0)'::tid`;
}

/**
 * Reads a table with every client of `clients` at once (each in the same exported snapshot), each a block
 * range; yields chunks in the order they arrive (each row exactly once, not in key order). With one client,
 * or a small table, this is `readTable` in key order.
 */
export async function* readTableParallel(
  clients: pg.Client[],
  schema: string,
  table: string,
  columns: string[],
  keyColumns: string[],
  chunkRows: number,
): AsyncGenerator<Chunk> {
  const first = clients[0];
  if (!first) throw new Error("readTableParallel: no client");
  const ranges =
    clients.length > 1 ? blockRanges(await heapBlocks(first, schema, table), clients.length) : [];
  if (ranges.length <= 1) {
    yield* readTable(first, schema, table, columns, keyColumns, chunkRows);
    return;
  }
  const readers = ranges.map((range, i) =>
    readTable(clients[i] as pg.Client, schema, table, columns, [], chunkRows, tidRange(range)),
  );
  // One pending next() per reader: memory is one chunk per reader plus the one handed on.
  type Next = { i: number; r: IteratorResult<Chunk> };
  const pending = new Map<number, Promise<Next>>();
  const pull = (i: number): void => {
    pending.set(
      i,
      (readers[i] as AsyncGenerator<Chunk>).next().then((r) => ({ i, r })),
    );
  };
  readers.forEach((_, i) => pull(i));
  try {
    while (pending.size > 0) {
      const { i, r } = await Promise.race(pending.values());
      pending.delete(i);
      if (r.done) continue;
      pull(i);
      yield r.value;
    }
  } finally {
    // A reader left early (an abort, a failure elsewhere): close the cursors still open.
    await Promise.allSettled([...pending.values()]);
    await Promise.allSettled(readers.map((r) => r.return(undefined)));
  }
}
