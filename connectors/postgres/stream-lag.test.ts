// The source lag the status reports (session.ts: now minus StreamProcessor.oldestPendingCommitMicros): only a
// source transaction received but not yet acknowledged by Kafka counts. The connector's own writes (its
// heartbeat, sent every few seconds) never do: before the fix, a heartbeat not yet acknowledged made an idle
// source report the age of its last change as lag (29 s seen with lagBytes 0). A sink stand-in lets the test
// hold acknowledgements exactly where the race put them.
import { describe, expect, it } from "vitest";
import type { OrderedProducer } from "../../lib/kafka/index.ts";
import type { EventWriter } from "../../protocol/event-writer.ts";
import { WatermarkWindow } from "./incremental-snapshot.ts";
import { StreamProcessor } from "./stream-processor.ts";

function processor(): {
  p: StreamProcessor;
  sink: { lastSeq: number; ackedSeq: number; ack(seq: number): void };
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
  const p = new StreamProcessor({
    def: { name: "s", owner: "o", kind: "postgres", url: "postgres://x/y", tables: [], snapshot: "initial" },
    db: "y",
    writer: { failedTables: () => new Map() } as unknown as EventWriter,
    sink: sink as unknown as OrderedProducer,
    mapRelation: () => Promise.resolve(null),
    fetchColumns: () => Promise.resolve(null),
    confirm: () => undefined,
    onEvents: () => undefined,
    outboxTables: new Set(),
    window: new WatermarkWindow(),
    ensureTopic: () => Promise.resolve(),
  });
  return { p, sink };
}

describe("source lag", () => {
  it("counts only source transactions not yet acknowledged, never the connector's own pending writes", async () => {
    const { p, sink } = processor();
    expect(p.oldestPendingCommitMicros).toBeNull();
    const commitTime = 1_700_000_000_000_000n;
    await p.handle({ kind: "data", lsn: 10n, msg: { tag: "begin", finalLsn: 20n, commitTime, xid: 7 } });
    expect(p.oldestPendingCommitMicros).toBe(commitTime);
    sink.lastSeq = 3;
    await p.handle({
      kind: "data",
      lsn: 20n,
      msg: { tag: "commit", commitLsn: 20n, endLsn: 30n, commitTime },
    });
    expect(p.oldestPendingCommitMicros).toBe(commitTime);
    sink.ack(3);
    expect(p.oldestPendingCommitMicros).toBeNull();
    expect(p.confirmed).toBe(30n);
    // A heartbeat written and not yet acknowledged: the processor is not idle, yet nothing of the source waits.
    sink.lastSeq = 4;
    expect(p.idle).toBe(false);
    expect(p.oldestPendingCommitMicros).toBeNull();
  });
});
