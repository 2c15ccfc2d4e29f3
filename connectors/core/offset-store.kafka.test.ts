// The `_mesh_offsets` store on the real broker: what one store saves, a fresh store (another process) loads;
// and the topic is compacted for real (segment.ms), including one made by an older version without it.
import { afterAll, describe, expect, it } from "vitest";
import { KafkaClient } from "../../lib/kafka/index.ts";
import { kafkaConnection } from "../../test/support/stack.ts";
import { OFFSETS_TOPIC, REWRITTEN_STATE_TOPIC_CONFIGS } from "../../protocol/topics.ts";
import { kafkaOffsetStore } from "./offset-store.ts";

const clients: KafkaClient[] = [];
const client = (): KafkaClient => {
  const c = new KafkaClient({ ...kafkaConnection(), clientId: "offset-store-test" });
  clients.push(c);
  return c;
};
afterAll(async () => {
  for (const c of clients) await c.close();
});

const names = Object.keys(REWRITTEN_STATE_TOPIC_CONFIGS);

describe("kafkaOffsetStore", () => {
  it("loads in a fresh store what another saved (the latest value per key, null once deleted)", async () => {
    const key = `test-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const writer = kafkaOffsetStore(client());
    await writer.save(key, { snapshotDone: false });
    await writer.save(key, { snapshotDone: true, rows: 3 });
    await writer.save(`${key}-gone`, { x: 1 });
    await writer.save(`${key}-gone`, null);
    const reader = kafkaOffsetStore(client());
    expect(await reader.load(key)).toEqual({ snapshotDone: true, rows: 3 });
    expect(await reader.load(`${key}-gone`)).toBeNull();
    expect(await reader.load(`${key}-never`)).toBeNull();
  });

  it("keeps _mesh_offsets compacted: closes segments every 10 minutes, and sets that on an older topic", async () => {
    const kafka = client();
    await kafkaOffsetStore(kafka).load("any");
    const admin = kafka.admin();
    expect(await admin.topicConfig(OFFSETS_TOPIC, [...names, "cleanup.policy"])).toEqual({
      ...REWRITTEN_STATE_TOPIC_CONFIGS,
      "cleanup.policy": "compact",
    });
    // As an older version left it: Kafka's default segment.ms (7 days).
    await admin.setTopicConfig(OFFSETS_TOPIC, { "segment.ms": String(7 * 24 * 3600 * 1000) });
    expect((await admin.topicConfig(OFFSETS_TOPIC, ["segment.ms"]))["segment.ms"]).toBe("604800000");
    await kafkaOffsetStore(client()).load("any");
    expect(await admin.topicConfig(OFFSETS_TOPIC, names)).toEqual(REWRITTEN_STATE_TOPIC_CONFIGS);
  });
});
