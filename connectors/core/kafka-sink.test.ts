// Ack tracking and ordering of the sink with a recording producer (the Kafka behaviour itself is covered by
// the integration tests against the real broker).
import type { Producer, ProducerBatch } from "kafkajs";
import { describe, expect, it } from "vitest";
import { KafkaSink } from "./kafka-sink.ts";

function recordingProducer(): {
  producer: Producer;
  batches: ProducerBatch[];
  release: () => void;
  fail: (err: Error) => void;
} {
  const batches: ProducerBatch[] = [];
  let pending: { resolve: () => void; reject: (e: Error) => void }[] = [];
  const producer = {
    sendBatch: (batch: ProducerBatch) => {
      batches.push(batch);
      return new Promise<[]>((resolve, reject) => pending.push({ resolve: () => resolve([]), reject }));
    },
  } as unknown as Producer;
  return {
    producer,
    batches,
    release: () => {
      const p = pending;
      pending = [];
      for (const x of p) x.resolve();
    },
    fail: (err) => {
      const p = pending;
      pending = [];
      for (const x of p) x.reject(err);
    },
  };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("KafkaSink", () => {
  it("keeps one batch in flight, in enqueue order per topic, and reports acks as a prefix", async () => {
    const rec = recordingProducer();
    const sink = new KafkaSink({ producer: rec.producer, maxBatchBytes: 300 });
    const acks: number[] = [];
    sink.onAck((s) => acks.push(s));
    const seqs = ["a", "b", "c", "d"].map((v) =>
      sink.enqueue({ topic: "t", key: Buffer.from("k"), value: Buffer.from(v) }),
    );
    expect(seqs).toEqual([1, 2, 3, 4]);
    expect(rec.batches).toHaveLength(1);
    expect(sink.ackedSeq).toBe(0);
    const done = sink.whenAcked(4);
    rec.release();
    await tick();
    expect(sink.ackedSeq).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 4 && sink.ackedSeq < 4; i++) {
      rec.release();
      await tick();
    }
    await done;
    expect(acks[acks.length - 1]).toBe(4);
    const values = rec.batches.flatMap(
      (b) => b.topicMessages?.flatMap((t) => t.messages.map((m) => String(m.value))) ?? [],
    );
    expect(values).toEqual(["a", "b", "c", "d"]);
  });

  it("fails every waiter and refuses more once a batch fails for good", async () => {
    const rec = recordingProducer();
    const sink = new KafkaSink({ producer: rec.producer });
    const failures: Error[] = [];
    sink.onFailure((e) => failures.push(e));
    sink.enqueue({ topic: "t", key: null, value: Buffer.from("x") });
    const waiting = sink.flush();
    rec.fail(new Error("broker gone"));
    await expect(waiting).rejects.toThrow("broker gone");
    expect(failures).toHaveLength(1);
    expect(() => sink.enqueue({ topic: "t", key: null, value: null })).toThrow("broker gone");
    expect(sink.ackedSeq).toBe(0);
  });
});
