// Helpers for the integration tests of the reading side (reader, group member, election, compacted table), not
// exported from index.ts: writes straight through the client's producer
// (independent of the code under test), and reads until a fact holds instead of sleeping.
import { Producer, type ProducerOptions } from "@platformatic/kafka";
import type { KafkaConfig } from "./config.ts";
import type { InRecord, RecordBatch } from "./messages.ts";

export interface TestMessage {
  topic: string;
  partition: number;
  key?: string;
  /** null: a tombstone. */
  value: string | null;
}

function clientMessages(messages: TestMessage[]) {
  return messages.map((m) => ({
    topic: m.topic,
    partition: m.partition,
    ...(m.key === undefined ? {} : { key: Buffer.from(m.key) }),
    value: (m.value === null ? null : Buffer.from(m.value)) as Buffer,
  }));
}

export function testProducer(config: KafkaConfig, transactionalId?: string): Producer {
  const options: ProducerOptions<Buffer, Buffer, Buffer, Buffer> = {
    clientId: `${config.clientId}-producer`,
    bootstrapBrokers: config.brokers,
    ...(config.sasl ? { sasl: config.sasl } : {}),
    idempotent: true,
    acks: -1,
    ...(transactionalId ? { transactionalId } : {}),
  };
  return new Producer(options);
}

/** Sends plain (non-transactional) messages, acknowledged by all replicas. */
export async function produce(config: KafkaConfig, messages: TestMessage[]): Promise<void> {
  const producer = testProducer(config);
  try {
    await producer.send({ messages: clientMessages(messages) });
  } finally {
    await producer.close();
  }
}

/** Sends `messages` in one Kafka transaction, committed or aborted. */
export async function produceTransaction(
  producer: Producer,
  messages: TestMessage[],
  outcome: "commit" | "abort",
): Promise<void> {
  const tx = await producer.beginTransaction();
  await tx.send({ messages: clientMessages(messages) });
  if (outcome === "commit") await tx.commit();
  else await tx.abort();
}

/**
 * Reads batches until `enough` holds for what was read so far; fails after `timeoutMs`. The iterator is
 * ended afterwards, the reader keeps its positions (a later collect continues from there).
 */
export async function collect(
  batches: (signal: AbortSignal) => AsyncIterable<RecordBatch>,
  enough: (records: InRecord[], batches: RecordBatch[]) => boolean,
  timeoutMs = 20_000,
): Promise<{ records: InRecord[]; batches: RecordBatch[] }> {
  const seen: RecordBatch[] = [];
  const records: InRecord[] = [];
  if (enough(records, seen)) return { records, batches: seen };
  for await (const batch of batches(AbortSignal.timeout(timeoutMs))) {
    seen.push(batch);
    records.push(...batch.records);
    if (enough(records, seen)) return { records, batches: seen };
  }
  throw new Error(
    `collect: timed out after ${timeoutMs} ms with ${records.length} records in ${seen.length} batches`,
  );
}

export const text = (b: Buffer | null): string | null => (b === null ? null : b.toString());
