// Connector state that must survive a restart and is not the source's own offset: whether the initial
// snapshot finished, and the progress of an incremental re-snapshot. Kept in the compacted `_mesh_offsets`
// topic (DESIGN.md: processes are stateless), keyed by `<source>/<purpose>`, JSON values.
import { randomBytes } from "node:crypto";
import type { Kafka, Producer } from "kafkajs";
import { OFFSETS_TOPIC } from "../../protocol/topics.ts";
import { ensureTopics } from "./kafka-sink.ts";

export interface OffsetStore {
  load(key: string): Promise<unknown>;
  save(key: string, value: unknown): Promise<void>;
}

export function kafkaOffsetStore(kafka: Kafka, producer: Producer): OffsetStore {
  let ensured = false;
  const ensure = async (): Promise<void> => {
    if (ensured) return;
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, [{ topic: OFFSETS_TOPIC, partitions: 1, compact: true }]);
    } finally {
      await admin.disconnect();
    }
    ensured = true;
  };
  return {
    async load(key) {
      await ensure();
      return (await readAll(kafka)).get(key) ?? null;
    },
    async save(key, value) {
      await ensure();
      await producer.send({
        topic: OFFSETS_TOPIC,
        acks: -1,
        messages: [{ key, value: value === null ? null : JSON.stringify(value) }],
      });
    },
  };
}

/** Reads the whole topic up to its current end (a throw-away consumer group; nothing is committed). */
async function readAll(kafka: Kafka): Promise<Map<string, unknown>> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(OFFSETS_TOPIC);
  await admin.disconnect();
  const remaining = new Map(
    ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high)]),
  );
  const state = new Map<string, unknown>();
  if (remaining.size === 0) return state;
  const groupId = `_mesh_offsets_reader_${randomBytes(6).toString("hex")}`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: OFFSETS_TOPIC, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            const key = message.key?.toString();
            if (key !== undefined)
              state.set(key, message.value ? (JSON.parse(message.value.toString()) as unknown) : null);
            const end = remaining.get(partition);
            if (end !== undefined && BigInt(message.offset) + 1n >= end) remaining.delete(partition);
            if (remaining.size === 0) resolve();
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return state;
}

/** An in-memory store: for tests of code that takes an OffsetStore, and for one-shot tools. */
export function memoryOffsetStore(): OffsetStore {
  const state = new Map<string, unknown>();
  return {
    load: (key) => Promise.resolve(state.get(key) ?? null),
    save: (key, value) => {
      state.set(key, value);
      return Promise.resolve();
    },
  };
}
