// The checkpoint rule: the slot's position moves to a transaction's end only once every message up to its
// last one (its END marker) is acknowledged, and never past a transaction still waiting. The producer
// acknowledges a prefix of sequence numbers (lib/kafka's OrderedProducer, several requests in flight); a
// stand-in holds acknowledgements exactly where the test puts them.
import { describe, expect, it } from "vitest";
import type { OrderedProducer } from "../../lib/kafka/index.ts";
import type { EventWriter } from "../../protocol/event-writer.ts";
import { WatermarkWindow } from "./incremental-snapshot.ts";
import { StreamProcessor } from "./stream-processor.ts";

function processor(): {
  p: StreamProcessor;
  sink: { lastSeq: number; ack(seq: number): void };
  confirmed: bigint[];
  acked: number[];
} {
  const listeners: ((seq: number) => void)[] = [];
  const sink = {
    lastSeq: 0,
    ackedSeq: 0,
    onAck: (l: (seq: number) => void) => void listeners.push(l),
    ack(seq: number) {
      this.ackedSeq = seq;
      for (const l of listeners) l(seq);
    },
  };
  const confirmed: bigint[] = [];
  const acked: number[] = [];
  const p = new StreamProcessor({
    def: { name: "s", owner: "o", kind: "postgres", url: "postgres://x/y", tables: [], snapshot: "initial" },
    db: "y",
    writer: { failedTables: () => new Map() } as unknown as EventWriter,
    sink: sink as unknown as OrderedProducer,
    mapRelation: () => Promise.resolve(null),
    fetchColumns: () => Promise.resolve(null),
    confirm: (lsn) => void confirmed.push(lsn),
    onEvents: () => undefined,
    outboxTables: new Set(),
    window: new WatermarkWindow(),
    onTransactionAcked: (micros) => void acked.push(Number(micros)),
    ensureTopic: () => Promise.resolve(),
  });
  return { p, sink, confirmed, acked };
}

/** A source transaction whose messages end at `lastSeq` and whose commit ends at `endLsn`. */
async function transaction(
  t: ReturnType<typeof processor>,
  n: number,
  lastSeq: number,
  endLsn: bigint,
): Promise<void> {
  const commitTime = BigInt(n);
  await t.p.handle({
    kind: "data",
    lsn: endLsn - 1n,
    msg: { tag: "begin", finalLsn: endLsn, commitTime, xid: n },
  });
  t.sink.lastSeq = lastSeq;
  await t.p.handle({
    kind: "data",
    lsn: endLsn,
    msg: { tag: "commit", commitLsn: endLsn, endLsn, commitTime },
  });
}

describe("checkpoints", () => {
  it("confirms a transaction's end only once its last seq is acknowledged, in order", async () => {
    const t = processor();
    await transaction(t, 1, 3, 100n);
    await transaction(t, 2, 6, 200n);
    await transaction(t, 3, 9, 300n);
    t.sink.ack(2);
    expect(t.p.confirmed).toBe(0n);
    expect(t.confirmed).toEqual([]);
    t.sink.ack(5);
    expect(t.p.confirmed).toBe(100n);
    t.sink.ack(9);
    expect(t.p.confirmed).toBe(300n);
    expect(t.confirmed).toEqual([100n, 300n]);
    expect(t.acked).toEqual([1, 2, 3]);
    expect(t.p.idle).toBe(true);
  });

  it("keeps the rule over a long backlog of small transactions acknowledged in steps", async () => {
    const t = processor();
    const count = 20_000;
    for (let i = 1; i <= count; i++) await transaction(t, i, 3 * i, BigInt(i) * 10n);
    for (let seq = 1; seq <= 3 * count; seq += 7) {
      t.sink.ack(seq);
      expect(t.p.confirmed).toBe(BigInt(Math.floor(seq / 3)) * 10n);
    }
    t.sink.ack(3 * count);
    expect(t.p.confirmed).toBe(BigInt(count) * 10n);
    expect(t.acked).toHaveLength(count);
    expect(t.acked.every((micros, i) => micros === i + 1)).toBe(true);
    expect(t.p.idle).toBe(true);
  });
});
