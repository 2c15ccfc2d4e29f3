// The catalog's log on Kafka: the compacted, single-partition topic `_mesh_catalog` (created if missing).
// Every process tails it from the beginning with its own throw-away consumer group (no commits: the topic
// is the state, replayed whole at each start), so all processes see the same records in the same order.
import { randomUUID } from "node:crypto";
import type { Admin, Consumer, Kafka, Producer } from "kafkajs";
import { CATALOG_TOPIC } from "../../protocol/topics.ts";
import { MeshError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/logger.ts";
import type { CatalogLog } from "./catalog.ts";
import type { CatalogRecord } from "../../protocol/catalog.ts";
import { holdsPlainPassword, openRecord, sealRecord } from "./sealed-records.ts";
import type { CredentialCipher } from "./secrets.ts";

export const catalogTopic = CATALOG_TOPIC;

export interface KafkaCatalogLogOptions {
  kafka: Kafka;
  logger: Logger;
  topic?: string;
  /** How long start() waits for Kafka before failing with MESH_KAFKA_UNAVAILABLE. */
  startTimeoutMs?: number;
  /** Seals source passwords on write and opens them on read (sealed-records.ts); without it, plain. */
  cipher?: CredentialCipher;
}

export class KafkaCatalogLog implements CatalogLog {
  readonly topic: string;
  readonly #kafka: Kafka;
  readonly #logger: Logger;
  readonly #startTimeoutMs: number;
  readonly #cipher: CredentialCipher | null;
  #producer: Producer | null = null;
  #consumer: Consumer | null = null;

  constructor(options: KafkaCatalogLogOptions) {
    this.#kafka = options.kafka;
    this.#logger = options.logger;
    this.topic = options.topic ?? catalogTopic;
    this.#startTimeoutMs = options.startTimeoutMs ?? 60_000;
    this.#cipher = options.cipher ?? null;
  }

  async start(onRecord: (offset: bigint, key: string, value: CatalogRecord | null) => void): Promise<void> {
    const admin = this.#kafka.admin();
    let endOffset: bigint;
    try {
      await admin.connect();
      await ensureTopic(admin, this.topic);
      const offsets = await admin.fetchTopicOffsets(this.topic);
      endOffset = BigInt(offsets.find((o) => o.partition === 0)?.high ?? "0");
    } catch (err) {
      throw new MeshError(
        "MESH_KAFKA_UNAVAILABLE",
        `cannot read the catalog topic ${this.topic}: ${(err as Error).message}`,
        {},
        { cause: err },
      );
    } finally {
      await admin.disconnect().catch(() => undefined);
    }

    this.#producer = this.#kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    await this.#producer.connect();

    const consumer = this.#kafka.consumer({
      groupId: `mesh-catalog-${randomUUID()}`,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      maxWaitTimeInMs: 100,
      allowAutoTopicCreation: false,
    });
    this.#consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: true });

    let caughtUp: () => void = () => undefined;
    let failReplay: (err: unknown) => void = () => undefined;
    let replaying = true;
    const replayed = new Promise<void>((resolve, reject) => {
      caughtUp = resolve;
      failReplay = reject;
    });
    if (endOffset === 0n) caughtUp();
    const plain = new Set<string>();
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        const offset = BigInt(message.offset);
        const key = message.key?.toString("utf8");
        if (key !== undefined) {
          let value: CatalogRecord | null = null;
          try {
            value = message.value ? (JSON.parse(message.value.toString("utf8")) as CatalogRecord) : null;
          } catch (err) {
            // A record nobody can parse must not stop the catalog: skip it loudly.
            this.#logger.error({ err, key, offset: message.offset }, "unreadable catalog record skipped");
          }
          if (value && this.#cipher) {
            if (holdsPlainPassword(value)) plain.add(key);
            else plain.delete(key);
            try {
              value = openRecord(value, this.#cipher);
            } catch (err) {
              // At start the process refuses to run (the operator must supply the key); later, one record
              // written with another key is skipped loudly rather than stopping the catalog.
              if (replaying) failReplay(err);
              this.#logger.error({ err, key, offset: message.offset }, "catalog record skipped");
              return;
            }
          } else if (!value) plain.delete(key);
          onRecord(offset, key, value);
        }
        if (offset + 1n >= endOffset) caughtUp();
        return Promise.resolve();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new MeshError(
              "MESH_KAFKA_UNAVAILABLE",
              `the catalog did not replay within ${this.#startTimeoutMs} ms`,
            ),
          ),
        this.#startTimeoutMs,
      );
    });
    try {
      await Promise.race([replayed, timeout]);
    } catch (err) {
      await this.stop();
      throw err;
    } finally {
      clearTimeout(timer);
      replaying = false;
    }
    if (plain.size > 0) {
      this.#logger.warn(
        { keys: [...plain] },
        "catalog records written before credential encryption still hold plain passwords; pausing and resuming each source rewrites it sealed",
      );
    }
  }

  #seal(value: CatalogRecord): CatalogRecord {
    return this.#cipher ? sealRecord(value, this.#cipher) : value;
  }

  async append(key: string, value: CatalogRecord | null): Promise<bigint> {
    if (!this.#producer) throw new MeshError("MESH_KAFKA_UNAVAILABLE", "the catalog is not started");
    // Sealed before the send: a key problem is the caller's error, not Kafka's.
    const stored = value === null ? null : JSON.stringify(this.#seal(value));
    try {
      const [meta] = await this.#producer.send({
        topic: this.topic,
        acks: -1,
        messages: [{ key, value: stored, partition: 0 }],
      });
      if (!meta?.baseOffset) throw new Error("Kafka returned no offset");
      return BigInt(meta.baseOffset);
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
    await this.#consumer?.disconnect().catch(() => undefined);
    await this.#producer?.disconnect().catch(() => undefined);
    this.#consumer = null;
    this.#producer = null;
  }
}

async function ensureTopic(admin: Admin, topic: string): Promise<void> {
  const existing = await admin.listTopics();
  if (existing.includes(topic)) return;
  // createTopics resolves false when another process created the topic first: that is fine.
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic,
        numPartitions: 1,
        configEntries: [
          { name: "cleanup.policy", value: "compact" },
          { name: "min.insync.replicas", value: "1" },
        ],
      },
    ],
  });
}
