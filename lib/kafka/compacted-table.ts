// Owns CompactedTable: a compacted topic replayed into the caller's state (registry schemas, catalog, ...).
// start() reads every partition from its first offset up to the high watermark found at start, then the table
// keeps tailing; caughtUp() waits until everything below the high watermark of *now* was handed over (what a
// process needs before answering a read-your-writes request). Positions move by each batch's nextOffset, so
// compaction gaps and transaction markers never stall a wait. Under read_committed (the default), start() stops
// at the last stable offset, while caughtUp() waits for the high watermark: a transaction committed just before
// is included once its commit marker lands, and one still open holds caughtUp() until it ends (or the timeout).
// Partitions added to the topic after start() are not read. setTailPace() relaxes the tail (reader-fetch-loop.ts)
// for a holder that need not see each record at once; caughtUp() then waits up to its maxWaitMs longer.
import { MeshError } from "../errors.ts";
import type { KafkaConfig } from "./config.ts";
import type { InRecord, Isolation } from "./messages.ts";
import type { TailPace } from "./reader-fetch-loop.ts";
import { KafkaPartitionReader } from "./reader.ts";

export interface CompactedTableOptions {
  topic: string;
  /** Called for every record in offset order per partition (tombstones included: value null). */
  onRecord(record: InRecord): void;
  isolation?: Isolation;
}

export interface CompactedTable {
  /** Resolves when every record below the high watermark at start was handed over. */
  start(): Promise<void>;
  /** Resolves when every record below the high watermark *now* was handed over (default timeout 30 s). */
  caughtUp(timeoutMs?: number): Promise<void>;
  /** partition → the next offset to hand over. */
  readonly position: Map<number, bigint>;
  /** From the next fetch on, the broker holds each one until `pace` (none: answers at the first record). */
  setTailPace(pace: TailPace | undefined): void;
  stop(): Promise<void>;
}

export function createCompactedTable(config: KafkaConfig, options: CompactedTableOptions): CompactedTable {
  return new KafkaCompactedTable(config, options);
}

interface Waiter {
  ends: Map<number, bigint>;
  resolve: () => void;
  reject: (err: Error) => void;
}

class KafkaCompactedTable implements CompactedTable {
  readonly #options: CompactedTableOptions;
  readonly #config: KafkaConfig;
  readonly #reader: KafkaPartitionReader;
  readonly #positions = new Map<number, bigint>();
  readonly #waiters = new Set<Waiter>();
  readonly #stopping = new AbortController();
  #loop: Promise<void> | undefined;
  #failure: Error | undefined;

  constructor(config: KafkaConfig, options: CompactedTableOptions) {
    this.#config = config;
    this.#options = options;
    // The tail parks in the broker, which answers as soon as a record arrives: a long wait costs no latency.
    this.#reader = new KafkaPartitionReader(config, {
      isolation: options.isolation ?? "read_committed",
      maxWaitMs: 500,
    });
  }

  setTailPace(pace: TailPace | undefined): void {
    this.#reader.setPace(pace);
  }

  get position(): Map<number, bigint> {
    return new Map(this.#positions);
  }

  async start(): Promise<void> {
    if (this.#loop) throw new MeshError("MESH_INTERNAL", "Kafka: a CompactedTable starts once");
    const { topic } = this.#options;
    // Under read_committed the last stable offset: a transaction left open by a crashed writer does not hold
    // up a start (its writer's successor, which may be this process, aborts it later).
    const ends = await this.#reader.listOffsets(topic, "latest");
    const starts = await this.#reader.listOffsets(topic, "earliest");
    for (const [partition, offset] of starts) this.#positions.set(partition, offset);
    await this.#reader.assign([...starts].map(([partition, offset]) => ({ topic, partition, offset })));
    this.#loop = this.#run();
    await this.#reach(ends, undefined);
  }

  async caughtUp(timeoutMs = 30_000): Promise<void> {
    if (this.#failure) throw this.#failure;
    // The high watermark itself, also under read_committed: a transaction the caller committed just before
    // counts although its commit marker may not be written yet (the last stable offset would stop short of it).
    const ends = await this.#reader.listOffsets(this.#options.topic, "latest", {
      isolation: "read_uncommitted",
    });
    await this.#reach(ends, timeoutMs);
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#reader.close();
    await this.#loop;
    const stopped = new MeshError(
      "MESH_KAFKA_CLOSED",
      `Kafka: the table of ${this.#options.topic} was stopped`,
    );
    for (const w of this.#waiters) w.reject(stopped);
    this.#waiters.clear();
  }

  async #run(): Promise<void> {
    try {
      for await (const batch of this.#reader.batches(this.#stopping.signal)) {
        for (const record of batch.records) this.#options.onRecord(record);
        this.#positions.set(batch.partition, batch.nextOffset);
        for (const w of this.#waiters) {
          if (this.#reached(w.ends)) {
            this.#waiters.delete(w);
            w.resolve();
          }
        }
      }
    } catch (err) {
      const failure =
        err instanceof Error
          ? err
          : new MeshError("MESH_INTERNAL", `Kafka: reading ${this.#options.topic} failed`);
      this.#failure = failure;
      this.#config.logger?.error({ err, topic: this.#options.topic }, "compacted table stopped reading");
      for (const w of this.#waiters) w.reject(failure);
      this.#waiters.clear();
    }
  }

  #reached(ends: Map<number, bigint>): boolean {
    for (const [partition, end] of ends) {
      if ((this.#positions.get(partition) ?? 0n) < end) return false;
    }
    return true;
  }

  #reach(ends: Map<number, bigint>, timeoutMs: number | undefined): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#reached(ends)) return Promise.resolve();
    if (this.#stopping.signal.aborted) {
      return Promise.reject(
        new MeshError("MESH_KAFKA_CLOSED", `Kafka: the table of ${this.#options.topic} is stopped`),
      );
    }
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        ends,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.#waiters.delete(waiter);
          const behind = [...ends]
            .filter(([p, end]) => (this.#positions.get(p) ?? 0n) < end)
            .map(([p, end]) => ({
              partition: p,
              position: String(this.#positions.get(p) ?? 0n),
              end: String(end),
            }));
          reject(
            new MeshError(
              "MESH_KAFKA_TIMEOUT",
              `Kafka: the table of ${this.#options.topic} did not catch up within ${timeoutMs} ms`,
              { topic: this.#options.topic, behind },
            ),
          );
        }, timeoutMs);
      }
      this.#waiters.add(waiter);
    });
  }
}
