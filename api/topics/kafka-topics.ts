// The topic runtime on Kafka: lists the domain topics of registered sources, and streams a topic's events
// decoded to lossless JSON. Each subscription is its own consumer (a throw-away group that never commits)
// positioned explicitly per partition; it feeds a bounded queue, and while the queue is full the consumer
// is paused and waits (heartbeating), so a slow HTTP client holds at most `queueSize` events in memory.
import { randomUUID } from "node:crypto";
import type { Admin, Kafka } from "kafkajs";
import { toJsonValue } from "../../lib/avro.ts";
import { MeshError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/logger.ts";
import { qualifiedTableTopic } from "../../protocol/topics.ts";
import { decode } from "../../protocol/wire.ts";
import type { Catalog } from "../catalog/catalog.ts";
import type { TopicBatch, TopicEvent, TopicInfo, TopicRuntime, TopicStart } from "../runtime.ts";
import type { RegistryClient } from "../../lib/registry-client.ts";
import { SharedTail } from "./shared-tail.ts";

export interface KafkaTopicsOptions {
  kafka: Kafka;
  registry: RegistryClient;
  catalog: Catalog;
  logger: Logger;
  /** Events buffered per subscriber before its consumer is paused. */
  queueSize?: number;
  /** A topic's shared live consumer stops this long after its last subscriber left (default 30 s). */
  idleStopMs?: number;
}

export class KafkaTopics implements TopicRuntime {
  readonly #kafka: Kafka;
  readonly #registry: RegistryClient;
  readonly #catalog: Catalog;
  readonly #logger: Logger;
  readonly #queueSize: number;
  readonly #idleStopMs: number | undefined;
  #admin: Promise<Admin> | null = null;
  #maxQueued = 0;
  readonly #tails = new Map<string, SharedTail>();

  constructor(options: KafkaTopicsOptions) {
    this.#kafka = options.kafka;
    this.#registry = options.registry;
    this.#catalog = options.catalog;
    this.#logger = options.logger;
    this.#queueSize = options.queueSize ?? 256;
    this.#idleStopMs = options.idleStopMs;
  }

  /** Topics whose shared live consumer runs now. */
  get liveTails(): number {
    return [...this.#tails.values()].filter((t) => t.running).length;
  }

  /** The most events any subscription has held at once (tests check the bound). */
  get maxQueued(): number {
    return this.#maxQueued;
  }

  /** Live subscribers that fell behind the shared tail and moved to their own consumer. */
  get detached(): number {
    return [...this.#tails.values()].reduce((n, t) => n + t.detached, 0);
  }

  /** Cheap (no Kafka, no registry): is this the topic of a registered source's table? */
  known(topic: string): boolean {
    return this.#catalog
      .sources()
      .some((s) => s.tables.some((t) => qualifiedTableTopic(s.name, t) === topic));
  }

  async stop(): Promise<void> {
    const tails = [...this.#tails.values()];
    this.#tails.clear();
    await Promise.all(tails.map((t) => t.stop()));
    const admin = this.#admin;
    this.#admin = null;
    if (admin) await (await admin).disconnect().catch(() => undefined);
  }

  async topics(): Promise<TopicInfo[]> {
    const wanted = this.#catalog.sources().flatMap((s) =>
      s.tables.map((table) => ({
        topic: qualifiedTableTopic(s.name, table),
        owner: s.owner,
        source: s.name,
        table,
        partitions: s.partitions,
      })),
    );
    if (wanted.length === 0) return [];
    const admin = await this.#adminClient();
    const existing = new Set(await admin.listTopics());
    const present = wanted.filter((w) => existing.has(w.topic)).map((w) => w.topic);
    const meta = present.length > 0 ? await admin.fetchTopicMetadata({ topics: present }) : { topics: [] };
    const partitions = new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
    return Promise.all(
      wanted.map(async (w) => ({
        ...w,
        partitions: partitions.get(w.topic) ?? w.partitions,
        keySubject: `${w.topic}-key`,
        valueSubject: `${w.topic}-value`,
        latestVersion: await this.#registry.latestVersion(`${w.topic}-value`),
      })),
    );
  }

  events(topic: string, start: TopicStart, signal: AbortSignal): AsyncIterable<TopicBatch> {
    // Live subscribers share one consumer per topic; any other start position reads on its own.
    if (start.kind === "latest") return this.#tail(topic).subscribe(signal);
    return this.#dedicated(topic, start, signal);
  }

  #tail(topic: string): SharedTail {
    let tail = this.#tails.get(topic);
    if (!tail) {
      tail = new SharedTail({
        kafka: this.#kafka,
        topic,
        logger: this.#logger,
        queueSize: this.#queueSize,
        decode: (partition, message) => this.#decode(partition, message),
        latest: () => this.#positions(topic, { kind: "latest" }),
        dedicated: (next, signal) =>
          this.#dedicated(topic, { kind: "resume", next, otherwise: "latest" }, signal),
        ...(this.#idleStopMs !== undefined ? { idleStopMs: this.#idleStopMs } : {}),
      });
      this.#tails.set(topic, tail);
    }
    return tail;
  }

  async *#dedicated(topic: string, start: TopicStart, signal: AbortSignal): AsyncIterable<TopicBatch> {
    const positions = await this.#positions(topic, start);
    // Where the reader stands (next offset per partition): each batch says where it starts.
    const position = new Map(positions);
    const queue: TopicEvent[] = [];
    let wake: (() => void) | null = null;
    let failure: unknown = null;
    const notify = (): void => {
      const w = wake;
      wake = null;
      w?.();
    };
    const consumer = this.#kafka.consumer({
      groupId: `mesh-sse-${randomUUID()}`,
      sessionTimeout: 60_000,
      heartbeatInterval: 3_000,
      maxWaitTimeInMs: 50,
      maxBytesPerPartition: 256 * 1024,
      allowAutoTopicCreation: false,
    });
    const onAbort = (): void => notify();
    signal.addEventListener("abort", onAbort);
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async (payload) => {
          const { message, partition } = payload;
          if (signal.aborted) return;
          queue.push(await this.#decode(partition, message));
          if (queue.length > this.#maxQueued) this.#maxQueued = queue.length;
          notify();
          if (queue.length < this.#queueSize) return;
          // Full: stop fetching until the reader has taken half, heartbeating so the group keeps us.
          const resume = payload.pause();
          while (queue.length > this.#queueSize / 2 && !signal.aborted) {
            await new Promise((r) => setTimeout(r, 20));
            await payload.heartbeat().catch(() => undefined);
          }
          resume();
        },
      });
      consumer.on(consumer.events.CRASH, (e) => {
        failure = e.payload.error;
        notify();
      });
      for (const [partition, offset] of positions)
        consumer.seek({ topic, partition, offset: offset.toString() });
      // Positioned: the offsets are fixed, so whatever is written from now on is read (TopicRuntime.events).
      yield { from: new Map(position), events: [] };
      while (!signal.aborted) {
        if (queue.length > 0) {
          // Everything queued so far in one piece: one socket write for the lot.
          const events = queue.splice(0);
          const from = new Map(position);
          for (const e of events) position.set(e.partition, BigInt(e.offset) + 1n);
          yield { from, events };
          continue;
        }
        if (failure) throw failure instanceof Error ? failure : new Error(JSON.stringify(failure));
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      await consumer
        .disconnect()
        .catch((err: unknown) =>
          this.#logger.warn({ err, topic }, "SSE consumer did not disconnect cleanly"),
        );
    }
  }

  async #decode(
    partition: number,
    message: { offset: string; timestamp: string; key: Buffer | null; value: Buffer | null },
  ): Promise<TopicEvent> {
    return {
      partition,
      offset: message.offset,
      timestamp: new Date(Number(message.timestamp)).toISOString(),
      key: await this.#decodeWire(message.key),
      value: await this.#decodeWire(message.value),
    };
  }

  async #decodeWire(buf: Buffer | null): Promise<unknown> {
    if (!buf) return null;
    const { type, value } = await decode((id) => this.#registry.typeById(id), buf);
    return toJsonValue(type, value);
  }

  /** The first offset to read in every partition, resolved now, so "latest" means latest at request time. */
  async #positions(topic: string, start: TopicStart): Promise<Map<number, bigint>> {
    const admin = await this.#adminClient();
    let offsets: { partition: number; low: string; high: string }[];
    try {
      offsets = await admin.fetchTopicOffsets(topic);
    } catch (err) {
      throw new MeshError("MESH_NOT_FOUND", `topic ${topic} does not exist yet: ${(err as Error).message}`, {
        topic,
      });
    }
    const out = new Map<number, bigint>();
    const clamp = (o: { low: string; high: string }, want: bigint): bigint =>
      want < BigInt(o.low) ? BigInt(o.low) : want > BigInt(o.high) ? BigInt(o.high) : want;
    let byTime: Map<number, bigint> | null = null;
    if (start.kind === "time") {
      const found = await admin.fetchTopicOffsetsByTimestamp(topic, start.ms);
      byTime = new Map(found.map((f) => [f.partition, BigInt(f.offset)]));
    }
    for (const o of offsets) {
      switch (start.kind) {
        case "earliest":
          out.set(o.partition, BigInt(o.low));
          break;
        case "latest":
          out.set(o.partition, BigInt(o.high));
          break;
        case "offset":
          out.set(o.partition, clamp(o, start.offset));
          break;
        case "time": {
          // -1: no message at or after the time, so start at the end.
          const at = byTime?.get(o.partition) ?? -1n;
          out.set(o.partition, at < 0n ? BigInt(o.high) : at);
          break;
        }
        case "resume": {
          const next = start.next.get(o.partition);
          out.set(
            o.partition,
            next !== undefined ? clamp(o, next) : BigInt(start.otherwise === "earliest" ? o.low : o.high),
          );
          break;
        }
      }
    }
    return out;
  }

  #adminClient(): Promise<Admin> {
    if (!this.#admin) {
      const admin = this.#kafka.admin();
      this.#admin = admin.connect().then(
        () => admin,
        (err: unknown) => {
          this.#admin = null;
          throw new MeshError(
            "MESH_KAFKA_UNAVAILABLE",
            `Kafka is unreachable: ${(err as Error).message}`,
            {},
          );
        },
      );
    }
    return this.#admin;
  }
}
