// Helpers for lib/kafka's own integration tests (not exported from index.ts): a config for the test stack and a
// read-back of a topic straight through the client's consumer, independent of the code under test.
import { Consumer, FetchIsolationLevels } from "@platformatic/kafka";
import type { KafkaConfig } from "./config.ts";
import type { Isolation } from "./messages.ts";

export interface ReadBack {
  partition: number;
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: Map<string, string>;
}

/**
 * Reads `topic` from the beginning until `until` says the records read so far are enough, then stops; fails
 * after `timeoutMs`. Uses a throw-away consumer group, deleted nowhere (the test topic is).
 */
export async function readBack(
  config: KafkaConfig,
  topic: string,
  until: (records: ReadBack[]) => boolean,
  options: { isolation?: Isolation; timeoutMs?: number } = {},
): Promise<ReadBack[]> {
  const consumer = new Consumer<Buffer | null, Buffer | null, Buffer, Buffer>({
    clientId: `${config.clientId}-readback`,
    bootstrapBrokers: config.brokers,
    ...(config.sasl ? { sasl: config.sasl } : {}),
    groupId: `readback-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
    isolationLevel:
      options.isolation === "read_uncommitted"
        ? FetchIsolationLevels.READ_UNCOMMITTED
        : FetchIsolationLevels.READ_COMMITTED,
    maxWaitTime: 200,
  });
  const records: ReadBack[] = [];
  const stream = await consumer.consume({ topics: [topic], mode: "earliest", autocommit: false });
  const timer = setTimeout(() => void stream.close(), options.timeoutMs ?? 20_000);
  try {
    if (until(records)) return records;
    for await (const m of stream) {
      const headers = new Map<string, string>();
      for (const [k, v] of m.headers) headers.set(k.toString(), v.toString());
      records.push({
        partition: m.partition,
        offset: m.offset,
        key: m.key ?? null,
        value: m.value ?? null,
        headers,
      });
      if (until(records)) return records;
    }
    throw new Error(`readBack(${topic}): timed out with ${records.length} records`);
  } finally {
    clearTimeout(timer);
    await stream.close().catch(() => undefined);
    await consumer.close(true).catch(() => undefined);
  }
}
