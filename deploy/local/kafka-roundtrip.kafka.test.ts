// The local Kafka works end to end through lib/kafka: acks=all idempotent sends, a consumer group that deals the
// partitions (the group coordinator is up), and a reader that returns every record in per-key order.
import { afterAll, describe, expect, it } from "vitest";
import type { InRecord } from "../../lib/kafka/index.ts";
import { kafka, uniqueName } from "../../test/support/stack.ts";

describe("local Kafka (KRaft)", () => {
  const client = kafka();
  const topic = uniqueName("roundtrip");
  const groupId = uniqueName("g");
  const admin = client.admin();

  afterAll(async () => {
    await admin.deleteTopics([topic]).catch(() => undefined);
  });

  it("acknowledges with acks=all and returns the same records to a consumer group", async () => {
    await admin.ensureTopics([{ topic, partitions: 3 }]);
    const sent = Array.from({ length: 30 }, (_, i) => ({ topic, key: `k${i % 5}`, value: `v${i}` }));
    const delivered = await client.producer().send(sent);
    expect(delivered).toHaveLength(sent.length);
    expect(delivered.every((d) => d.topic === topic && d.offset >= 0n)).toBe(true);

    let assigned: Map<string, number[]> | undefined;
    const member = client.groupMember({
      groupId,
      topics: [topic],
      protocol: "roundtrip",
      userData: () => Buffer.alloc(0),
      assign: (members, partitions) =>
        new Map(
          members.map((m, i) => [
            m.memberId,
            new Map([...partitions].map(([t, ps]) => [t, ps.filter((p) => p % members.length === i)])),
          ]),
        ),
      onAssignment: (assignment) => (assigned = assignment),
    });
    await member.start();
    const partitions = assigned?.get(topic) ?? [];
    expect(partitions.sort()).toEqual([0, 1, 2]);

    const reader = client.reader();
    await reader.assign(partitions.map((partition) => ({ topic, partition, offset: "earliest" as const })));
    const received: InRecord[] = [];
    const reading = new AbortController();
    for await (const batch of reader.batches(reading.signal)) {
      received.push(...batch.records);
      if (received.length >= sent.length) reading.abort();
    }
    await reader.close();
    await member.stop();
    await admin.deleteGroups([groupId]);

    const texts = received.map((r) => ({ key: r.key!.toString(), value: r.value!.toString() }));
    expect(texts.map((r) => r.value).sort()).toEqual(sent.map((s) => s.value).sort());
    // Order per key is kept: each key's values arrive in the order they were produced.
    for (const key of ["k0", "k1", "k2", "k3", "k4"]) {
      expect(texts.filter((r) => r.key === key).map((r) => r.value)).toEqual(
        sent.filter((s) => s.key === key).map((s) => s.value),
      );
    }
  });
});
