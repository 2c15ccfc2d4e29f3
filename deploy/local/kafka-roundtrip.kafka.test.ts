import { afterAll, describe, expect, it } from "vitest";
import { kafka, uniqueName } from "../../test/support/stack.ts";

describe("local Kafka (KRaft)", () => {
  const client = kafka();
  const topic = uniqueName("roundtrip");
  const admin = client.admin();

  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it("acknowledges with acks=all and returns the same records to a consumer group", async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const producer = client.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const sent = Array.from({ length: 30 }, (_, i) => ({ key: `k${i % 5}`, value: `v${i}` }));
    const acks = await producer.send({ topic, acks: -1, messages: sent });
    await producer.disconnect();
    expect(acks.every((a) => a.errorCode === 0)).toBe(true);

    const consumer = client.consumer({ groupId: uniqueName("g") });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: { key: string; value: string }[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: ({ message }) => {
            received.push({ key: message.key!.toString(), value: message.value!.toString() });
            if (received.length === sent.length) resolve();
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    expect(received.map((r) => r.value).sort()).toEqual(sent.map((s) => s.value).sort());
    // Order per key is kept: each key's values arrive in the order they were produced.
    for (const key of ["k0", "k1", "k2", "k3", "k4"]) {
      expect(received.filter((r) => r.key === key).map((r) => r.value)).toEqual(
        sent.filter((s) => s.key === key).map((s) => s.value),
      );
    }
  });
});
