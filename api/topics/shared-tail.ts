// One Kafka consumer per topic for every live (`from=latest`) subscriber of this process: each message is
// decoded once, and the events of one fetch are handed to every subscriber as one shared array, so a
// subscriber does one socket write per fetch rather than one per event (a write costs far more than its
// bytes: fanning a 100-row transaction out to 100 clients one event at a time took ~250 ms of syscalls).
// A subscriber whose queue is full is not waited for (that would stall everyone) and not buffered further:
// it finishes its queue and continues on a consumer of its own from exactly the next offsets, so it still
// gets every event, in order.
import { randomUUID } from "node:crypto";
import type { Consumer, Kafka, KafkaMessage } from "kafkajs";
import type { Logger } from "../../lib/logger.ts";
import type { TopicBatch, TopicEvent } from "../runtime.ts";

export interface SharedTailDeps {
  kafka: Kafka;
  topic: string;
  logger: Logger;
  /** Events queued per subscriber before it moves to its own consumer (one fetch is always accepted). */
  queueSize: number;
  decode(partition: number, message: KafkaMessage): Promise<TopicEvent>;
  /** The end offset of every partition now. */
  latest(): Promise<Map<number, bigint>>;
  /** A dedicated consumer from these next offsets (for a subscriber that fell behind). */
  dedicated(next: Map<number, bigint>, signal: AbortSignal): AsyncIterable<TopicBatch>;
  /** The shared consumer stops this long after its last live subscriber left (default 30 s). */
  idleStopMs?: number;
}

/**
 * How long a fetch of the shared consumer waits on the broker for data. With kafkajs 2.2 on Kafka 4.1 a record
 * often reaches the consumer only when the wait expires, so it bounds the tail latency of live subscribers
 * (a plain consumer here: p99 111 ms at 100 ms, 58 ms at 20 ms, 44 ms at 5 ms, one run each under load); but
 * each empty fetch costs kafkajs ~1 ms of CPU (idle: 73 ms of CPU per second at 20 ms, 148 ms at 5 ms), and
 * the fan-out benchmark could not tell 5 from 20 apart under the shared machine's noise.
 */
export const tailFetchWaitMs = 20;

interface Subscriber {
  queue: TopicBatch[];
  queued: number;
  /** Next offset per partition after the last queued event. */
  next: Map<number, bigint>;
  overflowed: boolean;
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
  #consumer: Consumer | null = null;
  #idleTimer: NodeJS.Timeout | null = null;
  /** Subscribers that overflowed to their own consumer (tests and the benchmark read it). */
  detached = 0;

  /** Whether the shared consumer runs (it stops when idle). */
  get running(): boolean {
    return this.#consumer !== null;
  }

  constructor(deps: SharedTailDeps) {
    this.#deps = deps;
  }

  async *subscribe(signal: AbortSignal): AsyncIterable<TopicBatch> {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    await this.#ensureStarted();
    const sub: Subscriber = {
      queue: [],
      queued: 0,
      next: new Map(this.#position),
      overflowed: false,
      wake: null,
    };
    const onAbort = (): void => sub.wake?.();
    signal.addEventListener("abort", onAbort);
    this.#subscribers.add(sub);
    try {
      // Positioned: every fetch from now on reaches this subscriber (TopicRuntime.events).
      yield { from: new Map(sub.next), events: [] };
      while (!signal.aborted) {
        const batch = sub.queue.shift();
        if (batch) {
          sub.queued -= batch.events.length;
          yield batch;
          continue;
        }
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
    const consumer = this.#consumer;
    this.#consumer = null;
    this.#started = null;
    this.#pending = [];
    this.#pendingNext.clear();
    this.#position.clear();
    await consumer?.disconnect().catch(() => undefined);
  }

  #ensureStarted(): Promise<void> {
    this.#started ??= this.#start().catch((err: unknown) => {
      this.#started = null;
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
    for (const [p, o] of start) this.#position.set(p, o);
    const consumer = kafka.consumer({
      groupId: `mesh-tail-${randomUUID()}`,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      maxWaitTimeInMs: tailFetchWaitMs,
      allowAutoTopicCreation: false,
    });
    this.#consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const last = batch.messages.at(-1);
        // A consumer stopped for idleness may still deliver one fetch: the tail's state is not its anymore.
        if (!last || this.#consumer !== consumer) return;
        const next = BigInt(last.offset) + 1n;
        if (this.#subscribers.size > 0) {
          // Decoded in full before anything is queued: a failure retries the batch without duplicates.
          const events: TopicEvent[] = [];
          for (const message of batch.messages)
            events.push(await this.#deps.decode(batch.partition, message));
          if (this.#consumer !== consumer) return;
          for (const event of events) this.#pending.push(event);
        }
        this.#pendingNext.set(batch.partition, next);
        if (!this.#flushScheduled) {
          this.#flushScheduled = true;
          setImmediate(() => this.#flush());
        }
      },
    });
    for (const [partition, offset] of start) consumer.seek({ topic, partition, offset: offset.toString() });
  }
}
