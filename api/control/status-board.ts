// Owns the source status that every API process can show: the process holding a source's lease (its
// connector runs there, source-leases.ts) publishes the connector's status on a compacted one-partition topic
// (`<catalog topic>_status`, key = source name) when it changes and every few seconds; every process tails the
// topic from the beginning and keeps the latest report per source. A report names the registration id, so a
// source deleted and registered again never shows its predecessor's status.
import { randomUUID } from "node:crypto";
import type { Consumer, Kafka, Producer } from "kafkajs";
import type { Logger } from "../../lib/logger.ts";
import type { PlacedSourceStatus } from "../runtime.ts";

export interface StatusReport {
  /** The registration id (SourceRecord.id) the status belongs to. */
  id: string;
  /** The API URL of the process running the connector. */
  holder: string;
  status: PlacedSourceStatus;
  /** ISO time of the report. */
  reportedAt: string;
}

export class StatusBoard {
  readonly topic: string;
  readonly #kafka: Kafka;
  readonly #logger: Logger;
  readonly #reports = new Map<string, StatusReport>();
  #producer: Producer | null = null;
  #consumer: Consumer | null = null;

  constructor(options: { kafka: Kafka; logger: Logger; topic: string }) {
    this.#kafka = options.kafka;
    this.#logger = options.logger;
    this.topic = options.topic;
  }

  async start(): Promise<void> {
    const admin = this.#kafka.admin();
    await admin.connect();
    try {
      if (!(await admin.listTopics()).includes(this.topic)) {
        // false when another process created it first: fine.
        await admin.createTopics({
          waitForLeaders: true,
          topics: [
            {
              topic: this.topic,
              numPartitions: 1,
              configEntries: [{ name: "cleanup.policy", value: "compact" }],
            },
          ],
        });
      }
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    this.#producer = this.#kafka.producer({ allowAutoTopicCreation: false });
    await this.#producer.connect();
    const consumer = this.#kafka.consumer({
      groupId: `mesh-status-${randomUUID()}`,
      maxWaitTimeInMs: 200,
      allowAutoTopicCreation: false,
    });
    this.#consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: ({ message }) => {
        const name = message.key?.toString("utf8");
        if (name === undefined) return Promise.resolve();
        if (!message.value) {
          this.#reports.delete(name);
          return Promise.resolve();
        }
        try {
          this.#reports.set(name, JSON.parse(message.value.toString("utf8")) as StatusReport);
        } catch (err) {
          this.#logger.warn({ err, source: name }, "unreadable source status report skipped");
        }
        return Promise.resolve();
      },
    });
  }

  /** The latest report for this registration of the source, if any. */
  get(name: string, id: string): StatusReport | undefined {
    const report = this.#reports.get(name);
    return report?.id === id ? report : undefined;
  }

  async publish(name: string, report: StatusReport | null): Promise<void> {
    if (report) this.#reports.set(name, report);
    else this.#reports.delete(name);
    await this.#producer?.send({
      topic: this.topic,
      messages: [{ key: name, value: report ? JSON.stringify(report) : null }],
    });
  }

  async stop(): Promise<void> {
    await this.#consumer?.disconnect().catch(() => undefined);
    await this.#producer?.disconnect().catch(() => undefined);
    this.#consumer = null;
    this.#producer = null;
  }
}
