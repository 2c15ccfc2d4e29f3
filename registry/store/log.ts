// Owns the `_schemas` topic: creates it (compacted, one partition) or refuses a wrong one, appends records with
// an idempotent acks=all producer, and tails it from offset 0 with a group of its own (nothing is committed:
// every start replays the topic). `catchUp()` waits until every record below the high watermark was handed over.
import { randomUUID } from "node:crypto";
import { Partitioners, type Consumer, type Kafka, type Producer } from "kafkajs";
import type { Logger } from "pino";
import { decodeRecord, encodeKey, encodeValue, type LogRecord } from "./records.ts";
import { RegistryError } from "../errors.ts";

export interface SchemasLogOptions {
  kafka: Kafka;
  topic: string;
  groupId: string;
  logger: Logger;
}

/** Called for each record in topic order; `offset` is the record's offset. */
export type RecordSink = (record: LogRecord, offset: number) => void;

interface Waiter {
  offset: number;
  resolve: () => void;
}

export class SchemasLog {
  private readonly options: SchemasLogOptions;
  private readonly sink: RecordSink;
  private producer: Producer | undefined;
  private consumer: Consumer | undefined;
  /** Offset of the next record the tail will hand over. */
  nextOffset = 0;
  private waiters: Waiter[] = [];

  constructor(options: SchemasLogOptions, sink: RecordSink) {
    this.options = options;
    this.sink = sink;
  }

  async start(): Promise<void> {
    await ensureCompactedTopic(this.options.kafka, this.options.topic, this.options.logger);
    this.producer = this.options.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await this.producer.connect();
    await this.startTail();
    await this.catchUp();
  }

  private async startTail(): Promise<void> {
    const { kafka, topic, groupId } = this.options;
    const consumer = kafka.consumer({
      groupId: `${groupId}-reader-${randomUUID()}`,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      maxBytesPerPartition: 8 * 1024 * 1024,
      maxWaitTimeInMs: 1_000,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const offset = Number(m.offset);
          const record = decodeRecord(m.key, m.value);
          if (record) this.sink(record, offset);
          this.nextOffset = offset + 1;
        }
        // Compaction may leave a batch's last offsets empty; the batch still tells where the log ends.
        const last = Number(batch.lastOffset());
        if (batch.messages.length > 0 && last + 1 > this.nextOffset) this.nextOffset = last + 1;
        this.wake();
        await Promise.resolve();
      },
    });
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (this.nextOffset > w.offset) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  /** Resolves once the record at `offset` has been handed to the sink (or rejects after `timeoutMs`). */
  waitFor(offset: number, timeoutMs = 10_000): Promise<void> {
    if (this.nextOffset > offset) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new RegistryError(
            "OPERATION_TIMEOUT",
            `Timed out waiting for the schemas topic to reach offset ${offset}; retry`,
          ),
        );
      }, timeoutMs);
      const waiter: Waiter = {
        offset,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Waits until everything in the topic now (below its high watermark) has been read. */
  async catchUp(timeoutMs = 60_000): Promise<void> {
    const admin = this.options.kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(this.options.topic);
      const high = Number(offsets.find((o) => o.partition === 0)?.high ?? "0");
      if (high > 0) await this.waitFor(high - 1, timeoutMs);
    } finally {
      await admin.disconnect();
    }
  }

  /** Appends records in one batch; resolves with the offset of the first once Kafka acknowledged all. */
  async append(records: readonly LogRecord[]): Promise<number> {
    if (!this.producer) throw new Error("SchemasLog not started");
    const messages = records.map((r) => ({ key: encodeKey(r), value: encodeValue(r) }));
    const acks = await this.producer.send({ topic: this.options.topic, acks: -1, messages });
    const base = acks[0]?.baseOffset;
    if (base === undefined)
      throw new RegistryError("STORE_ERROR", "Kafka did not return an offset for the write");
    return Number(base);
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.consumer?.disconnect(), this.producer?.disconnect()]);
  }
}

async function ensureCompactedTopic(kafka: Kafka, topic: string, logger: Logger): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = await admin.listTopics();
    if (!existing.includes(topic)) {
      logger.info({ topic }, "creating the schemas topic (compacted, one partition)");
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic, numPartitions: 1, configEntries: [{ name: "cleanup.policy", value: "compact" }] }],
      });
      return;
    }
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    const partitions = meta.topics[0]?.partitions.length ?? 0;
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 2, name: topic, configNames: ["cleanup.policy"] }],
    });
    const policy =
      described.resources[0]?.configEntries.find((c) => c.configName === "cleanup.policy")?.configValue ?? "";
    if (!policy.split(",").includes("compact")) {
      throw new Error(
        `MESH_REGISTRY_TOPIC_NOT_COMPACTED: topic ${topic} has cleanup.policy=${policy}; the schemas topic must be compacted ` +
          `(kafka-configs --alter --entity-type topics --entity-name ${topic} --add-config cleanup.policy=compact) or use another topic`,
      );
    }
    if (partitions !== 1) {
      throw new Error(
        `MESH_REGISTRY_TOPIC_PARTITIONS: topic ${topic} has ${partitions} partitions; the schemas topic must have exactly 1`,
      );
    }
  } finally {
    await admin.disconnect();
  }
}
