// The OrderedProducer against the real broker: with several lanes in flight, every partition holds its
// messages in enqueue order, keys land where Java's partitioner puts them, acknowledgements come in seq
// order; a refused message fails the producer for good without acknowledging any seq at or after it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isMeshError } from "../errors.ts";
import { kafkaConnection, uniqueName } from "../../test/support/stack.ts";
import { createAdmin, type PlatformaticAdmin } from "./admin.ts";
import type { KafkaConfig } from "./config.ts";
import { createOrderedProducer } from "./ordered-producer.ts";
import { partitionFor } from "./partitioner.ts";
import { readBack } from "./testing.ts";

let config: KafkaConfig;
let admin: PlatformaticAdmin;
const topics: string[] = [];

async function topic(partitions: number): Promise<string> {
  const name = uniqueName("ordered");
  topics.push(name);
  await admin.ensureTopics([{ topic: name, partitions }]);
  return name;
}

beforeAll(() => {
  config = { ...kafkaConnection(), clientId: uniqueName("ordered-test") };
  admin = createAdmin(config);
});

afterAll(async () => {
  await admin.deleteTopics(topics);
  await admin.close();
});

describe("OrderedProducer", () => {
  it("keeps enqueue order per partition and acknowledges seqs in order, with several lanes in flight", async () => {
    const [a, b] = [await topic(3), await topic(4)];
    // Small batches and a small buffer: many requests, lanes overlapping, the reader held back often.
    const producer = createOrderedProducer(config, {
      lanes: 3,
      maxBatchBytes: 8 * 1024,
      maxBufferedBytes: 64 * 1024,
    });
    const acks: number[] = [];
    producer.onAck((seq) => acks.push(seq));
    const expected = new Map<string, number[]>(); // "topic/partition" -> seqs in enqueue order
    const perTopic = new Map<string, number>();
    const count = 12_000;
    try {
      for (let i = 0; i < count; i++) {
        const t = i % 3 === 0 ? b : a;
        const key = i % 50 === 7 ? null : `key-${(i * 7919) % 997}`;
        const pinned = i % 101 === 0 ? { partition: 1 } : {};
        const seq = producer.enqueue({ topic: t, key, value: `${i + 1}`, ...pinned });
        expect(seq).toBe(i + 1);
        perTopic.set(t, (perTopic.get(t) ?? 0) + 1);
        if (key !== null && pinned.partition === undefined) {
          const p = partitionFor(Buffer.from(key), t === a ? 3 : 4);
          const list = expected.get(`${t}/${p}`) ?? [];
          list.push(seq);
          expected.set(`${t}/${p}`, list);
        }
        await producer.waitForCapacity();
      }
      expect(producer.lastSeq).toBe(count);
      await producer.flush();
      expect(producer.ackedSeq).toBe(count);
      expect(producer.error).toBeNull();
      expect(acks.at(-1)).toBe(count);
      for (let i = 1; i < acks.length; i++) expect(acks[i]).toBeGreaterThan(acks[i - 1] as number);

      for (const [t, partitions] of [[a, 3] as const, [b, 4] as const]) {
        const want = perTopic.get(t) ?? 0;
        const read = await readBack(config, t, (r) => r.length >= want);
        expect(read.length).toBe(want);
        for (let p = 0; p < partitions; p++) {
          const seqs = read
            .filter((r) => r.partition === p)
            .sort((x, y) => (x.offset < y.offset ? -1 : 1))
            .map((r) => Number(r.value?.toString()));
          // The whole partition (keyed, keyless and pinned alike) is in enqueue order ...
          for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1] as number);
          // ... and every keyed message is in the partition Java's partitioner chose.
          const keyed = new Set(expected.get(`${t}/${p}`));
          expect(seqs.filter((s) => keyed.has(s))).toEqual(expected.get(`${t}/${p}`) ?? []);
        }
      }
    } finally {
      await producer.close();
    }
  });

  it("fails for good on a refused message: no seq at or after it is acknowledged, waiters reject", async () => {
    const t = await topic(3);
    const producer = createOrderedProducer(config, { lanes: 3, maxBatchBytes: 4 * 1024 });
    const failures: Error[] = [];
    producer.onFailure((err) => failures.push(err));
    try {
      for (let i = 0; i < 300; i++)
        producer.enqueue({ topic: t, key: null, value: `before-${i}`, partition: i % 3 });
      // Over the broker's message.max.bytes (1 MB): refused, not retried.
      const bad = producer.enqueue({ topic: t, key: null, value: Buffer.alloc(1_200_000, 1), partition: 0 });
      for (let i = 0; i < 300; i++)
        producer.enqueue({ topic: t, key: null, value: `after-${i}`, partition: 1 + (i % 2) });
      const err = await producer.flush().catch((e: unknown) => e);
      expect(isMeshError(err) && err.code).toBe("MESH_KAFKA_REJECTED");
      expect(failures).toEqual([err]);
      expect(producer.error).toBe(err);
      expect(producer.ackedSeq).toBeLessThan(bad);
      // Later sends on the other lanes may complete, the acknowledged seq does not move past the failed one.
      await new Promise((r) => setTimeout(r, 300));
      expect(producer.ackedSeq).toBeLessThan(bad);
      await expect(producer.whenAcked(bad + 1)).rejects.toBe(err);
      expect(() => producer.enqueue({ topic: t, key: null, value: "x" })).toThrow(err);
    } finally {
      await producer.close();
    }
  });

  it("fails with MESH_KAFKA_TOPIC_MISSING for a topic that does not exist", async () => {
    const producer = createOrderedProducer(config);
    try {
      const seq = producer.enqueue({ topic: uniqueName("absent"), key: "k", value: "v" });
      const err = await producer.whenAcked(seq).catch((e: unknown) => e);
      expect(isMeshError(err) && err.code).toBe("MESH_KAFKA_TOPIC_MISSING");
      expect(producer.ackedSeq).toBe(0);
    } finally {
      await producer.close();
    }
  });

  it("holds the reader back above the buffer bound and rejects waiters on close", async () => {
    const t = await topic(1);
    const producer = createOrderedProducer(config, { maxBufferedBytes: 1024 });
    for (let i = 0; i < 100; i++) producer.enqueue({ topic: t, key: null, value: Buffer.alloc(100) });
    let released = false;
    const waiting = producer.waitForCapacity().then(() => (released = true));
    expect(released).toBe(false);
    await waiting;
    expect(producer.ackedSeq).toBeGreaterThan(0);
    await producer.flush();
    await producer.close();
    const closed = await producer.whenAcked(producer.lastSeq + 1).catch((e: unknown) => e);
    expect(isMeshError(closed) && closed.code).toBe("MESH_KAFKA_CLOSED");
    expect(() => producer.enqueue({ topic: t, key: null, value: "late" })).toThrow(/closed/);
  });
});
