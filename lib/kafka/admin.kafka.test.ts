// KafkaAdmin against the real broker: topics, offsets under both isolation levels, offsets for a time,
// configs, and a consumer group whose member metadata and assignment come back decoded.
import { Consumer } from "@platformatic/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isMeshError } from "../errors.ts";
import { kafkaConnection, uniqueName } from "../../test/support/stack.ts";
import { createAdmin, type PlatformaticAdmin } from "./admin.ts";
import type { KafkaConfig } from "./config.ts";
import { createProducer } from "./producer.ts";

let config: KafkaConfig;
let admin: PlatformaticAdmin;
const topics: string[] = [];

beforeAll(() => {
  config = { ...kafkaConnection(), clientId: uniqueName("admin-test") };
  admin = createAdmin(config);
});

afterAll(async () => {
  await admin.deleteTopics(topics);
  await admin.close();
});

describe("KafkaAdmin", () => {
  it("creates missing topics with their configs, keeps existing ones, and counts partitions", async () => {
    const [a, b] = [uniqueName("admin_a"), uniqueName("admin_b")];
    topics.push(a, b);
    await admin.ping();
    const created = await admin.ensureTopics([
      { topic: a, partitions: 3 },
      { topic: b, partitions: 1, compact: true, configs: { "retention.ms": "3600000" } },
    ]);
    expect(created).toEqual(
      new Map([
        [a, 3],
        [b, 1],
      ]),
    );
    // Usable right away: metadata shows the topics with leaders, so a produce succeeds at once.
    const producer = createProducer(config);
    await producer.send([{ topic: a, key: "k", value: "v" }]);
    await producer.close();
    // An existing topic keeps its partition count whatever the spec says.
    expect(await admin.ensureTopics([{ topic: a, partitions: 6 }])).toEqual(new Map([[a, 3]]));
    expect(await admin.topicConfig(b, ["cleanup.policy", "retention.ms", "no.such.config"])).toEqual({
      "cleanup.policy": "compact",
      "retention.ms": "3600000",
    });
    const absent = uniqueName("absent");
    expect(await admin.partitionCounts([a, absent, b])).toEqual(
      new Map([
        [a, 3],
        [b, 1],
      ]),
    );
    expect(await admin.listTopics()).toEqual(expect.arrayContaining([a, b]));
    const missing = await admin.offsets(absent).catch((e: unknown) => e);
    expect(isMeshError(missing) && missing.code).toBe("MESH_KAFKA_TOPIC_MISSING");
    await admin.deleteTopics([b, absent]);
    expect(await admin.partitionCounts([b])).toEqual(new Map());
  });

  it("reports low/high offsets per isolation level and offsets for a time", async () => {
    const t = uniqueName("admin_offsets");
    topics.push(t);
    await admin.ensureTopics([{ topic: t, partitions: 2 }]);
    const producer = createProducer(config);
    const tx = createProducer(config, { transactionalId: uniqueName("admin_tx") });
    try {
      await producer.send([0, 1, 2].map((i) => ({ topic: t, key: null, value: `a${i}`, partition: 0 })));
      await new Promise((r) => setTimeout(r, 20));
      const between = Date.now();
      await new Promise((r) => setTimeout(r, 20));
      await producer.send([3, 4].map((i) => ({ topic: t, key: null, value: `a${i}`, partition: 0 })));
      expect(await admin.offsets(t)).toEqual(
        new Map([
          [0, { low: 0n, high: 5n }],
          [1, { low: 0n, high: 0n }],
        ]),
      );
      expect(await admin.offsetsForTime(t, between)).toEqual(
        new Map([
          [0, 3n],
          [1, 0n],
        ]),
      );
      expect(await admin.offsetsForTime(t, Date.now() + 60_000)).toEqual(
        new Map([
          [0, 5n],
          [1, 0n],
        ]),
      );

      // An open transaction: its records count for read_uncommitted, not below the last stable offset.
      let release = (): void => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      let opened = (): void => undefined;
      const isOpen = new Promise<void>((resolve) => (opened = resolve));
      const running = tx.transaction(async (t2) => {
        await t2.send([{ topic: t, key: null, value: "open", partition: 1 }]);
        opened();
        await held;
      });
      await isOpen;
      expect((await admin.offsets(t, { isolation: "read_uncommitted" })).get(1)).toEqual({
        low: 0n,
        high: 1n,
      });
      expect((await admin.offsets(t, { isolation: "read_committed" })).get(1)).toEqual({ low: 0n, high: 0n });
      release();
      await running;
      // The commit marker takes an offset too.
      expect((await admin.offsets(t, { isolation: "read_committed" })).get(1)).toEqual({ low: 0n, high: 2n });
    } finally {
      await producer.close();
      await tx.close();
    }
  });

  it("describes a group: state, protocol, each member's userData and assignment; lists and deletes groups", async () => {
    const t = uniqueName("admin_group");
    topics.push(t);
    await admin.ensureTopics([{ topic: t, partitions: 3 }]);
    const groupId = uniqueName("admin_group");
    const consumer = new Consumer({
      clientId: "admin-test-member",
      bootstrapBrokers: config.brokers,
      ...(config.sasl ? { sasl: config.sasl } : {}),
      groupId,
      protocols: [{ name: "mesh-test", version: 1, metadata: Buffer.from("http://10.0.0.1:7070") }],
      maxWaitTime: 100,
    });
    try {
      const stream = await consumer.consume({ topics: [t], mode: "latest", autocommit: false });
      const group = await admin.describeGroup(groupId);
      expect(group.state).toBe("Stable");
      expect(group.protocol).toBe("mesh-test");
      expect(group.members).toHaveLength(1);
      const [member] = group.members;
      expect(member?.memberId).toBe(consumer.memberId);
      expect(member?.clientId).toBe("admin-test-member");
      expect(member?.userData.toString()).toBe("http://10.0.0.1:7070");
      expect(member?.assignment).toEqual(new Map([[t, [0, 1, 2]]]));
      expect(await admin.listGroups()).toContain(groupId);
      await stream.close();
    } finally {
      await consumer.close(true);
    }
    await admin.deleteGroups([groupId, uniqueName("never_existed")]);
    expect(await admin.listGroups()).not.toContain(groupId);
    expect((await admin.describeGroup(uniqueName("never_existed"))).state).toBe("Dead");
  });
});
