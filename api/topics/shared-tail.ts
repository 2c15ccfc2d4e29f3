// One Kafka consumer per topic for every live (`from=latest`) subscriber of this process: each message is
// decoded once and handed to every subscriber's bounded queue. A subscriber whose queue is full is not
// waited for (that would stall everyone) and not buffered further: it finishes its queue and continues on
// a consumer of its own from exactly the next offsets, so it still gets every event, in order.
import { randomUUID } from "node:crypto";
import type { Consumer, Kafka, KafkaMessage } from "kafkajs";
import type { Logger } from "../../lib/logger.ts";
import type { TopicEvent } from "../runtime.ts";

export interface SharedTailDeps {
  kafka: Kafka;
  topic: string;
  logger: Logger;
  queueSize: number;
  decode(partition: number, message: KafkaMessage): Promise<TopicEvent>;
  /** The end offset of every partition now. */
  latest(): Promise<Map<number, bigint>>;
  /** A dedicated consumer from these next offsets (for a subscriber that fell behind). */
  dedicated(next: Map<number, bigint>, signal: AbortSignal): AsyncIterable<TopicEvent>;
}

interface Subscriber {
  queue: TopicEvent[];
  /** Next offset per partition after the last queued event. */
  next: Map<number, bigint>;
  overflowed: boolean;
  wake: (() => void) | null;
}

export class SharedTail {
  readonly #deps: SharedTailDeps;
  readonly #subscribers = new Set<Subscriber>();
  readonly #position = new Map<number, bigint>();
  #started: Promise<void> | null = null;
  #consumer: Consumer | null = null;
  /** Subscribers that overflowed to their own consumer (tests and the benchmark read it). */
  detached = 0;

  constructor(deps: SharedTailDeps) {
    this.#deps = deps;
  }

  async *subscribe(signal: AbortSignal): AsyncIterable<TopicEvent> {
    await this.#ensureStarted();
    const sub: Subscriber = { queue: [], next: new Map(this.#position), overflowed: false, wake: null };
    const onAbort = (): void => sub.wake?.();
    signal.addEventListener("abort", onAbort);
    this.#subscribers.add(sub);
    try {
      while (!signal.aborted) {
        const event = sub.queue.shift();
        if (event) {
          yield event;
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
    }
  }

  async stop(): Promise<void> {
    const consumer = this.#consumer;
    this.#consumer = null;
    this.#started = null;
    await consumer?.disconnect().catch(() => undefined);
  }

  #ensureStarted(): Promise<void> {
    this.#started ??= this.#start().catch((err: unknown) => {
      this.#started = null;
      throw err;
    });
    return this.#started;
  }

  async #start(): Promise<void> {
    const { kafka, topic } = this.#deps;
    const start = await this.#deps.latest();
    for (const [p, o] of start) this.#position.set(p, o);
    const consumer = kafka.consumer({
      groupId: `mesh-tail-${randomUUID()}`,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      maxWaitTimeInMs: 20,
      allowAutoTopicCreation: false,
    });
    this.#consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const next = BigInt(message.offset) + 1n;
        if (this.#subscribers.size === 0) {
          this.#position.set(partition, next);
          return;
        }
        const event = await this.#deps.decode(partition, message);
        this.#position.set(partition, next);
        for (const sub of this.#subscribers) {
          if (sub.overflowed) continue;
          if (sub.queue.length >= this.#deps.queueSize) {
            sub.overflowed = true;
          } else {
            sub.queue.push(event);
            sub.next.set(partition, next);
          }
          sub.wake?.();
        }
      },
    });
    for (const [partition, offset] of start) consumer.seek({ topic, partition, offset: offset.toString() });
  }
}
