// The initial snapshot: every captured table read in the slot's exported snapshot, as `op: r` events (the
// last row of each table marked `snapshot: "last"`), with progress reported per chunk. Memory is bounded by
// one chunk plus the sink's buffer (it waits for Kafka before reading on).
import type pg from "pg";
import type { OrderedProducer } from "../../lib/kafka/index.ts";
import type { EventWriter } from "../../protocol/event-writer.ts";
import { estimatedRows, relationFromCatalog } from "./catalog.ts";
import type { Relation } from "./pgoutput.ts";
import { envelope, keyOf, textRowToRow, type TableMapping } from "./row-mapping.ts";
import { readTable } from "./snapshot.ts";

export interface SnapshotProgress {
  rowsDone: number;
  rowsEstimated: number;
  table: string | null;
}

export interface InitialSnapshotOptions {
  client: pg.Client;
  source: string;
  db: string;
  tables: { schema: string; table: string }[];
  /** Skipped (outbox tables are routed, not snapshotted). */
  skip: Set<string>;
  consistentPoint: bigint;
  mapRelation: (relation: Relation) => Promise<TableMapping | null>;
  writer: EventWriter;
  sink: OrderedProducer;
  chunkRows: number;
  nowMicros: bigint;
  onProgress: (p: SnapshotProgress) => void;
  onEvents: (table: string, n: number) => void;
  signal: AbortSignal;
}

export async function runInitialSnapshot(o: InitialSnapshotOptions): Promise<void> {
  const tables = o.tables.filter((t) => !o.skip.has(`${t.schema}.${t.table}`));
  let estimated = 0;
  for (const t of tables) estimated += await estimatedRows(o.client, t.schema, t.table);
  let done = 0;
  for (const t of tables) {
    const mapping = await o.mapRelation(await relationFromCatalog(o.client, t.schema, t.table));
    if (!mapping) continue;
    o.onProgress({ rowsDone: done, rowsEstimated: Math.max(estimated, done), table: mapping.qualified });
    const ctx = {
      source: o.source,
      db: o.db,
      tsMicros: o.nowMicros,
      xid: null,
      lsn: o.consistentPoint,
      transaction: null,
    };
    const keyColumns = mapping.keyIndexes.map((i) => mapping.columnNames[i] as string);
    // One row is held back so the table's last row can be marked "last".
    let pending: Record<string, unknown> | null = null;
    const flush = (flag: "true" | "last"): void => {
      if (!pending) return;
      o.writer.write(
        mapping.shape.topic,
        keyOf(mapping, pending),
        envelope(mapping, "r", null, pending, { ...ctx, snapshot: flag }),
      );
      pending = null;
    };
    for await (const chunk of readTable(
      o.client,
      t.schema,
      t.table,
      mapping.columnNames,
      keyColumns,
      o.chunkRows,
    )) {
      if (o.signal.aborted) throw new Error("snapshot aborted");
      for (const values of chunk) {
        flush("true");
        pending = textRowToRow(mapping, values);
      }
      done += chunk.length;
      o.onEvents(mapping.qualified, chunk.length);
      o.onProgress({ rowsDone: done, rowsEstimated: Math.max(estimated, done), table: mapping.qualified });
      await o.sink.waitForCapacity();
    }
    flush("last");
  }
  await o.sink.flush();
}
