// The PartitionReader against the real broker: positions and earliest/latest, read_committed vs
// read_uncommitted over committed and aborted transactions, per-partition order across a topic,
// OFFSET_OUT_OF_RANGE, and an idle tail that leaves the waiting to the broker.
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isMeshError } from "../errors.ts";
import { kafkaConnection, uniqueName } from "../../test/support/stack.ts";
import { createAdmin, type PlatformaticAdmin } from "./admin.ts";
import type { KafkaConfig } from "./config.ts";
import { createReader, type PartitionReader } from "./reader.ts";
import { collect, produce, produceTransaction, testProducer, text } from "./reading-testing.ts";

let config: KafkaConfig;
let admin: PlatformaticAdmin;
const topics: string[] = [];
const readers: PartitionReader[] = [];

async function topic(partitions = 1): Promise<string> {
  const name = uniqueName("reader");
  topics.push(name);
  await admin.ensureTopics([{ topic: name, partitions }]);
  return name;
}

function reader(options: Parameters<typeof createReader>[1] = {}): PartitionReader {
  const r = createReader(config, options);
  readers.push(r);
  return r;
}

beforeAll(() => {
  config = { ...kafkaConnection(), clientId: uniqueName("reader-test") };
  admin = createAdmin(config);
});

afterAll(async () => {
  await Promise.all(readers.map((r) => r.close()));
  await admin.deleteTopics(topics);
  await admin.close();
});

const values = (records: { value: Buffer | null }[]): (string | null)[] => records.map((r) => text(r.value));

describe("PartitionReader", () => {
  it("reads from earliest, from latest (resolved when assign resolves) and from an explicit offset", async () => {
    const t = await topic();
    await produce(
      config,
      [0, 1, 2, 3, 4].map((i) => ({ topic: t, partition: 0, key: `k${i}`, value: `v${i}` })),
    );

    const fromEarliest = reader();
    await fromEarliest.assign([{ topic: t, partition: 0, offset: "earliest" }]);
    const early = await collect(
      (s) => fromEarliest.batches(s),
      (r) => r.length >= 5,
    );
    expect(values(early.records)).toEqual(["v0", "v1", "v2", "v3", "v4"]);
    expect(early.records.map((r) => r.offset)).toEqual([0n, 1n, 2n, 3n, 4n]);
    expect(text(early.records[2]!.key)).toBe("k2");
    expect(early.batches.at(-1)!.nextOffset).toBe(5n);

    const fromLatest = reader();
    await fromLatest.assign([{ topic: t, partition: 0, offset: "latest" }]);
    const fromThree = reader();
    await fromThree.assign([{ topic: t, partition: 0, offset: 3n }]);
    await produce(config, [
      { topic: t, partition: 0, value: "v5" },
      { topic: t, partition: 0, value: null },
    ]);
    const late = await collect(
      (s) => fromLatest.batches(s),
      (r) => r.length >= 2,
    );
    expect(values(late.records)).toEqual(["v5", null]);
    expect(late.records.map((r) => r.offset)).toEqual([5n, 6n]);
    const three = await collect(
      (s) => fromThree.batches(s),
      (r) => r.length >= 4,
    );
    expect(values(three.records)).toEqual(["v3", "v4", "v5", null]);

    // Moving a partition: assign again at another offset; the next batch starts there.
    await fromThree.assign([{ topic: t, partition: 0, offset: 1n }]);
    const again = await collect(
      (s) => fromThree.batches(s),
      (r) => r.length >= 1,
    );
    expect(again.records[0]!.offset).toBe(1n);
  });

  it("hides aborted transactions and markers under read_committed, shows their data under read_uncommitted", async () => {
    const t = await topic();
    const tx = testProducer(config, uniqueName("tx"));
    try {
      await produceTransaction(
        tx,
        [0, 1].map((i) => ({ topic: t, partition: 0, value: `committed${i}` })),
        "commit",
      );
      await produceTransaction(
        tx,
        [0, 1, 2].map((i) => ({ topic: t, partition: 0, value: `aborted${i}` })),
        "abort",
      );
      await produceTransaction(tx, [{ topic: t, partition: 0, value: "committed2" }], "commit");
    } finally {
      await tx.close();
    }
    await produce(config, [{ topic: t, partition: 0, value: "plain" }]);
    const end = (await admin.offsets(t)).get(0)!.high;
    // 2 + marker + 3 + marker + 1 + marker + 1 plain.
    expect(end).toBe(10n);

    const committed = reader();
    await committed.assign([{ topic: t, partition: 0, offset: "earliest" }]);
    const c = await collect(
      (s) => committed.batches(s),
      (_, b) => b.at(-1)?.nextOffset === end,
    );
    expect(values(c.records)).toEqual(["committed0", "committed1", "committed2", "plain"]);
    expect(c.records.map((r) => r.offset)).toEqual([0n, 1n, 7n, 9n]);

    const uncommitted = reader({ isolation: "read_uncommitted" });
    await uncommitted.assign([{ topic: t, partition: 0, offset: "earliest" }]);
    const u = await collect(
      (s) => uncommitted.batches(s),
      (_, b) => b.at(-1)?.nextOffset === end,
    );
    expect(values(u.records)).toEqual([
      "committed0",
      "committed1",
      "aborted0",
      "aborted1",
      "aborted2",
      "committed2",
      "plain",
    ]);

    // A position inside the aborted range: nothing of it surfaces, the reader still gets past it.
    const inside = reader();
    await inside.assign([{ topic: t, partition: 0, offset: 4n }]);
    const i = await collect(
      (s) => inside.batches(s),
      (_, b) => b.at(-1)?.nextOffset === end,
    );
    expect(values(i.records)).toEqual(["committed2", "plain"]);
  });

  it("stops at an open transaction under read_committed and continues once it commits", async () => {
    const t = await topic();
    const tx = testProducer(config, uniqueName("tx"));
    try {
      await produce(config, [{ topic: t, partition: 0, value: "before" }]);
      const open = await tx.beginTransaction();
      await open.send({ messages: [{ topic: t, partition: 0, value: Buffer.from("inside") }] });
      const r = reader();
      await r.assign([{ topic: t, partition: 0, offset: "earliest" }]);
      const first = await collect(
        (s) => r.batches(s),
        (records) => records.length >= 1,
      );
      expect(values(first.records)).toEqual(["before"]);
      // The last stable offset stops at the open transaction: what the reader reports as its high watermark.
      expect(first.batches.at(-1)!.highWatermark).toBe(1n);
      await open.commit();
      const rest = await collect(
        (s) => r.batches(s),
        (records) => records.length >= 1,
      );
      expect(values(rest.records)).toEqual(["inside"]);
    } finally {
      await tx.close();
    }
  });

  it("keeps each partition's order when reading a whole topic, and unassign stops a partition", async () => {
    const t = await topic(3);
    const perPartition = 40;
    const messages = [];
    for (let i = 0; i < perPartition; i++) {
      for (let p = 0; p < 3; p++) messages.push({ topic: t, partition: p, value: `p${p}-${i}` });
    }
    // Several sends, so that partitions hold several record batches each.
    for (let i = 0; i < messages.length; i += 30) await produce(config, messages.slice(i, i + 30));

    const r = reader({ maxBytes: 2_000 });
    await r.assign([0, 1, 2].map((partition) => ({ topic: t, partition, offset: "earliest" as const })));
    const all = await collect(
      (s) => r.batches(s),
      (records) => records.length >= 3 * perPartition,
    );
    expect(all.records).toHaveLength(3 * perPartition);
    for (let p = 0; p < 3; p++) {
      const mine = all.records.filter((rec) => rec.partition === p);
      expect(values(mine)).toEqual(Array.from({ length: perPartition }, (_, i) => `p${p}-${i}`));
      expect(mine.map((rec) => rec.offset)).toEqual(
        Array.from({ length: perPartition }, (_, i) => BigInt(i)),
      );
    }
    // A small maxBytes made the reader come back several times.
    expect(all.batches.length).toBeGreaterThan(3);

    r.unassign([{ topic: t, partition: 1 }]);
    await produce(
      config,
      [0, 1, 2].map((p) => ({ topic: t, partition: p, value: `late${p}` })),
    );
    const late = await collect(
      (s) => r.batches(s),
      (records) => records.length >= 2,
    );
    expect(values(late.records).sort()).toEqual(["late0", "late2"]);
  });

  it("carries on in order when its connections drop (a broker restart, as the client sees it)", async () => {
    const t = await topic(2);
    const batch = (from: number) =>
      [0, 1].flatMap((p) =>
        Array.from({ length: 10 }, (_, i) => ({ topic: t, partition: p, value: `p${p}-${from + i}` })),
      );
    await produce(config, batch(0));
    // Every connection opened while the reader starts is the reader's own.
    const sockets: { destroy(): void }[] = [];
    const onConnect = (message: unknown): void => {
      const connection = (message as { connection?: { socket?: { destroy(): void } } }).connection;
      queueMicrotask(() => {
        if (connection?.socket) sockets.push(connection.socket);
      });
    };
    subscribe("tracing:plt:kafka:connections:connects:asyncEnd", onConnect);
    const r = reader();
    try {
      await r.assign([0, 1].map((partition) => ({ topic: t, partition, offset: "earliest" as const })));
      const first = await collect(
        (s) => r.batches(s),
        (records) => records.length >= 20,
      );
      expect(first.records).toHaveLength(20);
    } finally {
      unsubscribe("tracing:plt:kafka:connections:connects:asyncEnd", onConnect);
    }
    expect(sockets.length).toBeGreaterThan(0);
    for (const socket of sockets) socket.destroy();
    await produce(config, batch(10));
    const rest = await collect(
      (s) => r.batches(s),
      (records) => records.length >= 20,
    );
    for (const p of [0, 1]) {
      const mine = rest.records.filter((rec) => rec.partition === p);
      expect(values(mine)).toEqual(Array.from({ length: 10 }, (_, i) => `p${p}-${10 + i}`));
    }
    expect(rest.records).toHaveLength(20);
  });

  it("ends the iterator on abort and on close, and fails clearly when the offset is out of range", async () => {
    const t = await topic();
    await produce(config, [{ topic: t, partition: 0, value: "only" }]);

    const r = reader();
    await r.assign([{ topic: t, partition: 0, offset: 1000n }]);
    const err = await (async () => {
      for await (const _ of r.batches()) return null;
      return null;
    })().catch((e: unknown) => e);
    expect(isMeshError(err) && err.code).toBe("MESH_KAFKA_OFFSET_OUT_OF_RANGE");
    expect(isMeshError(err) && err.retryable).toBe(false);
    expect(isMeshError(err) && err.details).toMatchObject({ topic: t, partition: 0, offset: "1000" });

    const tail = reader();
    await tail.assign([{ topic: t, partition: 0, offset: "latest" }]);
    const controller = new AbortController();
    const ended = (async () => {
      let n = 0;
      for await (const _ of tail.batches(controller.signal)) n++;
      return n;
    })();
    controller.abort();
    expect(await ended).toBe(0);

    const closing = (async () => {
      let n = 0;
      for await (const _ of tail.batches()) n++;
      return n;
    })();
    await tail.close();
    expect(await closing).toBe(0);
    await expect(tail.assign([{ topic: t, partition: 0, offset: 0n }])).rejects.toMatchObject({
      code: "MESH_KAFKA_CLOSED",
    });
  });

  it("refuses a partition the topic does not have, and a topic that does not exist", async () => {
    const t = await topic(2);
    await expect(reader().assign([{ topic: t, partition: 2, offset: 0n }])).rejects.toMatchObject({
      code: "MESH_KAFKA_TOPIC_MISCONFIGURED",
    });
    const missing = uniqueName("missing");
    await expect(reader().assign([{ topic: missing, partition: 0, offset: 0n }])).rejects.toMatchObject({
      code: "MESH_KAFKA_TOPIC_MISSING",
      details: { topic: missing },
    });
  });

  it("leaves the waiting to the broker when there is nothing to read", async () => {
    const t = await topic();
    const r = reader({ maxWaitMs: 100 });
    await r.assign([{ topic: t, partition: 0, offset: "latest" }]);
    let fetches = 0;
    const onFetch = (): void => {
      fetches++;
    };
    // The client publishes each fetch on this diagnostics channel (start of its traced callback).
    subscribe("tracing:plt:kafka:consumer:fetches:start", onFetch);
    try {
      const idleMs = 1_000;
      const cpu = process.cpuUsage();
      let batches = 0;
      for await (const _ of r.batches(AbortSignal.timeout(idleMs))) batches++;
      const used = process.cpuUsage(cpu);
      expect(batches).toBe(0);
      // maxWaitMs 100 over 1 s: about 10 fetches; a loop polling on its own would make thousands.
      expect(fetches).toBeGreaterThan(2);
      expect(fetches).toBeLessThan(30);
      expect((used.user + used.system) / 1000).toBeLessThan(500);
    } finally {
      unsubscribe("tracing:plt:kafka:consumer:fetches:start", onFetch);
    }
  });
});
