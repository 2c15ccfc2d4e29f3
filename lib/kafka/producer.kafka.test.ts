// The producer against the real broker: offsets it reports are where the messages are, keyed messages land
// where Java's partitioner puts them, and transactions are all-or-nothing to a read_committed reader.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isMeshError } from "../errors.ts";
import { kafkaConnection, uniqueName } from "../../test/support/stack.ts";
import { createAdmin, type PlatformaticAdmin } from "./admin.ts";
import type { KafkaConfig } from "./config.ts";
import { partitionFor } from "./partitioner.ts";
import { createProducer } from "./producer.ts";
import { createReader } from "./reader.ts";
import { readBack } from "./testing.ts";

let config: KafkaConfig;
let admin: PlatformaticAdmin;
const topics: string[] = [];

async function topic(partitions = 3): Promise<string> {
  const name = uniqueName("producer");
  topics.push(name);
  await admin.ensureTopics([{ topic: name, partitions }]);
  return name;
}

beforeAll(() => {
  config = { ...kafkaConnection(), clientId: uniqueName("producer-test") };
  admin = createAdmin(config);
});

afterAll(async () => {
  await admin.deleteTopics(topics);
  await admin.close();
});

describe("Producer", () => {
  it("reports the offset of every message, places keys like Java and honours explicit partitions", async () => {
    const t = await topic(3);
    const producer = createProducer(config);
    try {
      const messages = Array.from({ length: 60 }, (_, i) => ({
        topic: t,
        key: `k${i % 17}`,
        value: i % 10 === 9 ? null : Buffer.from(`v${i}`),
        headers: { h: `x${i}` },
      }));
      const first = await producer.send(messages);
      const second = await producer.send([{ topic: t, key: "k1", value: "pinned", partition: 2 }]);
      expect(second[0]?.partition).toBe(2);
      for (const [i, d] of first.entries())
        expect(d.partition).toBe(partitionFor(Buffer.from(`k${i % 17}`), 3));

      const read = await readBack(config, t, (r) => r.length >= 61);
      const at = new Map(read.map((r) => [`${r.partition}/${r.offset}`, r]));
      for (const [i, d] of first.entries()) {
        const r = at.get(`${d.partition}/${d.offset}`);
        expect(r?.key?.toString()).toBe(`k${i % 17}`);
        expect(r?.value === null ? null : r?.value?.toString()).toBe(i % 10 === 9 ? null : `v${i}`);
        expect(r?.headers.get("h")).toBe(`x${i}`);
      }
      expect(at.get(`2/${second[0]?.offset}`)?.value?.toString()).toBe("pinned");
    } finally {
      await producer.close();
    }
  });

  it("fails with MESH_KAFKA_TOPIC_MISSING for a topic that does not exist, and a partition out of range", async () => {
    const t = await topic(2);
    const producer = createProducer(config);
    try {
      const missing = await producer
        .send([{ topic: uniqueName("absent"), key: "k", value: "v" }])
        .catch((e: unknown) => e);
      expect(isMeshError(missing) && missing.code).toBe("MESH_KAFKA_TOPIC_MISSING");
      const outOfRange = await producer
        .send([{ topic: t, key: "k", value: "v", partition: 2 }])
        .catch((e: unknown) => e);
      expect(isMeshError(outOfRange) && outOfRange.code).toBe("MESH_KAFKA_TOPIC_MISCONFIGURED");
    } finally {
      await producer.close();
    }
  });

  it("makes a committed transaction visible and an aborted one invisible to a read_committed reader", async () => {
    const t = await topic(3);
    const producer = createProducer(config, { transactionalId: uniqueName("tx") });
    try {
      const committed = await producer.transaction(async (tx) => {
        await tx.send([{ topic: t, key: "a", value: "committed-1" }]);
        await tx.send([{ topic: t, key: "b", value: "committed-2" }]);
        return "done";
      });
      expect(committed).toBe("done");
      const failure = new Error("work failed");
      const aborted = await producer
        .transaction(async (tx) => {
          await tx.send([{ topic: t, key: "c", value: "aborted-1" }]);
          await tx.send([{ topic: t, key: "a", value: "aborted-2" }]);
          throw failure;
        })
        .catch((e: unknown) => e);
      expect(aborted).toBe(failure);
      await producer.transaction((tx) => tx.send([{ topic: t, key: "z", value: "last" }]));

      const isLast = (r: { value: Buffer | null }): boolean => r.value?.toString() === "last";
      const committedView = await readBack(config, t, (rs) => rs.some(isLast), {
        isolation: "read_committed",
      });
      expect(committedView.map((r) => r.value?.toString()).sort()).toEqual([
        "committed-1",
        "committed-2",
        "last",
      ]);
      // lib/kafka's own reader agrees.
      const reader = createReader(config);
      const viaReader: string[] = [];
      try {
        await reader.assign(
          [0, 1, 2].map((partition) => ({ topic: t, partition, offset: "earliest" as const })),
        );
        for await (const batch of reader.batches(AbortSignal.timeout(20_000))) {
          viaReader.push(...batch.records.map((r) => r.value?.toString() ?? ""));
          if (viaReader.includes("last") && viaReader.length >= 3) break;
        }
      } finally {
        await reader.close();
      }
      expect(viaReader.sort()).toEqual(["committed-1", "committed-2", "last"]);
      // The aborted records are in the log all the same: a read_uncommitted reader sees them.
      const everything = await readBack(config, t, (rs) => rs.length >= 5, { isolation: "read_uncommitted" });
      expect(everything.map((r) => r.value?.toString())).toEqual(
        expect.arrayContaining(["aborted-1", "aborted-2"]),
      );
    } finally {
      await producer.close();
    }
  });

  it("fences the older of two producers with one transactional id (MESH_KAFKA_FENCED)", async () => {
    const t = await topic(1);
    const id = uniqueName("fenced");
    const older = createProducer(config, { transactionalId: id });
    const newer = createProducer(config, { transactionalId: id });
    try {
      await older.transaction((tx) => tx.send([{ topic: t, key: "k", value: "older-1" }]));
      const zombie = await older
        .transaction(async (tx) => {
          await tx.send([{ topic: t, key: "k", value: "older-2" }]);
          await newer.transaction((tx2) => tx2.send([{ topic: t, key: "k", value: "newer-1" }]));
          await tx.send([{ topic: t, key: "k", value: "older-3" }]);
        })
        .catch((e: unknown) => e);
      expect(isMeshError(zombie) && zombie.code).toBe("MESH_KAFKA_FENCED");
      // Fenced for good: no later call reaches Kafka.
      const again = await older.send([{ topic: t, key: "k", value: "older-4" }]).catch((e: unknown) => e);
      expect(isMeshError(again) && again.code).toBe("MESH_KAFKA_FENCED");
      await newer.transaction((tx) => tx.send([{ topic: t, key: "k", value: "last" }]));
      const view = await readBack(config, t, (rs) => rs.some((r) => r.value?.toString() === "last"));
      expect(view.map((r) => r.value?.toString())).toEqual(["older-1", "newer-1", "last"]);
    } finally {
      await older.close();
      await newer.close();
    }
  });
});
