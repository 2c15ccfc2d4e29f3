// Owns the `_schemas` topic: creates it (compacted, one partition) or refuses a wrong one, appends records with
// the client's idempotent acks=all producer, and reads it as a lib/kafka compacted table: replayed from offset 0
// at every start (nothing is committed), then tailed for as long as the process runs, so records that anyone
// else appends (a replicated topic, a repair or migration tool) reach every process, leader included. A record
// that cannot be read is skipped with a warning; the tail never stops for one. `catchUp()` waits until every
// record below the high watermark of now was handed over. `relaxTail()` lets the broker hold each fetch for up
// to LEADER_TAIL.maxWaitMs: the leader answers a write once Kafka acknowledged it and already applied it, so its
// read-back of its own records waits no one; one fetch per write cost the broker about as much as the write.
import type { CompactedTable, InRecord, KafkaClient, TailPace } from "../../lib/kafka/index.ts";
import type { Logger } from "../../lib/logger.ts";
import { RegistryError } from "../errors.ts";
import { decodeRecord, encodeRecord, type EncodedRecord, type LogRecord } from "./records.ts";

export interface SchemasLogOptions {
  kafka: KafkaClient;
  topic: string;
  logger: Logger;
}

/** Called for each record in topic order; `offset` is the record's offset. */
export type RecordSink = (record: LogRecord, offset: number) => void;

/**
 * Asked first for each record, with its bytes: true when it is the read-back of a write this process already
 * applied, which is then skipped without being decoded (the leader reads back every write it makes).
 */
export type ReadBack = (key: Buffer | null, value: Buffer | null) => boolean;

/**
 * The leader's tail: a fetch is answered once 256 KiB are there or 100 ms passed. Others' records (a repair
 * tool's, a replicated topic's) reach the leader up to 100 ms later; nothing the leader answers waits for them.
 */
export const LEADER_TAIL: TailPace = { minBytes: 256 * 1024, maxWaitMs: 100 };

interface Waiter {
  offset: number;
  resolve: () => void;
}

export class SchemasLog {
  private readonly options: SchemasLogOptions;
  private readonly sink: RecordSink;
  private readonly readBack: ReadBack;
  private table: CompactedTable | undefined;
  /** Offset of the next record the tail will hand over. */
  nextOffset = 0;
  private waiters: Waiter[] = [];

  constructor(options: SchemasLogOptions, sink: RecordSink, readBack: ReadBack = () => false) {
    this.options = options;
    this.sink = sink;
    this.readBack = readBack;
  }

  /** Resolves once every record below the high watermark at start was handed to the sink. */
  async start(): Promise<void> {
    await ensureCompactedTopic(this.options.kafka, this.options.topic, this.options.logger);
    this.table = this.options.kafka.compactedTable({
      topic: this.options.topic,
      onRecord: (record) => this.receive(record),
    });
    await this.table.start();
  }

  private receive(record: InRecord): void {
    const offset = Number(record.offset);
    try {
      if (this.readBack(record.key, record.value)) return this.handed(offset);
      const decoded = decodeRecord(record.key, record.value);
      if (decoded) this.sink(decoded, offset);
    } catch (err) {
      this.options.logger.warn(
        {
          err,
          topic: this.options.topic,
          offset,
          key: record.key?.toString().slice(0, 200) ?? null,
        },
        "skipped a schemas topic record that cannot be read",
      );
    }
    this.handed(offset);
  }

  private handed(offset: number): void {
    this.nextOffset = offset + 1;
    this.wake();
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
    if (!this.table) throw new Error("SchemasLog not started");
    await this.table.caughtUp(timeoutMs);
  }

  /** The leader's pace (LEADER_TAIL) or, `false`, records handed over as soon as they are written. */
  relaxTail(relaxed: boolean): void {
    this.table?.setTailPace(relaxed ? LEADER_TAIL : undefined);
  }

  /** Appends records in one batch; resolves with the offset of the first once Kafka acknowledged all. */
  async append(records: readonly (LogRecord | EncodedRecord)[]): Promise<number> {
    if (!this.table) throw new Error("SchemasLog not started");
    const { topic } = this.options;
    const delivered = await this.options.kafka.producer().send(
      records.map((r) => {
        const { key, value } = "record" in r ? r : encodeRecord(r);
        return { topic, partition: 0, key, value };
      }),
    );
    const first = delivered[0];
    if (first === undefined)
      throw new RegistryError("STORE_ERROR", "Kafka did not return an offset for the write");
    return Number(first.offset);
  }

  async stop(): Promise<void> {
    await this.table?.stop();
  }
}

async function ensureCompactedTopic(kafka: KafkaClient, topic: string, logger: Logger): Promise<void> {
  const admin = kafka.admin();
  if (!(await admin.listTopics()).includes(topic)) {
    logger.info({ topic }, "creating the schemas topic (compacted, one partition)");
    // Another process may create it at the same moment: theirs stands and is checked below like any other.
    await admin.ensureTopics([{ topic, partitions: 1, compact: true }]);
  }
  const partitions = (await admin.partitionCounts([topic])).get(topic) ?? 0;
  const policy = (await admin.topicConfig(topic, ["cleanup.policy"]))["cleanup.policy"] ?? "";
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
}
