// The change writer in exactly-once mode (a `positionRecord` given): every checkpoint is a boundary of the
// sink's Kafka transactions carrying the record of its position, so a transaction commits only whole source
// transactions and stores exactly where they end; progress between transactions commits what was written
// meanwhile (heartbeats) with its position; a stopped table keeps the stored position where it was.
import { describe, expect, it } from "vitest";
import type { OutMessage } from "../../lib/kafka/index.ts";
import type { TableShape } from "../../protocol/envelope.ts";
import { EventWriter } from "../../protocol/event-writer.ts";
import type { PositionCodec, SourceTable, StreamEvent } from "./backend.ts";
import { ChangeWriter } from "./change-writer.ts";
import { HeldSink, memoryRegistry } from "./test-support/memory-pipeline.ts";
import { WatermarkWindow } from "./watermark-window.ts";

const positions: PositionCodec<bigint> = {
  compare: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
  serialize: String,
  parse: BigInt,
  coordinates: (lsn) => ({ lsn, file: null, pos: null, gtid: null }),
};
const shape = (topic: string): TableShape => ({
  topic,
  columns: [
    { name: "id", type: "long" },
    { name: "v", type: "string" },
  ],
  key: ["id"],
});
const table: SourceTable = {
  schema: "public",
  table: "t",
  qualified: "public.t",
  shape: shape("s.public.t"),
};
const other: SourceTable = {
  schema: "public",
  table: "u",
  qualified: "public.u",
  shape: shape("s.public.u"),
};

const record = (p: bigint): OutMessage => ({ topic: "_mesh_offsets", key: "s/postgres", value: `${p}` });

async function setup(refuse: (subject: string) => boolean = () => false) {
  const sink = new HeldSink();
  const registry = memoryRegistry(refuse);
  const writer = new EventWriter({ source: "s", sink, registry: registry.registrar, partitions: () => 3 });
  await writer.prepareMarkers();
  const w = new ChangeWriter<bigint>({
    source: { name: "s", connector: "postgresql", db: "db" },
    owner: "svc",
    positions,
    writer,
    sink: sink.asProducer(),
    useTable: (t) => writer.useShape(t.shape),
    outboxTables: new Set(),
    messagePrefix: undefined,
    ensureTopic: () => Promise.resolve(),
    window: new WatermarkWindow(),
    confirm: () => undefined,
    onEvents: () => undefined,
    nowMicros: () => 5n,
    confirmed: null,
    positionRecord: record,
  });
  const feed = async (events: StreamEvent<bigint>[]): Promise<void> => {
    for (const ev of events) await w.handle(ev);
  };
  return { sink, w, writer, feed };
}

function txn(t: SourceTable, n: number, end: bigint): StreamEvent<bigint>[] {
  return [
    { kind: "begin", id: `tx${end}`, txId: end, commitMicros: end, position: end - 2n },
    ...Array.from({ length: n }, (_, i): StreamEvent<bigint> => ({
      kind: "change",
      table: t,
      op: "c",
      before: null,
      after: { id: BigInt(i), v: "x" },
      position: end - 1n,
    })),
    { kind: "commit", position: end },
  ];
}

describe("change writer: exactly-once boundaries", () => {
  it("ends every source transaction with a boundary carrying its position record", async () => {
    const t = await setup();
    await t.feed([{ kind: "schema", table }]);
    await t.feed(txn(table, 3, 100n)); // BEGIN, 3 events, END: seqs 1..5
    await t.feed(txn(table, 1, 200n)); // 6..8
    expect(t.sink.boundaries).toEqual([
      { seq: 5, record: record(100n) },
      { seq: 8, record: record(200n) },
    ]);
    // Confirmed only once the transaction holding it committed (the sink acknowledges at boundaries).
    t.sink.ack(5);
    expect(t.w.confirmed).toBe(100n);
  });

  it("commits what was written between transactions (heartbeats) with the progress position", async () => {
    const t = await setup();
    await t.feed([{ kind: "schema", table }]);
    await t.feed(txn(table, 1, 100n)); // 1..3
    t.sink.ack(3);
    t.writer.writeHeartbeat(1n, 100n); // 4: waits for a boundary
    await t.feed([{ kind: "progress", position: 150n }]);
    expect(t.sink.boundaries.at(-1)).toEqual({ seq: 4, record: record(150n) });
    expect(t.w.confirmed).toBe(100n);
    t.sink.ack(4);
    expect(t.w.confirmed).toBe(150n);
    // Progress inside a transaction is no boundary: the transaction is not whole yet.
    const n = t.sink.boundaries.length;
    const [begin, change] = txn(table, 1, 300n);
    await t.feed([begin!, change!, { kind: "progress", position: 250n }]);
    expect(t.sink.boundaries.length).toBe(n);
  });

  it("stores no position while a table is stopped (its changes are read again after a restart)", async () => {
    const t = await setup((subject) => subject.startsWith("s.public.u"));
    await t.feed([
      { kind: "schema", table },
      { kind: "schema", table: other },
    ]);
    await t.feed(txn(table, 1, 100n));
    expect(t.w.frozen).toBe(true);
    expect(t.sink.boundaries.at(-1)?.record).toBeNull();
  });
});
