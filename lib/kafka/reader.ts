// Owns PartitionReader: reading explicit partitions from explicit offsets with no consumer group and nothing
// committed (positions belong to the caller: LevelDB, SSE ids, ...), and its lifecycle (open until close()).
// Built on the client Consumer's low-level fetch(), not its consume(): consume() always joins a group and
// does not drop aborted transactions. The parts: reader-positions.ts (what is assigned, at which offset),
// reader-fetch-loop.ts (the batches() iterator: fetches per broker, retries with backoff), reader-cluster.ts
// (the client: metadata, offset listing, the fetch request); fetch-round.ts and fetched-records.ts hold the
// pure request and response handling.
import { MeshError } from "../errors.ts";
import type { KafkaConfig } from "./config.ts";
import type { Isolation, RecordBatch } from "./messages.ts";
import { ReaderCluster } from "./reader-cluster.ts";
import { FetchLoop, type TailPace } from "./reader-fetch-loop.ts";
import { ReaderPositions, resolveStartOffsets, type StartOffset } from "./reader-positions.ts";

export type { StartOffset };

export interface ReaderOptions {
  /** Default read_committed. */
  isolation?: Isolation;
  /** How long the broker may hold a fetch that found nothing (default 20 ms). */
  maxWaitMs?: number;
  /** Bytes per fetch response (default 16 MiB; a partition gets at most 1 MiB of it per fetch). */
  maxBytes?: number;
}

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

export class KafkaPartitionReader implements PartitionReader {
  readonly #cluster: ReaderCluster;
  readonly #positions = new ReaderPositions();
  readonly #loop: FetchLoop;
  readonly #closing = new AbortController();
  #closed: Promise<void> | undefined;

  constructor(config: KafkaConfig, options: ReaderOptions = {}) {
    const isolation = options.isolation ?? "read_committed";
    this.#cluster = new ReaderCluster(config, isolation);
    this.#loop = new FetchLoop(this.#cluster, this.#positions, this.#closing.signal, {
      isolation,
      maxWaitMs: options.maxWaitMs,
      maxBytes: options.maxBytes,
      logger: config.logger,
    });
  }

  async assign(positions: { topic: string; partition: number; offset: StartOffset }[]): Promise<void> {
    this.#checkOpen();
    if (positions.length === 0) return;
    const resolve = (wanted: typeof positions) =>
      resolveStartOffsets(
        wanted,
        (topics) => this.#cluster.metadata(topics),
        (topic, which, options) => this.listOffsets(topic, which, options),
      );
    if (!(await this.#positions.assign(positions, resolve, this.#closing.signal))) return;
    this.#cluster.track(this.#positions.topics());
    this.#loop.wake();
  }

  unassign(partitions: { topic: string; partition: number }[]): void {
    this.#positions.unassign(partitions);
    this.#cluster.track(this.#positions.topics());
    this.#loop.wake();
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
    return this.#cluster.listOffsets(topic, which, options);
  }

  batches(signal?: AbortSignal): AsyncGenerator<RecordBatch> {
    return this.#loop.batches(signal);
  }

  /** reader-fetch-loop.ts: a relaxed pace (fewer fetches, records seen up to maxWaitMs later), or none. */
  setPace(pace: TailPace | undefined): void {
    this.#loop.setPace(pace);
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing.abort();
      this.#loop.wake();
      await this.#cluster.close();
    })();
    return this.#closed;
  }

  #checkOpen(): void {
    if (this.#closing.signal.aborted) throw new MeshError("MESH_KAFKA_CLOSED", "Kafka: the reader is closed");
  }
}
