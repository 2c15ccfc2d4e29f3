// Owns the source status that every API process can show: the process holding a source's lease (its
// connector runs there, source-leases.ts) publishes the connector's status on a compacted one-partition topic
// (`<catalog topic>_status`, key = source name) when it changes and every few seconds; every process tails the
// topic from the beginning and keeps the latest report per source. A report names the registration id, so a
// source deleted and registered again never shows its predecessor's status.
import type { CompactedTable, InRecord, KafkaClient } from "../../lib/kafka/index.ts";
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
  readonly #kafka: KafkaClient;
  readonly #logger: Logger;
  readonly #reports = new Map<string, StatusReport>();
  #table: CompactedTable | null = null;

  constructor(options: { kafka: KafkaClient; logger: Logger; topic: string }) {
    this.#kafka = options.kafka;
    this.#logger = options.logger;
    this.topic = options.topic;
  }

  /** Creates the topic if missing and resolves once the reports already on it are read; then tails it. */
  async start(): Promise<void> {
    await this.#kafka.admin().ensureTopics([{ topic: this.topic, partitions: 1, compact: true }]);
    const table = this.#kafka.compactedTable({ topic: this.topic, onRecord: (r) => this.#read(r) });
    this.#table = table;
    try {
      await table.start();
    } catch (err) {
      this.#table = null;
      await table.stop().catch(() => undefined);
      throw err;
    }
  }

  #read(record: InRecord): void {
    const name = record.key?.toString("utf8");
    if (name === undefined) return;
    if (!record.value) {
      this.#reports.delete(name);
      return;
    }
    try {
      this.#reports.set(name, JSON.parse(record.value.toString("utf8")) as StatusReport);
    } catch (err) {
      this.#logger.warn({ err, source: name }, "unreadable source status report skipped");
    }
  }

  /** The latest report for this registration of the source, if any. */
  get(name: string, id: string): StatusReport | undefined {
    const report = this.#reports.get(name);
    return report?.id === id ? report : undefined;
  }

  async publish(name: string, report: StatusReport | null): Promise<void> {
    if (report) this.#reports.set(name, report);
    else this.#reports.delete(name);
    if (!this.#table) return;
    await this.#kafka
      .producer()
      .send([{ topic: this.topic, key: name, value: report ? JSON.stringify(report) : null }]);
  }

  async stop(): Promise<void> {
    const table = this.#table;
    this.#table = null;
    await table?.stop().catch(() => undefined);
  }
}
