// The initial snapshot: every captured table of a backend's consistent read written as `op: r` events (the
// last row of each table marked `snapshot: "last"`), with progress reported per chunk. Memory is bounded by
// one chunk plus the producer's buffer (it waits for Kafka before reading on).
import type { OrderedProducer, OutMessage } from "../../lib/kafka/index.ts";
import type { Envelope } from "../../protocol/envelope.ts";
import type { EventWriter } from "../../protocol/event-writer.ts";
import type { PositionCodec, Row, SnapshotRead, SourceTable } from "./backend.ts";
import { envelope, keyOf, type EventContext, type SourceIdentity } from "./events.ts";

export interface SnapshotProgress {
  rowsDone: number;
  rowsEstimated: number;
  table: string | null;
}

export interface InitialSnapshotOptions<P> {
  read: SnapshotRead<P>;
  source: SourceIdentity;
  positions: PositionCodec<P>;
  /** Skipped (outbox tables are routed, not snapshotted). */
  skip: ReadonlySet<string>;
  /** Registers a table's schemas; false when the table is stopped (skipped). */
  useTable: (table: SourceTable) => Promise<boolean>;
  writer: EventWriter;
  sink: OrderedProducer;
  chunkRows: number;
  nowMicros: bigint;
  /**
   * Exactly-once: the record that marks the snapshot done at its position, committed with its last rows.
   * (Each chunk is a boundary too, so transactions stay small; a crash mid-snapshot snapshots again.)
   */
  doneRecord?: OutMessage | undefined;
  onProgress: (p: SnapshotProgress) => void;
  onEvents: (table: string, n: number) => void;
  signal: AbortSignal;
}

export async function runInitialSnapshot<P>(o: InitialSnapshotOptions<P>): Promise<void> {
  const tables = o.read.tables.filter((t) => !o.skip.has(t.table.qualified));
  const estimated = tables.reduce((n, t) => n + t.estimatedRows, 0);
  const coordinates = o.positions.coordinates(o.read.position);
  let done = 0;
  for (const { table } of tables) {
    if (!(await o.useTable(table))) continue;
    o.onProgress({ rowsDone: done, rowsEstimated: Math.max(estimated, done), table: table.qualified });
    const topic = table.shape.topic;
    // Every row of a table shares its envelope but for `after` (and the last row's flag): one envelope per
    // flag, refilled per row. The writer encodes synchronously and keeps nothing of it.
    const envelopeOf = (snapshot: "true" | "last"): Envelope =>
      envelope(o.source, table, "r", null, null, {
        snapshot,
        tsMicros: o.nowMicros,
        txId: null,
        coordinates,
        transaction: null,
      } satisfies EventContext);
    const shared = { true: envelopeOf("true"), last: envelopeOf("last") };
    // One row is held back so the table's last row can be marked "last".
    let pending: Row | null = null;
    const emit = (flag: "true" | "last"): void => {
      if (!pending) return;
      const event = shared[flag];
      event.after = pending;
      o.writer.write(topic, keyOf(table, pending), event);
      event.after = null;
      pending = null;
    };
    for await (const chunk of o.read.rows(table, o.chunkRows)) {
      if (o.signal.aborted) throw new Error("snapshot aborted");
      for (const row of chunk) {
        emit("true");
        pending = row;
      }
      done += chunk.length;
      o.onEvents(table.qualified, chunk.length);
      o.onProgress({ rowsDone: done, rowsEstimated: Math.max(estimated, done), table: table.qualified });
      o.sink.boundary();
      await o.sink.waitForCapacity();
    }
    emit("last");
  }
  o.sink.boundary(o.doneRecord);
  await o.sink.flush();
}
