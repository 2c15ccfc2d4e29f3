// The change writer over a held sink (acknowledgements exactly where the test puts them) and the real
// EventWriter: the checkpoint rule (a position is confirmed only once every message before it is
// acknowledged, never past a transaction still waiting), the source lag (only source transactions count,
// never the connector's own writes), key changes as delete + create, re-snapshot rows at the high
// watermark, outbox routing and a stopped table freezing the position.
import { describe, expect, it } from "vitest";
import type { TableShape } from "../../protocol/envelope.ts";
import { EventWriter } from "../../protocol/event-writer.ts";
import { decodeEnvelope, decodeMarker } from "../../protocol/wire.ts";
import type { PositionCodec, SourceTable, StreamEvent } from "./backend.ts";
import { ChangeWriter } from "./change-writer.ts";
import { keyText } from "./events.ts";
import { HeldSink, memoryRegistry } from "./test-support/memory-pipeline.ts";
import { WatermarkWindow } from "./watermark-window.ts";

const positions: PositionCodec<bigint> = {
  compare: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
  serialize: String,
  parse: BigInt,
  coordinates: (lsn) => ({ lsn, file: null, pos: null, gtid: null }),
};

const shape: TableShape = {
  topic: "s.public.t",
  columns: [
    { name: "id", type: "long" },
    { name: "v", type: "string" },
  ],
  key: ["id"],
};
const table: SourceTable = { schema: "public", table: "t", qualified: "public.t", shape };
const outboxTable: SourceTable = {
  schema: "public",
  table: "outbox",
  qualified: "public.outbox",
  shape: { topic: "s.public.outbox", columns: shape.columns, key: ["id"] },
};

async function setup(o: { refuse?: (subject: string) => boolean } = {}) {
  const sink = new HeldSink();
  const registry = memoryRegistry(o.refuse);
  const writer = new EventWriter({ source: "s", sink, registry: registry.registrar, partitions: () => 3 });
  await writer.prepareMarkers();
  const confirmed: bigint[] = [];
  const acked: number[] = [];
  const topics: string[] = [];
  const window = new WatermarkWindow();
  const w = new ChangeWriter<bigint>({
    source: { name: "s", connector: "postgresql", db: "db" },
    owner: "svc",
    positions,
    writer,
    sink: sink.asProducer(),
    useTable: (t) => writer.useShape(t.shape),
    outboxTables: new Set(["public.outbox"]),
    messagePrefix: "outbox",
    ensureTopic: (t) => {
      topics.push(t);
      return Promise.resolve();
    },
    window,
    confirm: (p) => void confirmed.push(p),
    onEvents: () => undefined,
    onTransactionAcked: (micros) => void acked.push(Number(micros)),
    nowMicros: () => 5n,
    confirmed: null,
  });
  const feed = async (events: StreamEvent<bigint>[]): Promise<void> => {
    for (const ev of events) await w.handle(ev);
  };
  await feed([{ kind: "schema", table }]);
  return { sink, w, confirmed, acked, feed, window, registry, topics };
}

/** A source transaction of `n` inserts starting at id `first`, committed at `end`. */
function txn(n: number, first: number, end: bigint, commitMicros = BigInt(end)): StreamEvent<bigint>[] {
  const changes: StreamEvent<bigint>[] = Array.from({ length: n }, (_, i) => ({
    kind: "change",
    table,
    op: "c",
    before: null,
    after: { id: BigInt(first + i), v: "x" },
    position: end - 1n,
  }));
  return [
    { kind: "begin", id: `tx${end}`, txId: end, commitMicros, position: end - 2n },
    ...changes,
    { kind: "commit", position: end },
  ];
}

describe("change writer: checkpoints", () => {
  it("confirms a transaction's end only once its last message is acknowledged, in order", async () => {
    const t = await setup();
    await t.feed(txn(1, 1, 100n)); // BEGIN, event, END: seqs 1..3
    await t.feed(txn(1, 2, 200n)); // 4..6
    await t.feed(txn(1, 3, 300n)); // 7..9
    t.sink.ack(2);
    expect(t.w.confirmed).toBeNull();
    t.sink.ack(5);
    expect(t.w.confirmed).toBe(100n);
    t.sink.ack(9);
    expect(t.w.confirmed).toBe(300n);
    expect(t.confirmed).toEqual([100n, 300n]);
    expect(t.acked).toEqual([100, 200, 300]);
    expect(t.w.idle).toBe(true);
  });

  it("keeps the rule over a long backlog of small transactions acknowledged in steps", async () => {
    const t = await setup();
    const count = 20_000;
    for (let i = 1; i <= count; i++) await t.feed(txn(1, i, BigInt(i) * 10n, BigInt(i)));
    for (let seq = 1; seq <= 3 * count; seq += 7) {
      t.sink.ack(seq);
      expect(t.w.confirmed).toBe(seq < 3 ? null : BigInt(Math.floor(seq / 3)) * 10n);
    }
    t.sink.ack(3 * count);
    expect(t.w.confirmed).toBe(BigInt(count) * 10n);
    expect(t.acked).toHaveLength(count);
    expect(t.acked.every((micros, i) => micros === i + 1)).toBe(true);
  });

  it("moves to a progress position only when nothing waits for Kafka", async () => {
    const t = await setup();
    await t.feed(txn(2, 1, 100n));
    await t.feed([{ kind: "progress", position: 150n }]);
    expect(t.w.confirmed).toBeNull();
    t.sink.ack();
    expect(t.w.confirmed).toBe(100n);
    await t.feed([{ kind: "progress", position: 150n }]);
    expect(t.w.confirmed).toBe(150n);
    // An empty transaction (no captured change) is confirmed once everything before it is.
    await t.feed([
      { kind: "begin", id: "e", txId: 9n, commitMicros: 1n, position: 160n },
      { kind: "commit", position: 170n },
    ]);
    expect(t.w.confirmed).toBe(170n);
  });

  it("counts only source transactions as lag, never the connector's own pending writes", async () => {
    const t = await setup();
    expect(t.w.oldestPendingCommitMicros).toBeNull();
    await t.feed([{ kind: "begin", id: "a", txId: 7n, commitMicros: 1_700n, position: 10n }]);
    expect(t.w.oldestPendingCommitMicros).toBe(1_700n);
    await t.feed([
      { kind: "change", table, op: "c", before: null, after: { id: 1n, v: "x" }, position: 20n },
      { kind: "commit", position: 30n },
    ]);
    expect(t.w.oldestPendingCommitMicros).toBe(1_700n);
    t.sink.ack();
    expect(t.w.oldestPendingCommitMicros).toBeNull();
    t.sink.enqueue({ topic: "s.heartbeat", key: null, value: null }); // a heartbeat not yet acknowledged
    expect(t.w.idle).toBe(false);
    expect(t.w.oldestPendingCommitMicros).toBeNull();
  });

  it("freezes the position while a table is stopped by an incompatible schema", async () => {
    const t = await setup({ refuse: (s) => s === "s.public.u-value" });
    const stopped: SourceTable = {
      ...table,
      table: "u",
      qualified: "public.u",
      shape: { ...shape, topic: "s.public.u" },
    };
    await t.feed([{ kind: "schema", table: stopped }]);
    await t.feed([
      { kind: "begin", id: "a", txId: 1n, commitMicros: 1n, position: 1n },
      { kind: "change", table: stopped, op: "c", before: null, after: { id: 1n, v: "x" }, position: 2n },
      { kind: "commit", position: 3n },
    ]);
    t.sink.ack();
    expect(t.w.confirmed).toBeNull();
    expect(t.sink.messages.filter((m) => m.topic === "s.public.u")).toEqual([]);
  });
});

describe("change writer: events", () => {
  it("writes a key change as delete + tombstone + create, with markers counting both", async () => {
    const t = await setup();
    await t.feed([
      { kind: "begin", id: "k", txId: 5n, commitMicros: 1_000_000n, position: 1n },
      {
        kind: "change",
        table,
        op: "u",
        before: { id: 1n, v: null },
        after: { id: 2n, v: "y" },
        position: 2n,
      },
      { kind: "commit", position: 3n },
    ]);
    const onTopic = t.sink.messages.filter((m) => m.topic === "s.public.t");
    const ops = await Promise.all(
      onTopic.map(async (m) => (m.value ? (await decodeEnvelope(t.registry.lookup, m.value)).op : null)),
    );
    expect(ops).toEqual(["d", null, "c"]);
    const end = t.sink.messages.filter((m) => m.topic === "s.transactions").at(-1)!;
    const marker = await decodeMarker(t.registry.lookup, end.value!);
    expect(marker?.event_count).toBe(2n);
  });

  it("emits a re-snapshot chunk at its high watermark, minus rows a streamed change supersedes", async () => {
    const t = await setup();
    let done = false;
    const rows = new Map([1n, 2n, 3n].map((id) => [keyText({ id }), { id, v: "snap" }]));
    t.window.set({ id: "c1", table, rows, visible: (tx) => tx !== 42n, setAt: 0, done: () => (done = true) });
    await t.feed([{ kind: "watermark", chunk: "c1", edge: "low", position: 10n }]);
    await t.feed(txn(1, 2, 20n)); // visible to the read: its row is already in the chunk
    await t.feed([
      { kind: "begin", id: "inv", txId: 42n, commitMicros: 1n, position: 21n },
      { kind: "change", table, op: "u", before: null, after: { id: 3n, v: "new" }, position: 22n },
      { kind: "commit", position: 23n },
    ]);
    const before = t.sink.messages.length;
    await t.feed([{ kind: "watermark", chunk: "c1", edge: "high", position: 30n }]);
    expect(done).toBe(true);
    const emitted = await Promise.all(
      t.sink.messages.slice(before).map(async (m) => await decodeEnvelope(t.registry.lookup, m.value!)),
    );
    expect(emitted.map((e) => [e.op, e.source.snapshot, (e.after as { id: bigint }).id])).toEqual([
      ["r", "incremental", 1n],
      ["r", "incremental", 2n],
    ]);
    t.sink.ack();
    expect(t.w.confirmed).toBe(30n);
  });

  it("routes outbox inserts and prefixed messages, and nothing for other outbox changes", async () => {
    const t = await setup();
    await t.feed([{ kind: "schema", table: outboxTable }]);
    const row = { id: 1n, v: "x", aggregatetype: "order", aggregateid: "o-1", type: "placed", payload: "{}" };
    await t.feed([
      { kind: "begin", id: "o", txId: 3n, commitMicros: 1n, position: 1n },
      { kind: "change", table: outboxTable, op: "c", before: null, after: row, position: 2n },
      { kind: "change", table: outboxTable, op: "d", before: row, after: null, position: 2n },
      { kind: "commit", position: 3n },
      {
        kind: "message",
        prefix: "outbox",
        content: Buffer.from(
          JSON.stringify({ id: "m", aggregatetype: "order", aggregateid: "o-2", type: "t" }),
        ),
        transactional: false,
        position: 4n,
      },
    ]);
    const routed = t.sink.messages.filter((m) => m.topic === "svc.order");
    expect(routed.map((m) => m.key?.toString())).toEqual(["o-1", "o-2"]);
    expect(t.topics).toEqual(["svc.order", "svc.order"]);
    expect(t.sink.messages.some((m) => m.topic === "s.public.outbox")).toBe(false);
    t.sink.ack();
    expect(t.w.confirmed).toBe(4n);
  });
});
