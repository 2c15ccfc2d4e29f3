// Owns writing `_mesh_audit` (audit.ts): the AuditSink every server's audit hook (lib/http/audit.ts) hands its
// entries to. write() never waits and never throws: entries are queued and sent in the background, in order,
// in batches, on partition 0; the topic is created on first use (delete policy, long retention). When Kafka
// does not take them, they are kept (up to `maxPending`, the oldest dropped beyond it, counted and logged) and
// sent again after `retryMs`. close() sends what is queued, within a deadline. The Kafka handle and the clock
// are passed in (lib/kafka's KafkaClient fits AuditKafka), so nothing here imports a client.
import type { AuditedRequest, AuditSink } from "../lib/http/audit.ts";
import type { TopicSpec } from "../lib/kafka/admin.ts";
import type { OutMessage } from "../lib/kafka/messages.ts";
import type { Clock } from "../lib/clock.ts";
import type { Logger } from "../lib/logger.ts";
import { AUDIT_PARTITION, auditRecord, auditTopicSpec, encodeAuditRecord } from "./audit.ts";

/** What the writer needs of Kafka: lib/kafka's KafkaClient is one. */
export interface AuditKafka {
  admin(): { ensureTopics(specs: TopicSpec[]): Promise<unknown> };
  producer(): { send(messages: OutMessage[]): Promise<unknown> };
}

export interface AuditWriterOptions {
  kafka: AuditKafka;
  topic: string;
  logger: Logger;
  /** Sleeps between attempts (lib/clock.ts realClock). */
  clock: Clock;
  retentionMs?: number;
  /** Entries kept while Kafka does not take them (default 10,000). */
  maxPending?: number;
  /** Wait before sending again after a failure (default 1 s). */
  retryMs?: number;
  /** Entries per produce request (default 500). */
  batch?: number;
}

export class AuditWriter implements AuditSink {
  readonly #options: AuditWriterOptions;
  readonly #clock: Clock;
  readonly #queue: { at: number; value: Buffer }[] = [];
  readonly #stop = new AbortController();
  #running: Promise<void> | null = null;
  #topicReady: Promise<unknown> | null = null;
  #dropped = 0;
  #written = 0;

  constructor(options: AuditWriterOptions) {
    this.#options = options;
    this.#clock = options.clock;
  }

  /** Entries acknowledged by Kafka, dropped (the queue was full, or unsent at close), and queued. */
  get counts(): { written: number; dropped: number; pending: number } {
    return { written: this.#written, dropped: this.#dropped, pending: this.#queue.length };
  }

  write(entry: AuditedRequest): void {
    if (this.#stop.signal.aborted) {
      this.#dropped++;
      return;
    }
    this.#queue.push({ at: entry.at, value: encodeAuditRecord(auditRecord(entry)) });
    const max = this.#options.maxPending ?? 10_000;
    if (this.#queue.length > max) {
      const over = this.#queue.length - max;
      this.#queue.splice(0, over);
      this.#dropped += over;
      this.#options.logger.error(
        { dropped: this.#dropped, topic: this.#options.topic },
        "audit entries dropped: Kafka has not taken them and the queue is full",
      );
    }
    this.#running ??= this.#drain().finally(() => (this.#running = null));
  }

  /** Resolves once everything written before the call is acknowledged (while Kafka refuses, it waits). */
  async flush(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** Sends what is queued, for at most `deadlineMs`, then takes no more (what is left is dropped, logged). */
  async close(deadlineMs = 5000): Promise<void> {
    const done = new AbortController();
    try {
      await Promise.race([this.flush(), this.#clock.sleep(deadlineMs, done.signal).catch(() => undefined)]);
    } finally {
      done.abort();
      this.#stop.abort();
      if (this.#queue.length > 0) {
        this.#dropped += this.#queue.length;
        this.#options.logger.warn(
          { unsent: this.#queue.length, topic: this.#options.topic },
          "audit entries not written before closing",
        );
        this.#queue.length = 0;
      }
    }
  }

  /** Sends batches in order until the queue is empty; a failure waits `retryMs` and sends again. */
  async #drain(): Promise<void> {
    const { kafka, topic, logger } = this.#options;
    while (this.#queue.length > 0 && !this.#stop.signal.aborted) {
      const taken = this.#queue.slice(0, this.#options.batch ?? 500);
      try {
        this.#topicReady ??= kafka.admin().ensureTopics([auditTopicSpec(topic, this.#options.retentionMs)]);
        await this.#topicReady;
        await kafka
          .producer()
          // The record's time is the entry's (GET /v1/audit seeks by it), not when a retry got it through.
          .send(
            taken.map(({ at, value }) => ({
              topic,
              partition: AUDIT_PARTITION,
              key: null,
              value,
              timestamp: at,
            })),
          );
        // Only what was sent leaves the queue (write() may have dropped the oldest meanwhile).
        this.#queue.splice(0, this.#queue.indexOf(taken[taken.length - 1]!) + 1);
        this.#written += taken.length;
      } catch (err) {
        this.#topicReady = null;
        logger.warn({ err, topic, pending: this.#queue.length }, "audit entries not written yet; retrying");
        await this.#clock.sleep(this.#options.retryMs ?? 1000, this.#stop.signal).catch(() => undefined);
      }
    }
  }
}
