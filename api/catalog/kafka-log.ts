// The catalog's log on Kafka: the compacted, single-partition topic `_mesh_catalog` (created if missing).
// Every process replays it from the beginning and then tails it (lib/kafka's CompactedTable: no consumer
// group, nothing committed: the topic is the state), so all processes see the same records in the same
// order. A write returns its offset; Catalog waits until this process's own tail has applied that offset.
import { withinTime } from "../../lib/time-limit.ts";
import { MeshError } from "../../lib/errors.ts";
import type { CompactedTable, InRecord, KafkaClient } from "../../lib/kafka/index.ts";
import type { Logger } from "../../lib/logger.ts";
import { CATALOG_TOPIC } from "../../protocol/topics.ts";
import type { CatalogLog } from "./catalog.ts";
import type { CatalogRecord } from "../../protocol/catalog.ts";
import { holdsPlainPassword, openRecord, sealRecord } from "./sealed-records.ts";
import type { CredentialCipher } from "./secrets.ts";

export const catalogTopic = CATALOG_TOPIC;

export interface KafkaCatalogLogOptions {
  kafka: KafkaClient;
  logger: Logger;
  topic?: string;
  /** How long start() waits for Kafka before failing with MESH_KAFKA_UNAVAILABLE. */
  startTimeoutMs?: number;
  /** Seals source passwords on write and opens them on read (sealed-records.ts); without it, plain. */
  cipher?: CredentialCipher;
}

type RecordHandler = (offset: bigint, key: string, value: CatalogRecord | null) => void;

export class KafkaCatalogLog implements CatalogLog {
  readonly topic: string;
  readonly #kafka: KafkaClient;
  readonly #logger: Logger;
  readonly #startTimeoutMs: number;
  readonly #cipher: CredentialCipher | null;
  #table: CompactedTable | null = null;
  /** Set by stop(): a start() still waiting for Kafka must not open a table afterwards. */
  #stopped = false;

  constructor(options: KafkaCatalogLogOptions) {
    this.#kafka = options.kafka;
    this.#logger = options.logger;
    this.topic = options.topic ?? catalogTopic;
    this.#startTimeoutMs = options.startTimeoutMs ?? 60_000;
    this.#cipher = options.cipher ?? null;
  }

  async start(onRecord: RecordHandler): Promise<void> {
    this.#stopped = false;
    const plain = new Set<string>();
    let replaying = true;
    // A record this key cannot open, met while replaying: the process refuses to run (the operator must
    // supply the key). Later, one record written with another key is skipped loudly instead.
    const replayFailed = Promise.withResolvers<never>();
    const handle = (record: InRecord): void => {
      const key = record.key?.toString("utf8");
      if (key === undefined) return;
      let value: CatalogRecord | null = null;
      try {
        value = record.value ? (JSON.parse(record.value.toString("utf8")) as CatalogRecord) : null;
      } catch (err) {
        // A record nobody can parse must not stop the catalog: skip it loudly.
        this.#logger.error({ err, key, offset: String(record.offset) }, "unreadable catalog record skipped");
      }
      if (value && this.#cipher) {
        if (holdsPlainPassword(value)) plain.add(key);
        else plain.delete(key);
        try {
          value = openRecord(value, this.#cipher);
        } catch (err) {
          if (replaying) replayFailed.reject(err);
          this.#logger.error({ err, key, offset: String(record.offset) }, "catalog record skipped");
          return;
        }
      } else if (!value) plain.delete(key);
      onRecord(record.offset, key, value);
    };

    const opening = this.#open(handle);
    // Whichever loses the race below must not surface as an unhandled rejection.
    opening.catch(() => undefined);
    replayFailed.promise.catch(() => undefined);
    try {
      await withinTime(
        Promise.race([opening, replayFailed.promise]),
        this.#startTimeoutMs,
        () =>
          new MeshError(
            "MESH_KAFKA_UNAVAILABLE",
            `the catalog did not replay within ${this.#startTimeoutMs} ms`,
          ),
      );
    } catch (err) {
      await this.stop();
      throw err;
    } finally {
      replaying = false;
    }
    if (plain.size > 0) {
      this.#logger.warn(
        { keys: [...plain] },
        "catalog records written before credential encryption still hold plain passwords; pausing and resuming each source rewrites it sealed",
      );
    }
  }

  /** Creates the topic if missing, then replays it to its end (the table keeps tailing afterwards). */
  async #open(handle: (record: InRecord) => void): Promise<void> {
    try {
      await this.#kafka
        .admin()
        .ensureTopics([
          { topic: this.topic, partitions: 1, compact: true, configs: { "min.insync.replicas": "1" } },
        ]);
    } catch (err) {
      throw new MeshError(
        "MESH_KAFKA_UNAVAILABLE",
        `cannot read the catalog topic ${this.topic}: ${(err as Error).message}`,
        {},
        { cause: err },
      );
    }
    if (this.#stopped) return;
    const table = this.#kafka.compactedTable({ topic: this.topic, onRecord: handle });
    this.#table = table;
    await table.start();
  }

  #seal(value: CatalogRecord): CatalogRecord {
    return this.#cipher ? sealRecord(value, this.#cipher) : value;
  }

  async append(key: string, value: CatalogRecord | null): Promise<bigint> {
    if (!this.#table) throw new MeshError("MESH_KAFKA_UNAVAILABLE", "the catalog is not started");
    // Sealed before the send: a key problem is the caller's error, not Kafka's.
    const stored = value === null ? null : JSON.stringify(this.#seal(value));
    try {
      // The client's shared idempotent producer, acks=all: the offset is that of a durable record.
      const [delivery] = await this.#kafka
        .producer()
        .send([{ topic: this.topic, key, value: stored, partition: 0 }]);
      if (!delivery) throw new Error("Kafka returned no offset");
      return delivery.offset;
    } catch (err) {
      throw new MeshError(
        "MESH_KAFKA_UNAVAILABLE",
        `could not write the catalog: ${(err as Error).message}`,
        {},
        { cause: err },
      );
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const table = this.#table;
    this.#table = null;
    await table?.stop().catch(() => undefined);
  }
}
