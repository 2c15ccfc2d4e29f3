// Writes a connector's events to Kafka in order and tells it which ones Kafka has acknowledged.
// One batch is in flight at a time (the idempotent producer, acks=all): batches are acknowledged in the
// order they were enqueued, so "acknowledged up to seq N" is one number and per-key order always holds.
// Memory is bounded: `waitForCapacity()` makes the reader wait while too many bytes are unacknowledged.
import type { Admin, Kafka, Message, Producer, TopicMessages } from "kafkajs";

export interface SinkMessage {
  topic: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Set for messages that must go to one partition (truncate events, keyless tables, markers). */
  partition?: number;
  headers?: Record<string, string>;
}

export interface KafkaSinkOptions {
  producer: Producer;
  /** Upper bound of one produce request (the broker refuses record batches over message.max.bytes, 1 MB). */
  maxBatchBytes?: number;
  /** Enqueued but unacknowledged bytes above which `waitForCapacity()` waits. */
  maxBufferedBytes?: number;
}

interface Queued {
  seq: number;
  msg: SinkMessage;
  bytes: number;
}

export function createProducer(kafka: Kafka): Producer {
  // maxInFlightRequests 1 with idempotence: the broker de-duplicates retried batches and never reorders them.
  return kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
}

export class KafkaSink {
  private readonly producer: Producer;
  private readonly maxBatchBytes: number;
  private readonly maxBufferedBytes: number;
  private queue: Queued[] = [];
  private queueHead = 0;
  private nextSeq = 1;
  private acked = 0;
  private bufferedBytes = 0;
  private sending = false;
  private failure: Error | null = null;
  private waiters: { seq: number; resolve: () => void; reject: (err: Error) => void }[] = [];
  private readonly ackListeners = new Set<(seq: number) => void>();
  private readonly failureListeners = new Set<(err: Error) => void>();

  constructor(options: KafkaSinkOptions) {
    this.producer = options.producer;
    this.maxBatchBytes = options.maxBatchBytes ?? 900 * 1024;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 8 * 1024 * 1024;
  }

  /** The sequence number of the last enqueued message (0 before any). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** Every message with seq ≤ this has been acknowledged by Kafka. */
  get ackedSeq(): number {
    return this.acked;
  }

  get error(): Error | null {
    return this.failure;
  }

  onAck(listener: (seq: number) => void): () => void {
    this.ackListeners.add(listener);
    return () => this.ackListeners.delete(listener);
  }

  /** Called once if a batch fails for good (kafkajs already retried it); the sink takes nothing more. */
  onFailure(listener: (err: Error) => void): () => void {
    this.failureListeners.add(listener);
    return () => this.failureListeners.delete(listener);
  }

  enqueue(msg: SinkMessage): number {
    if (this.failure) throw this.failure;
    const seq = this.nextSeq++;
    const bytes = (msg.key?.length ?? 0) + (msg.value?.length ?? 0) + msg.topic.length + 64;
    this.queue.push({ seq, msg, bytes });
    this.bufferedBytes += bytes;
    this.pump();
    return seq;
  }

  /** Resolves when the buffer has room again (backpressure for the reader). */
  async waitForCapacity(): Promise<void> {
    if (this.bufferedBytes <= this.maxBufferedBytes) return;
    // Waiting for the oldest half of the buffer keeps the reader busy while Kafka drains the rest.
    const target =
      this.queue[
        Math.min(this.queue.length - 1, this.queueHead + ((this.queue.length - this.queueHead) >> 1))
      ];
    if (target) await this.whenAcked(target.seq);
  }

  /** Resolves once every message up to `seq` is acknowledged; rejects if the sink failed. */
  whenAcked(seq: number): Promise<void> {
    if (seq <= this.acked) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push({ seq, resolve, reject }));
  }

  flush(): Promise<void> {
    return this.whenAcked(this.lastSeq);
  }

  private pump(): void {
    if (this.sending || this.failure || this.queueHead >= this.queue.length) return;
    this.sending = true;
    void this.sendLoop();
  }

  private async sendLoop(): Promise<void> {
    try {
      while (this.queueHead < this.queue.length && !this.failure) {
        const batch = this.takeBatch();
        await this.producer.sendBatch({ acks: -1, topicMessages: groupByTopic(batch) });
        const last = batch[batch.length - 1];
        if (!last) continue;
        for (const q of batch) this.bufferedBytes -= q.bytes;
        this.acked = last.seq;
        this.settleWaiters();
        for (const listener of this.ackListeners) listener(this.acked);
      }
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      for (const w of this.waiters) w.reject(this.failure);
      this.waiters = [];
      for (const listener of this.failureListeners) listener(this.failure);
    } finally {
      this.sending = false;
    }
    this.pump();
  }

  private takeBatch(): Queued[] {
    const batch: Queued[] = [];
    let bytes = 0;
    while (this.queueHead < this.queue.length) {
      const q = this.queue[this.queueHead];
      if (!q || (batch.length > 0 && bytes + q.bytes > this.maxBatchBytes)) break;
      batch.push(q);
      bytes += q.bytes;
      this.queueHead++;
    }
    // Compact the array now and then instead of shifting per message.
    if (this.queueHead > 4096 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    return batch;
  }

  private settleWaiters(): void {
    if (this.waiters.length === 0) return;
    const still: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (w.seq <= this.acked) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }
}

/** Keeps the enqueue order of each topic (and so of each partition) inside one produce request. */
function groupByTopic(batch: Queued[]): TopicMessages[] {
  const byTopic = new Map<string, Message[]>();
  for (const { msg } of batch) {
    let list = byTopic.get(msg.topic);
    if (!list) byTopic.set(msg.topic, (list = []));
    const m: Message = { key: msg.key, value: msg.value };
    if (msg.partition !== undefined) m.partition = msg.partition;
    if (msg.headers) m.headers = msg.headers;
    list.push(m);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

export interface TopicSpec {
  topic: string;
  partitions: number;
  compact?: boolean;
}

/** Creates missing topics and returns every topic's partition count (existing topics keep theirs). */
export async function ensureTopics(admin: Admin, specs: TopicSpec[]): Promise<Map<string, number>> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.partitions,
        replicationFactor: -1,
        ...(s.compact ? { configEntries: [{ name: "cleanup.policy", value: "compact" }] } : {}),
      })),
    });
  }
  // Right after creation a broker may not know the topic yet (metadata propagates asynchronously).
  for (let attempt = 0; ; attempt++) {
    try {
      const meta = await admin.fetchTopicMetadata({ topics: specs.map((s) => s.topic) });
      return new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
    } catch (err) {
      if (attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
    }
  }
}
