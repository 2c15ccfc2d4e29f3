// Owns a PartitionReader's fetch loop: the batches() iterator, the fetches in flight, and retries.
// - One fetch in flight per broker, carrying every assigned partition that broker leads (the client keeps a
//   KIP-227 fetch session per broker, which needs the full wanted set each time); a partition is never in
//   two requests at once, so batches of a partition come in offset order.
// - minBytes 1 and maxWaitMs: an idle tail parks in the broker, which answers as soon as a record arrives;
//   the loop never polls on its own. maxWaitMs only bounds how late a new assign() joins an in-flight fetch.
//   A relaxed pace (setPace: a TailPace) asks the broker to hold each fetch until minBytes or maxWaitMs: a
//   reader that need not see each record at once (the registry leader's read-back of its own writes) then
//   costs one fetch per maxWaitMs instead of one per write, on both sides. The next fetch takes it up.
// - read_committed: the broker stops at the last stable offset; fetched-records.ts drops aborted transactions
//   and markers while nextOffset still moves past them.
// - Errors: the client retries leader moves and broker restarts itself; what outlives its retries is retried
//   here with a capped backoff, forever (a broker outage is waited out). OFFSET_OUT_OF_RANGE and refused
//   credentials end the iterator with a non-retryable MeshError.
import type { ClusterMetadata } from "@platformatic/kafka";
import { realClock } from "../clock.ts";
import { MeshError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { kafkaError } from "./errors.ts";
import { batchesOf, outOfRangeError, planFetch, type PartitionRequest } from "./fetch-round.ts";
import type { Isolation, RecordBatch } from "./messages.ts";
import type { ReaderCluster } from "./reader-cluster.ts";
import type { Position, ReaderPositions } from "./reader-positions.ts";

/** How long the broker holds a fetch: until `minBytes` are there or `maxWaitMs` passed. */
export interface TailPace {
  minBytes: number;
  maxWaitMs: number;
}

export interface FetchLoopOptions {
  isolation: Isolation;
  /** How long the broker may hold a fetch that found nothing (default 20 ms). */
  maxWaitMs?: number | undefined;
  /** Bytes per fetch response (default 16 MiB; a partition gets at most 1 MiB of it per fetch). */
  maxBytes?: number | undefined;
  logger?: Logger | undefined;
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

export class FetchLoop {
  readonly #cluster: ReaderCluster;
  readonly #positions: ReaderPositions;
  /** Aborted when the reader closes: ends the iterator. */
  readonly #closing: AbortSignal;
  readonly #isolation: Isolation;
  readonly #maxWaitMs: number;
  #pace: TailPace | undefined;
  readonly #maxBytes: number;
  readonly #logger: Logger | undefined;
  #iterating = false;
  #failures = 0;
  #wakeup = Promise.withResolvers<void>();

  constructor(
    cluster: ReaderCluster,
    positions: ReaderPositions,
    closing: AbortSignal,
    options: FetchLoopOptions,
  ) {
    this.#cluster = cluster;
    this.#positions = positions;
    this.#closing = closing;
    this.#isolation = options.isolation;
    this.#maxWaitMs = options.maxWaitMs ?? 20;
    this.#maxBytes = options.maxBytes ?? 16 * PARTITION_MAX_BYTES;
    this.#logger = options.logger;
  }

  /** Each fetch from the next on waits for `pace`; none (the default) answers at the first record. */
  setPace(pace: TailPace | undefined): void {
    this.#pace = pace;
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
    const stop = AbortSignal.any([ended.signal, this.#closing, ...(signal ? [signal] : [])]);
    const onStop = (): void => this.wake();
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
          const current = this.#positions.current(batch.topic, batch.partition);
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
          this.wake();
        });
      }
      this.#iterating = false;
    }
  }

  /** Wakes the loop to look at the positions again (assigned, moved, unassigned) or to see it must stop. */
  wake(): void {
    this.#wakeup.resolve();
    this.#wakeup = Promise.withResolvers<void>();
  }

  /** Starts a fetch on every broker without one in flight that leads a partition waiting to be read. */
  async #startFetches(inflight: Map<number, Promise<FetchResult>>, stop: AbortSignal): Promise<void> {
    const idle = this.#positions.idle();
    if (idle.length === 0) return;
    let metadata: ClusterMetadata;
    try {
      metadata = await this.#cluster.metadata([...new Set(idle.map((p) => p.topic))]);
    } catch (err) {
      if (!stop.aborted) await this.#backoff(err, "reading metadata", stop);
      return;
    }
    const byNode = new Map<number, Position[]>();
    let leaderless = 0;
    for (const p of idle) {
      if (p.inflight || this.#positions.current(p.topic, p.partition) !== p) continue;
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
      this.#cluster.clearMetadata();
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
      const pace = this.#pace;
      const response = await this.#cluster.fetch(
        node,
        plan.topics,
        this.#maxBytes,
        pace?.maxWaitMs ?? this.#maxWaitMs,
        pace?.minBytes ?? 1,
      );
      this.#failures = 0;
      return { ...result, batches: batchesOf(plan, response, this.#isolation) };
    } catch (err) {
      if (stop.aborted) return result;
      const outOfRange = outOfRangeError(plan, err);
      if (outOfRange) return { ...result, fatal: outOfRange };
      const classified = kafkaError(err, `fetching from broker ${node}`);
      if (classified.code === "MESH_KAFKA_AUTH") return { ...result, fatal: classified };
      this.#cluster.clearMetadata();
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
}
