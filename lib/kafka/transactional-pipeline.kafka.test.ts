// The exactly-once pipeline against the real broker: read_committed readers see whole units (the messages
// between two boundaries) or nothing, each once, in enqueue order per partition, with the last boundary's
// record committed beside them; nothing is acknowledged without a boundary; a newer pipeline with the same
// transactional id fences the older and aborts what it had sent but not committed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isMeshError } from "../errors.ts";
import { kafkaConnection, uniqueName } from "../../test/support/stack.ts";
import { createAdmin, type PlatformaticAdmin } from "./admin.ts";
import type { KafkaConfig } from "./config.ts";
import { partitionFor } from "./partitioner.ts";
import { readBack } from "./testing.ts";
import { createTransactionalPipeline } from "./transactional-pipeline.ts";

let config: KafkaConfig;
let admin: PlatformaticAdmin;
const topics: string[] = [];

async function topic(partitions: number, compact = false): Promise<string> {
  const name = uniqueName("txpipe");
  topics.push(name);
  await admin.ensureTopics([{ topic: name, partitions, compact }]);
  return name;
}

beforeAll(() => {
  config = { ...kafkaConnection(), clientId: uniqueName("txpipe-test") };
  admin = createAdmin(config);
});

afterAll(async () => {
  await admin.deleteTopics(topics);
  await admin.close();
});

describe("TransactionalPipeline", () => {
  it("commits whole units with their position record, each message once and in order per partition", async () => {
    const [data, markers, positions] = [await topic(3), await topic(1), await topic(1, true)];
    // Small requests and transactions: many commits, many units spread over several requests.
    const pipeline = createTransactionalPipeline(config, {
      transactionalId: uniqueName("txid"),
      maxBatchBytes: 16 * 1024,
      maxBufferedBytes: 128 * 1024,
      lingerMs: 20,
      maxTransactionBytes: 64 * 1024,
    });
    await pipeline.init();
    const acks: number[] = [];
    pipeline.onAck((seq) => acks.push(seq));
    const expected = new Map<number, number[]>();
    let n = 0;
    let units = 0;
    try {
      while (n < 20_000) {
        // One unit: a few to a few thousand messages, then its END marker and the boundary.
        const size = units % 50 === 0 ? 3000 : 1 + ((units * 7919) % 40);
        for (let i = 0; i < size; i++) {
          const key = `k${(n * 31) % 1009}`;
          const seq = pipeline.enqueue({ topic: data, key, value: `${n}` });
          const p = partitionFor(Buffer.from(key), 3);
          expected.set(p, [...(expected.get(p) ?? []), n]);
          n++;
          expect(seq).toBe(pipeline.lastSeq);
          await pipeline.waitForCapacity();
        }
        pipeline.enqueue({ topic: markers, key: `u${units}`, value: `${size}`, partition: 0 });
        pipeline.boundary({ topic: positions, key: "pos", value: `${units}`, partition: 0 });
        units++;
      }
      await pipeline.flush();
      expect(pipeline.ackedSeq).toBe(pipeline.lastSeq);
      expect(pipeline.error).toBeNull();
      for (let i = 1; i < acks.length; i++) expect(acks[i]).toBeGreaterThan(acks[i - 1] as number);
      // Several Kafka transactions, not one per unit and not one in all.
      expect(acks.length).toBeGreaterThan(3);
      expect(acks.length).toBeLessThan(units);
    } finally {
      await pipeline.close();
    }
    const read = await readBack(config, data, (r) => r.length >= n);
    expect(read.length).toBe(n);
    for (const [p, values] of expected) {
      const got = read
        .filter((r) => r.partition === p)
        .sort((a, b) => (a.offset < b.offset ? -1 : 1))
        .map((r) => Number(r.value?.toString()));
      expect(got).toEqual(values);
    }
    const ends = await readBack(config, markers, (r) => r.length >= units);
    expect(ends.map((r) => r.key?.toString())).toEqual(Array.from({ length: units }, (_, i) => `u${i}`));
    const pos = await readBack(config, positions, (r) => r.at(-1)?.value?.toString() === `${units - 1}`);
    expect(pos.at(-1)?.value?.toString()).toBe(`${units - 1}`);
    // One position record per Kafka transaction (superseded ones are not written).
    expect(pos.length).toBeLessThanOrEqual(acks.length);
  });

  it("acknowledges nothing past the last boundary, and flush() commits only up to it", async () => {
    const data = await topic(1);
    const pipeline = createTransactionalPipeline(config, {
      transactionalId: uniqueName("txid"),
      lingerMs: 10,
    });
    try {
      for (let i = 0; i < 10; i++) pipeline.enqueue({ topic: data, key: null, value: `a${i}` });
      pipeline.boundary();
      for (let i = 0; i < 10; i++) pipeline.enqueue({ topic: data, key: null, value: `b${i}` });
      await pipeline.flush();
      expect(pipeline.ackedSeq).toBe(10);
      await new Promise((r) => setTimeout(r, 300)); // far past the linger: still no boundary, no commit
      expect(pipeline.ackedSeq).toBe(10);
      const acked = pipeline.whenAcked(20);
      pipeline.boundary();
      await acked;
      expect(pipeline.ackedSeq).toBe(20);
    } finally {
      await pipeline.close();
    }
    const read = await readBack(config, data, (r) => r.length >= 20);
    expect(read.map((r) => r.value?.toString())).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `a${i}`),
      ...Array.from({ length: 10 }, (_, i) => `b${i}`),
    ]);
  });

  it("a newer pipeline with the same id fences the older one and aborts its uncommitted messages", async () => {
    const data = await topic(1);
    const id = uniqueName("txid");
    const zombie = createTransactionalPipeline(config, { transactionalId: id, lingerMs: 60_000 });
    const successor = createTransactionalPipeline(config, { transactionalId: id });
    try {
      await zombie.init();
      zombie.enqueue({ topic: data, key: null, value: "committed" });
      zombie.boundary();
      await zombie.flush();
      // Sent (the linger keeps the transaction open) but never committed: the process "dies" here.
      zombie.enqueue({ topic: data, key: null, value: "open-1" });
      zombie.enqueue({ topic: data, key: null, value: "open-2" });
      await readBack(config, data, (r) => r.length >= 3, { isolation: "read_uncommitted" });
      await successor.init();
      successor.enqueue({ topic: data, key: null, value: "after" });
      successor.boundary();
      await successor.flush();
      // The zombie's next commit is refused for good.
      zombie.boundary();
      const err = await zombie.flush().then(
        () => null,
        (e: unknown) => e,
      );
      expect(isMeshError(err) && err.code).toBe("MESH_KAFKA_FENCED");
      expect(() => zombie.enqueue({ topic: data, key: null, value: "late" })).toThrow();
    } finally {
      await zombie.close();
      await successor.close();
    }
    const read = await readBack(config, data, (r) => r.some((x) => x.value?.toString() === "after"));
    expect(read.map((r) => r.value?.toString())).toEqual(["committed", "after"]);
  });

  it("commits a quiet source's unit at once (latency of one small unit)", async () => {
    const data = await topic(3);
    const positions = await topic(1, true);
    const pipeline = createTransactionalPipeline(config, { transactionalId: uniqueName("txid") });
    await pipeline.init();
    const times: number[] = [];
    try {
      for (let u = 0; u < 60; u++) {
        const start = performance.now();
        for (let i = 0; i < 50; i++) pipeline.enqueue({ topic: data, key: `k${i}`, value: `${u}` });
        pipeline.boundary({ topic: positions, key: "pos", value: `${u}`, partition: 0 });
        await pipeline.whenAcked(pipeline.lastSeq);
        times.push(performance.now() - start);
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      await pipeline.close();
    }
    times.sort((a, b) => a - b);
    const p50 = times[30] as number;
    console.log(
      `transactional pipeline: unit of 50 committed in p50 ${p50.toFixed(1)} ms, max ${times.at(-1)?.toFixed(1)} ms`,
    );
    // Far below the linger: a quiet source does not wait for it.
    expect(p50).toBeLessThan(100);
  });
});
