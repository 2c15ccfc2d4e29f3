// Owns PartitionReader: reading explicit partitions from explicit offsets with no consumer group and nothing
// committed (positions belong to the caller: LevelDB, SSE ids, ...). Built on the client Consumer's low-level
// fetch(), not its consume(): consume() always joins a group and does not drop aborted transactions.
// - Fetches travel on connections of their own: a broker answers one connection's requests in order, so a
//   fetch parked there would hold up the metadata and ListOffsets requests of assign() and caughtUp().
// - One fetch in flight per broker, carrying every assigned partition that broker leads (the client keeps a
//   KIP-227 fetch session per broker, which needs the full wanted set each time); a partition is never in
//   two requests at once, so batches of a partition come in offset order.
// - minBytes 1 and maxWaitMs: an idle tail parks in the broker, which answers as soon as a record arrives;
//   the loop never polls on its own. maxWaitMs only bounds how late a new assign() joins an in-flight fetch.
// - read_committed: the broker stops at the last stable offset; fetched-records.ts drops aborted transactions
//   and markers while nextOffset still moves past them.
// - Errors: the client retries leader moves and broker restarts itself; what outlives its retries is retried
//   here with a capped backoff, forever (a broker outage is waited out). OFFSET_OUT_OF_RANGE and refused
//   credentials end the iterator with a non-retryable MeshError.
import {
  ConnectionPool,
  Consumer,
  FetchIsolationLevels,
  ListOffsetTimestamps,
  type ClusterMetadata,
  type ConnectionOptions,
  type ConsumerOptions,
} from "@platformatic/kafka";
import { realClock } from "../clock.ts";
import { MeshError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { createAdmin } from "./admin.ts";
import { clientOptions, type KafkaConfig } from "./config.ts";
import { kafkaError } from "./errors.ts";
import { batchesOf, outOfRangeError, partitionKey, planFetch, type PartitionRequest } from "./fetch-round.ts";
import type { Isolation, RecordBatch } from "./messages.ts";

export interface ReaderOptions {
  /** Default read_committed. */
  isolation?: Isolation;
  /** How long the broker may hold a fetch that found nothing (default 20 ms). */
  maxWaitMs?: number;
  /** Bytes per fetch response (default 16 MiB; a partition gets at most 1 MiB of it per fetch). */
  maxBytes?: number;
}

export type StartOffset = bigint | "earliest" | "latest";

export interface PartitionReader {
  /** Start (or move) reading these partitions at these offsets; "earliest"/"latest" resolved at call time. */
  assign(positions: { topic: string; partition: number; offset: StartOffset }[]): Promise<void>;
  unassign(partitions: { topic: string; partition: number }[]): void;
  /**
   * Batches in offset order per partition; aborted transactions and control records are filtered out under
   * read_committed. The iterator ends when the signal aborts or close() is called. One iterator at a time.
   */
  batches(signal?: AbortSignal): AsyncIterable<RecordBatch>;
  close(): Promise<void>;
}

export function createReader(config: KafkaConfig, options: ReaderOptions = {}): PartitionReader {
  return new KafkaPartitionReader(config, options);
}

interface Position {
  topic: string;
  partition: number;
  offset: bigint;
  inflight: boolean;
}

type Requested = PartitionRequest<Position>;

interface FetchResult {
  node: number;
  requested: Requested[];
  batches: { batch: RecordBatch; from: Requested }[];
  fatal?: MeshError;
}

const MAX_BACKOFF_MS = 5_000;
const PARTITION_MAX_BYTES = 1 << 20;

export class KafkaPartitionReader implements PartitionReader {
  readonly #config: KafkaConfig;
  readonly #consumer: Consumer;
  readonly #fetchConnections: ConnectionPool;
  readonly #isolation: Isolation;
  readonly #maxWaitMs: number;
  readonly #maxBytes: number;
  readonly #logger: Logger | undefined;
  readonly #positions = new Map<string, Position>();
  /** The latest assign/unassign call that touched each partition: an older assign resolving late loses. */
  readonly #claims = new Map<string, number>();
  #claimSeq = 0;
  readonly #closing = new AbortController();
  #closed: Promise<void> | undefined;
  #iterating = false;
  #failures = 0;
  #wakeup = Promise.withResolvers<void>();

  constructor(config: KafkaConfig, options: ReaderOptions = {}) {
    this.#config = config;
    this.#isolation = options.isolation ?? "read_committed";
    this.#maxWaitMs = options.maxWaitMs ?? 20;
    this.#maxBytes = options.maxBytes ?? 16 * PARTITION_MAX_BYTES;
    this.#logger = config.logger;
    // The Consumer needs a group id, but this one never joins, commits or reads committed offsets.
    const base = clientOptions(config, "reader");
    const consumerOptions = {
      ...base,
      groupId: `${config.clientId}-reader-unused`,
      isolationLevel: this.#isolationLevel,
    } as unknown as ConsumerOptions<Buffer, Buffer, Buffer, Buffer>;
    this.#consumer = new Consumer(consumerOptions);
    this.#fetchConnections = new ConnectionPool(`${config.clientId}-reader-fetch`, {
      ...(base as ConnectionOptions),
      requestTimeout: 30_000,
    });
  }

  get #isolationLevel(): number {
    return isolationLevel(this.#isolation);
  }

  async assign(positions: { topic: string; partition: number; offset: StartOffset }[]): Promise<void> {
    this.#checkOpen();
    if (positions.length === 0) return;
    const claim = ++this.#claimSeq;
    const keys = positions.map((p) => partitionKey(p.topic, p.partition));
    for (const key of keys) this.#claims.set(key, claim);
    try {
      const offsets = await this.#resolve(positions);
      if (this.#closing.signal.aborted) return;
      positions.forEach((p, i) => {
        if (this.#claims.get(keys[i]!) !== claim) return;
        // A fresh object: a fetch in flight for the old position is recognised as stale by identity.
        this.#positions.set(keys[i]!, {
          topic: p.topic,
          partition: p.partition,
          offset: offsets[i]!,
          inflight: false,
        });
      });
      this.#syncTopics();
      this.#wake();
    } finally {
      for (const key of keys) if (this.#claims.get(key) === claim) this.#claims.delete(key);
    }
  }

  unassign(partitions: { topic: string; partition: number }[]): void {
    for (const p of partitions) {
      const key = partitionKey(p.topic, p.partition);
      // An assign still resolving for this partition no longer holds the claim: it will not apply.
      this.#claims.delete(key);
      this.#positions.delete(key);
    }
    this.#syncTopics();
    this.#wake();
  }

  /** Checks the partitions exist and turns "earliest"/"latest" into offsets, in the order given. */
  async #resolve(positions: { topic: string; partition: number; offset: StartOffset }[]): Promise<bigint[]> {
    const metadata = await this.#metadata([...new Set(positions.map((p) => p.topic))]);
    for (const p of positions) {
      const count = metadata.topics.get(p.topic)?.partitionsCount ?? 0;
      if (!Number.isInteger(p.partition) || p.partition < 0 || p.partition >= count) {
        throw new MeshError(
          "MESH_KAFKA_TOPIC_MISCONFIGURED",
          `Kafka: topic ${p.topic} has ${count} partitions; partition ${p.partition} cannot be read`,
          { topic: p.topic, partition: p.partition, partitions: count },
        );
      }
      if (typeof p.offset === "bigint" && p.offset < 0n) {
        const where = { topic: p.topic, partition: p.partition };
        throw new MeshError(
          "MESH_BAD_REQUEST",
          `Kafka: offset ${p.offset} of ${p.topic}/${p.partition} is negative`,
          where,
        );
      }
    }
    const resolved = new Map<string, bigint>();
    for (const which of ["earliest", "latest"] as const) {
      const byTopic = new Map<string, number[]>();
      for (const p of positions) {
        if (p.offset === which) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
      }
      for (const [topic, partitions] of byTopic) {
        const offsets = await this.listOffsets(topic, which, { partitions });
        for (const [partition, offset] of offsets)
          resolved.set(`${which}\u0000${partitionKey(topic, partition)}`, offset);
      }
    }
    return positions.map((p) =>
      typeof p.offset === "bigint"
        ? p.offset
        : resolved.get(`${p.offset}\u0000${partitionKey(p.topic, p.partition)}`)!,
    );
  }

  /**
   * The first ("earliest") or next-to-be-written ("latest") offset of each partition of `topic` (of
   * `partitions` only, when given). "latest" is the last stable offset under read_committed: pass
   * `isolation: "read_uncommitted"` for the high watermark itself.
   */
  async listOffsets(
    topic: string,
    which: "earliest" | "latest",
    options: { partitions?: number[]; isolation?: Isolation } = {},
  ): Promise<Map<number, bigint>> {
    this.#checkOpen();
    const isolation = options.isolation ?? this.#isolation;
    try {
      const offsets = await this.#consumer.listOffsets({
        topics: [topic],
        ...(options.partitions ? { partitions: { [topic]: options.partitions } } : {}),
        timestamp: which === "earliest" ? ListOffsetTimestamps.EARLIEST : ListOffsetTimestamps.LATEST,
        isolationLevel: isolationLevel(isolation),
      });
      const out = new Map<number, bigint>();
      (offsets.get(topic) ?? []).forEach((offset, partition) => {
        if (offset !== undefined) out.set(partition, offset);
      });
      return out;
    } catch (err) {
      throw kafkaError(err, `listing ${which} offsets of ${topic}`, { topic });
    }
  }

  async *batches(signal?: AbortSignal): AsyncGenerator<RecordBatch> {
    if (this.#iterating) {
      throw new MeshError(
        "MESH_INTERNAL",
        "Kafka: a PartitionReader serves one batches() iterator at a time",
      );
    }
    this.#iterating = true;
    // Also aborted when the caller stops iterating, so that backoff pauses end with the iterator.
    const ended = new AbortController();
    const stop = AbortSignal.any([ended.signal, this.#closing.signal, ...(signal ? [signal] : [])]);
    const onStop = (): void => this.#wake();
    stop.addEventListener("abort", onStop);
    const inflight = new Map<number, Promise<FetchResult>>();
    try {
      while (!stop.aborted) {
        const woken = this.#wakeup.promise;
        await this.#startFetches(inflight, stop);
        if (stop.aborted) break;
        if (inflight.size === 0) {
          await woken;
          continue;
        }
        const done = await Promise.race([woken.then(() => null), ...inflight.values()]);
        if (done === null) continue;
        inflight.delete(done.node);
        for (const r of done.requested) r.owner.inflight = false;
        if (done.fatal) throw done.fatal;
        for (const { batch, from } of done.batches) {
          // Moved or unassigned since the request went out (possibly while an earlier batch was handed over).
          const current = this.#positions.get(partitionKey(batch.topic, batch.partition));
          if (current !== from.owner || current.offset !== from.fetchOffset) continue;
          current.offset = batch.nextOffset;
          yield batch;
          if (stop.aborted) break;
        }
      }
    } finally {
      stop.removeEventListener("abort", onStop);
      ended.abort();
      // Fetches still out (at most maxWaitMs, or the client's own retries) release their partitions when they
      // settle; their data is dropped, and a later iterator fetches those partitions again.
      for (const pending of inflight.values()) {
        void pending.then(({ requested }) => {
          for (const r of requested) r.owner.inflight = false;
          this.#wake();
        });
      }
      this.#iterating = false;
    }
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing.abort();
      this.#wake();
      const results = await Promise.allSettled([this.#consumer.close(), this.#fetchConnections.close()]);
      for (const r of results) {
        if (r.status === "rejected") this.#logger?.warn({ err: r.reason }, "closing a Kafka reader failed");
      }
    })();
    return this.#closed;
  }

  /** Starts a fetch on every broker without one in flight that leads a partition waiting to be read. */
  async #startFetches(inflight: Map<number, Promise<FetchResult>>, stop: AbortSignal): Promise<void> {
    const idle = [...this.#positions.values()].filter((p) => !p.inflight);
    if (idle.length === 0) return;
    let metadata: ClusterMetadata;
    try {
      metadata = await this.#metadata([...new Set(idle.map((p) => p.topic))]);
    } catch (err) {
      if (!stop.aborted) await this.#backoff(err, "reading metadata", stop);
      return;
    }
    const byNode = new Map<number, Position[]>();
    let leaderless = 0;
    for (const p of idle) {
      if (p.inflight || this.#positions.get(partitionKey(p.topic, p.partition)) !== p) continue;
      const leader = metadata.topics.get(p.topic)?.partitions[p.partition]?.leader ?? -1;
      if (leader < 0 || !metadata.brokers.has(leader)) {
        leaderless++;
        continue;
      }
      if (inflight.has(leader)) continue;
      byNode.set(leader, [...(byNode.get(leader) ?? []), p]);
    }
    for (const [node, positions] of byNode) {
      for (const p of positions) p.inflight = true;
      inflight.set(node, this.#fetch(node, positions, metadata, stop));
    }
    if (leaderless > 0 && inflight.size === 0) {
      // Nothing in flight will wake the loop: wait, then ask for fresh metadata.
      this.#consumer.clearMetadata();
      await this.#backoff(new Error(`${leaderless} partition(s) without a leader`), "finding leaders", stop);
    }
  }

  async #fetch(
    node: number,
    positions: Position[],
    metadata: ClusterMetadata,
    stop: AbortSignal,
  ): Promise<FetchResult> {
    const requested = positions.map((owner) => ({
      topic: owner.topic,
      partition: owner.partition,
      fetchOffset: owner.offset,
      owner,
    }));
    const plan = planFetch(
      requested,
      (topic) => metadata.topics.get(topic)!.id,
      Math.min(PARTITION_MAX_BYTES, this.#maxBytes),
    );
    const result: FetchResult = { node, requested, batches: [] };
    try {
      const response = await this.#consumer.fetch({
        node,
        topics: plan.topics,
        minBytes: 1,
        maxBytes: this.#maxBytes,
        maxWaitTime: this.#maxWaitMs,
        isolationLevel: this.#isolationLevel,
        connectionPool: this.#fetchConnections,
      });
      this.#failures = 0;
      return { ...result, batches: batchesOf(plan, response, this.#isolation) };
    } catch (err) {
      if (stop.aborted) return result;
      const outOfRange = outOfRangeError(plan, err);
      if (outOfRange) return { ...result, fatal: outOfRange };
      const classified = kafkaError(err, `fetching from broker ${node}`);
      if (classified.code === "MESH_KAFKA_AUTH") return { ...result, fatal: classified };
      this.#consumer.clearMetadata();
      await this.#backoff(err, `fetching from broker ${node}`, stop);
      return result;
    }
  }

  async #backoff(err: unknown, what: string, stop: AbortSignal): Promise<void> {
    this.#failures++;
    const ms = Math.min(MAX_BACKOFF_MS, 100 * 2 ** Math.min(this.#failures - 1, 10));
    this.#logger?.warn(
      { err, failures: this.#failures, retryInMs: ms },
      `Kafka reader: ${what} failed; retrying`,
    );
    // Rejects when `stop` aborts: the iterator is ending anyway.
    await realClock.sleep(ms, stop).catch(() => undefined);
  }

  async #metadata(topics: string[]): Promise<ClusterMetadata> {
    try {
      // The client sorts the array it is given: pass a copy.
      return await this.#consumer.metadata({ topics: [...topics] });
    } catch (err) {
      throw (
        (await this.#missingTopic(topics)) ??
        kafkaError(err, `reading metadata of ${topics.join(", ")}`, { topics })
      );
    }
  }

  /** The client reports an unknown topic only in its message text: ask the cluster which topics exist. */
  async #missingTopic(topics: string[]): Promise<MeshError | undefined> {
    const admin = createAdmin(this.#config);
    try {
      const existing = new Set(await admin.listTopics());
      const missing = topics.find((t) => !existing.has(t));
      if (missing === undefined) return undefined;
      return new MeshError("MESH_KAFKA_TOPIC_MISSING", `Kafka: topic ${missing} does not exist`, {
        topic: missing,
      });
    } catch {
      return undefined;
    } finally {
      await admin.close();
    }
  }

  /** The client's fetch() looks up topic ids (and, on old brokers, names) among the topics it tracks. */
  #syncTopics(): void {
    const wanted = new Set([...this.#positions.values()].map((p) => p.topic));
    for (const topic of this.#consumer.topics.current)
      if (!wanted.has(topic)) this.#consumer.topics.untrack(topic);
    for (const topic of wanted) if (!this.#consumer.topics.has(topic)) this.#consumer.topics.track(topic);
  }

  #wake(): void {
    this.#wakeup.resolve();
    this.#wakeup = Promise.withResolvers<void>();
  }

  #checkOpen(): void {
    if (this.#closing.signal.aborted) throw new MeshError("MESH_KAFKA_CLOSED", "Kafka: the reader is closed");
  }
}

function isolationLevel(isolation: Isolation): number {
  return isolation === "read_committed"
    ? FetchIsolationLevels.READ_COMMITTED
    : FetchIsolationLevels.READ_UNCOMMITTED;
}
