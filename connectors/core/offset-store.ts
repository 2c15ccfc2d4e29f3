// Connector state that must survive a restart and is not the source's own offset: whether the initial
// snapshot finished, and the progress of an incremental re-snapshot. Kept in the compacted `_mesh_offsets`
// topic (DESIGN.md: processes are stateless); keys and values are protocol/offsets.ts's.
import type { CompactedTable, KafkaClient } from "../../lib/kafka/index.ts";
import { OFFSETS_TOPIC, REWRITTEN_STATE_TOPIC_CONFIGS } from "../../protocol/topics.ts";

export interface OffsetStore {
  load(key: string): Promise<unknown>;
  save(key: string, value: unknown): Promise<void>;
}

/**
 * The store on `_mesh_offsets`: the topic is replayed once into memory (a compacted table) and tailed, and a
 * load waits until the table has read everything written so far, so it sees every save made before it, by
 * this process or another. Saves go through the client's shared idempotent producer, one at a time, so two
 * saves of one key land in the order they were made. One store serves any number of connectors; the table
 * stops with the client.
 */
export function kafkaOffsetStore(kafka: KafkaClient): OffsetStore {
  // Values stay raw until loaded: the table tails every source's records (one per exactly-once
  // transaction), and a process loads only its own few keys.
  const state = new Map<string, Buffer | null>();
  let ensured: Promise<void> | null = null;
  let table: { running: Promise<CompactedTable> } | null = null;
  let saves: Promise<unknown> = Promise.resolve();

  const ensure = (): Promise<void> => {
    ensured ??= kafka
      .admin()
      .ensureTopics([offsetsTopicSpec])
      .then(
        () => upgradeTopicConfig(kafka),
        (err: unknown) => {
          ensured = null;
          throw err;
        },
      );
    return ensured;
  };

  const replayed = async (): Promise<CompactedTable> => {
    await ensure();
    if (!table) {
      const t = kafka.compactedTable({
        topic: OFFSETS_TOPIC,
        onRecord: (r) => {
          if (r.key === null) return;
          state.set(r.key.toString(), r.value);
        },
      });
      table = { running: t.start().then(() => t) };
    }
    const current = table;
    try {
      const t = await current.running;
      await t.caughtUp();
      return t;
    } catch (err) {
      // A table that failed is replaced at the next load: a fresh replay from the start of the topic.
      if (table === current) {
        table = null;
        void current.running.then((t) => t.stop()).catch(() => undefined);
      }
      throw err;
    }
  };

  return {
    async load(key) {
      await replayed();
      const raw = state.get(key);
      return raw ? (JSON.parse(raw.toString()) as unknown) : null;
    },
    async save(key, value) {
      await ensure();
      const send = saves.then(() =>
        kafka
          .producer()
          .send([{ topic: OFFSETS_TOPIC, key, value: value === null ? null : JSON.stringify(value) }]),
      );
      saves = send.catch(() => undefined);
      await send;
    },
  };
}

/**
 * A `_mesh_offsets` made before its configs were set (by an older version) gets them now, so that it is
 * compacted. Best effort: without AlterConfigs on the topic it keeps working as before, only replayed slower.
 */
async function upgradeTopicConfig(kafka: KafkaClient): Promise<void> {
  const admin = kafka.admin();
  try {
    const wanted = offsetsTopicSpec.configs;
    const current = await admin.topicConfig(OFFSETS_TOPIC, Object.keys(wanted));
    const differing = Object.entries(wanted).filter(([name, value]) => current[name] !== value);
    if (differing.length > 0) await admin.setTopicConfig(OFFSETS_TOPIC, Object.fromEntries(differing));
  } catch {
    // Kept as it is (see above).
  }
}

/** How `_mesh_offsets` is created, by the store or by an exactly-once session, whichever comes first. */
export const offsetsTopicSpec = {
  topic: OFFSETS_TOPIC,
  partitions: 1,
  compact: true,
  configs: REWRITTEN_STATE_TOPIC_CONFIGS,
};

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
