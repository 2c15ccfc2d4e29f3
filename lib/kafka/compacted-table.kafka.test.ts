// CompactedTable against the real broker: replay to the high watermark at start, tail, caughtUp() for the high
// watermark of now, and transaction markers (committed and aborted, also as the last thing in a partition)
// that must not stall either wait; a relaxed tail pace (setTailPace).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaConnection, uniqueName } from "../../test/support/stack.ts";
import { createAdmin, type PlatformaticAdmin } from "./admin.ts";
import { createCompactedTable, type CompactedTable } from "./compacted-table.ts";
import type { KafkaConfig } from "./config.ts";
import type { InRecord } from "./messages.ts";
import { produce, produceTransaction, testProducer, text } from "./reading-testing.ts";

let config: KafkaConfig;
let admin: PlatformaticAdmin;
const topics: string[] = [];
const tables: CompactedTable[] = [];

beforeAll(() => {
  config = { ...kafkaConnection(), clientId: uniqueName("table-test") };
  admin = createAdmin(config);
});

afterAll(async () => {
  await Promise.all(tables.map((t) => t.stop()));
  await admin.deleteTopics(topics);
  await admin.close();
});

async function compactedTopic(partitions: number): Promise<string> {
  const name = uniqueName("table");
  topics.push(name);
  await admin.ensureTopics([{ topic: name, partitions, compact: true }]);
  return name;
}

/** The table's view: key → value per the last record of each key (tombstones delete). */
function table(topic: string): { table: CompactedTable; state: Map<string, string>; records: InRecord[] } {
  const state = new Map<string, string>();
  const records: InRecord[] = [];
  const t = createCompactedTable(config, {
    topic,
    onRecord: (r) => {
      records.push(r);
      const key = text(r.key)!;
      if (r.value === null) state.delete(key);
      else state.set(key, r.value.toString());
    },
  });
  tables.push(t);
  return { table: t, state, records };
}

describe("CompactedTable", () => {
  it("replays to the high watermark at start, then tails; caughtUp() covers what was written before it", async () => {
    const topic = await compactedTopic(2);
    await produce(config, [
      { topic, partition: 0, key: "a", value: "1" },
      { topic, partition: 1, key: "b", value: "1" },
      { topic, partition: 0, key: "a", value: "2" },
      { topic, partition: 1, key: "c", value: "1" },
      { topic, partition: 1, key: "c", value: null },
    ]);
    const tx = testProducer(config, uniqueName("tx"));
    try {
      await produceTransaction(tx, [{ topic, partition: 0, key: "d", value: "committed" }], "commit");
      // The last thing in partition 1 is an aborted transaction and its marker: nothing to hand over up to the end.
      await produceTransaction(tx, [{ topic, partition: 1, key: "e", value: "aborted" }], "abort");

      const { table: t, state, records } = table(topic);
      await t.start();
      // Everything below the high watermark at start, without waiting for more.
      expect(Object.fromEntries(state)).toEqual({ a: "2", b: "1", d: "committed" });
      expect(records.map((r) => text(r.value))).not.toContain("aborted");
      const ends = await admin.offsets(topic, { isolation: "read_committed" });
      expect(t.position).toEqual(new Map([...ends].map(([p, o]) => [p, o.high])));
      // partition 0: a, a, d + marker; partition 1: b, c, c(tombstone), e + marker.
      expect(t.position).toEqual(
        new Map([
          [0, 4n],
          [1, 5n],
        ]),
      );

      // Tail: written after start, handed over by the time caughtUp() resolves.
      await produce(config, [
        { topic, partition: 1, key: "b", value: "2" },
        { topic, partition: 0, key: "a", value: null },
      ]);
      await produceTransaction(tx, [{ topic, partition: 0, key: "f", value: "late" }], "commit");
      // Straight after commit() the commit marker may still be on its way: caughtUp() waits for it.
      await t.caughtUp(10_000);
      expect(Object.fromEntries(state)).toEqual({ b: "2", d: "committed", f: "late" });
      expect(t.position).toEqual(
        new Map([
          [0, 7n],
          [1, 6n],
        ]),
      );

      // Nothing new: resolves at once.
      await t.caughtUp(1_000);

      await t.stop();
      await expect(t.caughtUp(1_000)).rejects.toMatchObject({ code: "MESH_KAFKA_CLOSED" });
    } finally {
      await tx.close();
    }
  });

  it("starts past an open transaction, and caughtUp() waits for it to end", async () => {
    const topic = await compactedTopic(1);
    const tx = testProducer(config, uniqueName("tx"));
    try {
      await produce(config, [{ topic, partition: 0, key: "a", value: "1" }]);
      const open = await tx.beginTransaction();
      await open.send({
        messages: [{ topic, partition: 0, key: Buffer.from("b"), value: Buffer.from("1") }],
      });
      const { table: t, state } = table(topic);
      await t.start();
      expect(Object.fromEntries(state)).toEqual({ a: "1" });
      await expect(t.caughtUp(300)).rejects.toMatchObject({ code: "MESH_KAFKA_TIMEOUT", retryable: true });
      const waiting = t.caughtUp(10_000);
      await open.commit();
      await waiting;
      expect(Object.fromEntries(state)).toEqual({ a: "1", b: "1" });
    } finally {
      await tx.close();
    }
  });

  it("starts on an empty topic at once", async () => {
    const topic = await compactedTopic(3);
    const { table: t, records } = table(topic);
    await t.start();
    expect(records).toHaveLength(0);
    expect(t.position).toEqual(
      new Map([
        [0, 0n],
        [1, 0n],
        [2, 0n],
      ]),
    );
    await produce(config, [{ topic, partition: 2, key: "x", value: "1" }]);
    await t.caughtUp(10_000);
    expect(records.map((r) => [r.partition, r.offset, text(r.value)])).toEqual([[2, 0n, "1"]]);
  });

  it("a relaxed tail holds each fetch for its pace, still hands everything over, and caughtUp() still ends", async () => {
    const topic = await compactedTopic(1);
    const { table: t, state } = table(topic);
    await t.start();
    t.setTailPace({ minBytes: 1024 * 1024, maxWaitMs: 1_000 });
    // The fetch parked before the change answers at the first record; the next ones take the pace.
    await produce(config, [{ topic, partition: 0, key: "a", value: "1" }]);
    await t.caughtUp(10_000);
    await produce(config, [{ topic, partition: 0, key: "b", value: "1" }]);
    const sent = performance.now();
    await t.caughtUp(10_000);
    // Held by the broker until maxWaitMs was over (less than minBytes arrived): not handed over at once.
    expect(performance.now() - sent).toBeGreaterThanOrEqual(300);
    expect(Object.fromEntries(state)).toEqual({ a: "1", b: "1" });
    t.setTailPace(undefined);
    await produce(config, [{ topic, partition: 0, key: "c", value: "1" }]);
    await t.caughtUp(10_000);
    expect(Object.fromEntries(state)).toEqual({ a: "1", b: "1", c: "1" });
  });
});
