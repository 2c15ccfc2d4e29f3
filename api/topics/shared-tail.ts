// One Kafka reader per topic for every live (`from=latest`) subscriber of this process: each record is
// decoded once, and the events of one fetch are handed to every subscriber as one shared array, so a
// subscriber does one socket write per fetch rather than one per event (a write costs far more than its
// bytes: fanning a 100-row transaction out to 100 clients one event at a time took ~250 ms of syscalls).
// A subscriber whose queue is full is not waited for (that would stall everyone) and not buffered further:
// it finishes its queue and continues on a reader of its own from exactly the next offsets, so it still
// gets every event, in order.
import type { InRecord, KafkaClient, PartitionReader } from "../../lib/kafka/index.ts";
import type { Logger } from "../../lib/logger.ts";
import type { TopicBatch, TopicEvent } from "../runtime.ts";

export interface SharedTailDeps {
  kafka: KafkaClient;
  topic: string;
  logger: Logger;
  /** Events queued per subscriber before it moves to its own reader (one fetch is always accepted). */
  queueSize: number;
  /** Decodes one partition's records, in order (retrying what may pass later; a throw fails the tail). */
  decode(records: InRecord[]): Promise<TopicEvent[]>;
  /** Where "latest" stands on every partition now (the next offset to read). */
  latest(): Promise<Map<number, bigint>>;
  /** A dedicated reader from these next offsets (for a subscriber that fell behind). */
  dedicated(next: Map<number, bigint>, signal: AbortSignal): AsyncIterable<TopicBatch>;
  /** The shared reader stops this long after its last live subscriber left (default 30 s). */
  idleStopMs?: number;
}

/**
 * How long the broker may hold a fetch of the shared reader that found nothing. It costs no latency: the
 * reader asks with minBytes 1, so the broker answers a waiting fetch as soon as a record lands (one reader,
 * records sent every 40-100 ms, load ~4: CreateTime → batch p50 2 ms and p99 4-7 ms alike at 20, 500 and
 * 5000 ms). What it sets is the cost of an idle tail, one empty fetch per wait (1 ms of CPU per second at
 * 500 ms, 38 ms at 20), and how late a later assign() would join a fetch in flight (this reader assigns
 * once). (With kafkajs 2.2 a record often arrived only when the wait expired, so this used to be a
 * latency/CPU compromise at 20 ms.)
 */
export const tailFetchWaitMs = 500;

interface Subscriber {
  queue: TopicBatch[];
  queued: number;
  /** Next offset per partition after the last queued event. */
  next: Map<number, bigint>;
  overflowed: boolean;
  /** The shared reader failed: the subscriber's stream ends with this error once its queue is drained. */
  failure: Error | null;
  wake: (() => void) | null;
}

export class SharedTail {
  readonly #deps: SharedTailDeps;
  readonly #subscribers = new Set<Subscriber>();
  /** Next offset per partition after the last event handed out (subscribers joining now start here). */
  readonly #position = new Map<number, bigint>();
  /** Decoded but not yet handed out: gathered until the current event-loop turn ends. */
  #pending: TopicEvent[] = [];
  readonly #pendingNext = new Map<number, bigint>();
  #flushScheduled = false;
  #started: Promise<void> | null = null;
  #reader: PartitionReader | null = null;
  #stopReading: AbortController | null = null;
  #idleTimer: NodeJS.Timeout | null = null;
  /** Subscribers that overflowed to their own reader (tests and the benchmark read it). */
  detached = 0;

  /** Whether the shared reader runs (it stops when idle). */
  get running(): boolean {
    return this.#reader !== null;
  }

  constructor(deps: SharedTailDeps) {
    this.#deps = deps;
  }

  async *subscribe(signal: AbortSignal): AsyncIterable<TopicBatch> {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    const sub: Subscriber = {
      queue: [],
      queued: 0,
      next: new Map(),
      overflowed: false,
      failure: null,
      wake: null,
    };
    const onAbort = (): void => sub.wake?.();
    signal.addEventListener("abort", onAbort);
    try {
      await this.#ensureStarted();
      sub.next = new Map(this.#position);
      this.#subscribers.add(sub);
      // Positioned: the reader's assign() has resolved at fixed offsets, so every record written from now on
      // comes through a later flush to this subscriber (TopicRuntime.events).
      yield { from: new Map(sub.next), events: [] };
      while (!signal.aborted) {
        const batch = sub.queue.shift();
        if (batch) {
          sub.queued -= batch.events.length;
          yield batch;
          continue;
        }
        if (sub.failure) throw sub.failure;
        if (sub.overflowed) break;
        await new Promise<void>((resolve) => (sub.wake = resolve));
        sub.wake = null;
      }
      if (sub.overflowed && !signal.aborted) {
        this.#subscribers.delete(sub);
        this.detached++;
        yield* this.#deps.dedicated(sub.next, signal);
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      this.#subscribers.delete(sub);
      // Nobody left: stop fetching (the next subscriber starts again from the end of the topic).
      if (this.#subscribers.size === 0 && !this.#idleTimer) {
        this.#idleTimer = setTimeout(() => {
          this.#idleTimer = null;
          if (this.#subscribers.size === 0) void this.stop();
        }, this.#deps.idleStopMs ?? 30_000);
        this.#idleTimer.unref();
      }
    }
  }

  async stop(): Promise<void> {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    const reader = this.#reader;
    this.#reader = null;
    this.#stopReading?.abort();
    this.#stopReading = null;
    this.#started = null;
    this.#pending = [];
    this.#pendingNext.clear();
    this.#position.clear();
    await reader?.close();
  }

  #ensureStarted(): Promise<void> {
    this.#started ??= this.#start().catch(async (err: unknown) => {
      await this.stop();
      throw err;
    });
    return this.#started;
  }

  /** Hands everything decoded in this turn to every subscriber as one array (one write each). */
  #flush(): void {
    this.#flushScheduled = false;
    const events = this.#pending;
    this.#pending = [];
    const next = new Map(this.#pendingNext);
    this.#pendingNext.clear();
    // Every live subscriber stands at the shared position, so one batch (and one encoded frame) serves all.
    const batch: TopicBatch = { from: new Map(this.#position), events };
    for (const [p, o] of next) this.#position.set(p, o);
    if (events.length === 0) return;
    for (const sub of this.#subscribers) {
      if (sub.overflowed) continue;
      if (sub.queued > 0 && sub.queued + events.length > this.#deps.queueSize) {
        sub.overflowed = true;
      } else {
        sub.queue.push(batch);
        sub.queued += events.length;
        for (const [p, o] of next) sub.next.set(p, o);
      }
      sub.wake?.();
    }
  }

  async #start(): Promise<void> {
    const { kafka, topic } = this.#deps;
    const start = await this.#deps.latest();
    const reader = kafka.reader({ maxWaitMs: tailFetchWaitMs });
    const stopReading = new AbortController();
    this.#reader = reader;
    this.#stopReading = stopReading;
    for (const [p, o] of start) this.#position.set(p, o);
    await reader.assign([...start].map(([partition, offset]) => ({ topic, partition, offset })));
    void this.#read(reader, stopReading.signal);
  }

  async #read(reader: PartitionReader, signal: AbortSignal): Promise<void> {
    try {
      for await (const batch of reader.batches(signal)) {
        // A reader stopped for idleness may still hand over one batch: the tail's state is not its anymore.
        if (this.#reader !== reader) return;
        if (this.#subscribers.size > 0 && batch.records.length > 0) {
          // Decoded in full before anything is queued, so subscribers never see half a batch.
          const events = await this.#deps.decode(batch.records);
          if (this.#reader !== reader) return;
          for (const event of events) this.#pending.push(event);
        }
        // Past transaction markers too: the next fetch starts there, and so may an overflowing subscriber.
        this.#pendingNext.set(batch.partition, batch.nextOffset);
        if (!this.#flushScheduled) {
          this.#flushScheduled = true;
          setImmediate(() => this.#flush());
        }
      }
    } catch (err) {
      if (this.#reader !== reader) return;
      this.#deps.logger.error({ err, topic: this.#deps.topic }, "live topic reader failed");
      // Every subscriber ends with the error (after what it has queued); the next one starts afresh.
      const failure = err instanceof Error ? err : new Error(`reading ${this.#deps.topic} failed`);
      for (const sub of this.#subscribers) {
        sub.failure = failure;
        sub.wake?.();
      }
      this.#subscribers.clear();
      await this.stop();
    }
  }
}
