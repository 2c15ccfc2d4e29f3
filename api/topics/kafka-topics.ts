// The topic runtime on Kafka: lists the domain topics of registered sources, and streams a topic's events
// decoded to lossless JSON. Live subscribers share one reader per topic (shared-tail.ts); any other start is
// a reader of its own (lib/kafka's PartitionReader: no consumer group, read_committed) positioned explicitly
// per partition. A stream pulls a batch only when its client has taken the previous one, so a slow HTTP
// client holds at most `queueSize` decoded events (and one fetch of at most 256 KiB) in memory.
import { toJsonValue } from "../../lib/avro.ts";
import { realClock } from "../../lib/clock.ts";
import { isMeshError, MeshError } from "../../lib/errors.ts";
import type { InRecord, KafkaClient, PartitionOffsets } from "../../lib/kafka/index.ts";
import type { Logger } from "../../lib/logger.ts";
import { qualifiedTableTopic } from "../../protocol/topics.ts";
import { decode } from "../../protocol/wire.ts";
import type { Catalog } from "../catalog/catalog.ts";
import type { TopicBatch, TopicEvent, TopicInfo, TopicRuntime, TopicStart } from "../runtime.ts";
import type { RegistryClient } from "../../lib/registry-client.ts";
import { SharedTail } from "./shared-tail.ts";

/** Bytes one fetch of a dedicated stream's reader may bring (its memory bound besides the decoded queue). */
const DEDICATED_FETCH_BYTES = 256 * 1024;
/** Decoding waits out a registry that does not answer this many times (100 ms doubling: ~3 s) before failing. */
const DECODE_ATTEMPTS = 6;

export interface KafkaTopicsOptions {
  kafka: KafkaClient;
  registry: RegistryClient;
  catalog: Catalog;
  logger: Logger;
  /** Decoded events a subscriber holds at most (a live one beyond it moves to a reader of its own). */
  queueSize?: number;
  /** A topic's shared live reader stops this long after its last subscriber left (default 30 s). */
  idleStopMs?: number;
  /** Domain-event topics (api/events/event-topics.ts): streamed too, each record decoded its own way. */
  events?: { known(topic: string): boolean; decode(record: InRecord): Promise<TopicEvent> };
}

export class KafkaTopics implements TopicRuntime {
  readonly #kafka: KafkaClient;
  readonly #registry: RegistryClient;
  readonly #catalog: Catalog;
  readonly #logger: Logger;
  readonly #queueSize: number;
  readonly #idleStopMs: number | undefined;
  readonly #events: KafkaTopicsOptions["events"];
  #maxQueued = 0;
  readonly #tails = new Map<string, SharedTail>();

  constructor(options: KafkaTopicsOptions) {
    this.#kafka = options.kafka;
    this.#registry = options.registry;
    this.#catalog = options.catalog;
    this.#logger = options.logger;
    this.#queueSize = options.queueSize ?? 256;
    this.#idleStopMs = options.idleStopMs;
    this.#events = options.events;
  }

  /** Topics whose shared live reader runs now. */
  get liveTails(): number {
    return [...this.#tails.values()].filter((t) => t.running).length;
  }

  /** The most events any subscription has held at once (tests check the bound). */
  get maxQueued(): number {
    return this.#maxQueued;
  }

  /** Live subscribers that fell behind the shared tail and moved to their own reader. */
  get detached(): number {
    return [...this.#tails.values()].reduce((n, t) => n + t.detached, 0);
  }

  /** Cheap (no Kafka, no registry): is this the topic of a registered source's table? */
  known(topic: string): boolean {
    return (
      this.#catalog.sources().some((s) => s.tables.some((t) => qualifiedTableTopic(s.name, t) === topic)) ||
      this.#events?.known(topic) === true
    );
  }

  async stop(): Promise<void> {
    const tails = [...this.#tails.values()];
    this.#tails.clear();
    await Promise.all(tails.map((t) => t.stop()));
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
    // Topics not created yet (no event so far) are absent: they show the source's configured count.
    const partitions = await this.#kafka.admin().partitionCounts(wanted.map((w) => w.topic));
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
    // Live subscribers share one reader per topic; any other start position reads on its own.
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
        decode: (records) => this.#decodeAll(records),
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
    // A later assign never comes, so a long broker-side wait costs no latency (shared-tail.ts).
    const reader = this.#kafka.reader({ maxWaitMs: 500, maxBytes: DEDICATED_FETCH_BYTES });
    try {
      await reader.assign([...positions].map(([partition, offset]) => ({ topic, partition, offset })));
      // Positioned: the offsets are fixed, so whatever is written from now on is read (TopicRuntime.events).
      yield { from: new Map(position), events: [] };
      for await (const batch of reader.batches(signal)) {
        // In pieces of at most queueSize events, each one socket write; the next piece is decoded only
        // once the client has taken this one.
        for (let i = 0; i < batch.records.length && !signal.aborted; i += this.#queueSize) {
          const records = batch.records.slice(i, i + this.#queueSize);
          const events = await this.#decodeAll(records, signal);
          if (events.length > this.#maxQueued) this.#maxQueued = events.length;
          const from = new Map(position);
          position.set(batch.partition, records.at(-1)!.offset + 1n);
          yield { from, events };
        }
        // Past transaction markers and aborted records too.
        position.set(batch.partition, batch.nextOffset);
      }
    } finally {
      await reader
        .close()
        .catch((err: unknown) => this.#logger.warn({ err, topic }, "SSE reader did not close cleanly"));
    }
  }

  /**
   * One partition's records decoded in order. A registry that does not answer is waited out a few times
   * (the records stay where they are); what still fails, or fails for good, ends the stream with its error.
   */
  async #decodeAll(records: InRecord[], signal?: AbortSignal): Promise<TopicEvent[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        const events: TopicEvent[] = [];
        for (const record of records) events.push(await this.#decode(record));
        return events;
      } catch (err) {
        if (!isMeshError(err) || !err.retryable || attempt >= DECODE_ATTEMPTS || signal?.aborted) throw err;
        this.#logger.warn({ err, attempt }, "decoding topic events failed; retrying");
        await realClock.sleep(100 * 2 ** (attempt - 1), signal).catch(() => undefined);
      }
    }
  }

  async #decode(record: InRecord): Promise<TopicEvent> {
    if (this.#events?.known(record.topic)) return this.#events.decode(record);
    return {
      partition: record.partition,
      offset: String(record.offset),
      timestamp: new Date(record.timestamp).toISOString(),
      key: await this.#decodeWire(record.key),
      value: await this.#decodeWire(record.value),
    };
  }

  async #decodeWire(buf: Buffer | null): Promise<unknown> {
    if (!buf) return null;
    const { type, value } = await decode((id) => this.#registry.typeById(id), buf);
    return toJsonValue(type, value);
  }

  /**
   * The first offset to read in every partition, resolved now, so "latest" means latest at request time. The
   * streams read committed records, so "latest" is the last stable offset: a transaction still open now is
   * delivered once it commits. Offsets asked for are kept within what the partition holds.
   */
  async #positions(topic: string, start: TopicStart): Promise<Map<number, bigint>> {
    const admin = this.#kafka.admin();
    const needsHigh = start.kind === "offset" || start.kind === "resume";
    let offsets: Map<number, PartitionOffsets>;
    let high: Map<number, PartitionOffsets> | null;
    let byTime: Map<number, bigint> | null;
    try {
      [offsets, high, byTime] = await Promise.all([
        admin.offsets(topic, { isolation: "read_committed" }),
        needsHigh ? admin.offsets(topic) : null,
        start.kind === "time" ? admin.offsetsForTime(topic, start.ms) : null,
      ]);
    } catch (err) {
      if (isMeshError(err) && err.code === "MESH_KAFKA_TOPIC_MISSING") {
        throw new MeshError("MESH_NOT_FOUND", `topic ${topic} does not exist yet: ${err.message}`, {
          topic,
        });
      }
      throw err;
    }
    const out = new Map<number, bigint>();
    const clamp = (partition: number, low: bigint, want: bigint): bigint => {
      const end = high?.get(partition)?.high ?? want;
      return want < low ? low : want > end ? end : want;
    };
    for (const [partition, { low, high: stable }] of offsets) {
      switch (start.kind) {
        case "earliest":
          out.set(partition, low);
          break;
        case "latest":
          out.set(partition, stable);
          break;
        case "offset":
          out.set(partition, clamp(partition, low, start.offset));
          break;
        case "time":
          // No record at or after the time: the end.
          out.set(partition, byTime?.get(partition) ?? stable);
          break;
        case "resume": {
          const next = start.next.get(partition);
          out.set(
            partition,
            next !== undefined ? clamp(partition, low, next) : start.otherwise === "earliest" ? low : stable,
          );
          break;
        }
      }
    }
    return out;
  }
}
