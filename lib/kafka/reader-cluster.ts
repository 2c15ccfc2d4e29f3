// Owns a PartitionReader's side of the cluster: the client Consumer, used only for metadata, ListOffsets and
// its low-level fetch() (never consume(), which always joins a group and does not drop aborted
// transactions), the connections fetches travel on, offset listing, the topics the client tracks, and telling
// a missing topic from other metadata failures.
// Fetches travel on connections of their own: a broker answers one connection's requests in order, so a fetch
// parked there would hold up the metadata and ListOffsets requests of assign() and caughtUp().
import {
  ConnectionPool,
  Consumer,
  FetchIsolationLevels,
  ListOffsetTimestamps,
  type ClusterMetadata,
  type ConnectionOptions,
  type ConsumerOptions,
  type fetchV17,
} from "@platformatic/kafka";
import { MeshError } from "../errors.ts";
import { createAdmin } from "./admin.ts";
import { clientOptions, type KafkaConfig } from "./config.ts";
import { kafkaError } from "./errors.ts";
import type { Isolation } from "./messages.ts";

export class ReaderCluster {
  readonly #config: KafkaConfig;
  readonly #consumer: Consumer;
  readonly #fetchConnections: ConnectionPool;
  readonly #isolation: Isolation;

  constructor(config: KafkaConfig, isolation: Isolation) {
    this.#config = config;
    this.#isolation = isolation;
    // The Consumer needs a group id, but this one never joins, commits or reads committed offsets.
    const base = clientOptions(config, "reader");
    const consumerOptions = {
      ...base,
      groupId: `${config.clientId}-reader-unused`,
      isolationLevel: isolationLevel(isolation),
    } as unknown as ConsumerOptions<Buffer, Buffer, Buffer, Buffer>;
    this.#consumer = new Consumer(consumerOptions);
    this.#fetchConnections = new ConnectionPool(`${config.clientId}-reader-fetch`, {
      ...(base as ConnectionOptions),
      requestTimeout: 30_000,
    });
  }

  /** See PartitionReader's listOffsets (reader.ts). */
  async listOffsets(
    topic: string,
    which: "earliest" | "latest",
    options: { partitions?: number[]; isolation?: Isolation } = {},
  ): Promise<Map<number, bigint>> {
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

  /** One Fetch request to `node`, on the fetch connections, at the reader's isolation. */
  fetch(
    node: number,
    topics: fetchV17.FetchRequestTopic[],
    maxBytes: number,
    maxWaitMs: number,
    minBytes = 1,
  ): Promise<fetchV17.FetchResponse> {
    return this.#consumer.fetch({
      node,
      topics,
      minBytes,
      maxBytes,
      maxWaitTime: maxWaitMs,
      isolationLevel: isolationLevel(this.#isolation),
      connectionPool: this.#fetchConnections,
    });
  }

  async metadata(topics: string[]): Promise<ClusterMetadata> {
    try {
      // The client sorts the array it is given: pass a copy.
      return await this.#consumer.metadata({ topics: [...topics] });
    } catch (err) {
      const classified = kafkaError(err, `reading metadata of ${topics.join(", ")}`, { topics });
      // A topic this principal may not describe is refused, not missing (its topic list would not show it).
      if (classified.code === "MESH_KAFKA_AUTH") throw classified;
      throw (await this.#missingTopic(topics)) ?? classified;
    }
  }

  /** Drops the client's cached metadata: leaders are looked up afresh on the next request. */
  clearMetadata(): void {
    this.#consumer.clearMetadata();
  }

  /** The client's fetch() looks up topic ids (and, on old brokers, names) among the topics it tracks. */
  track(wanted: Set<string>): void {
    for (const topic of this.#consumer.topics.current)
      if (!wanted.has(topic)) this.#consumer.topics.untrack(topic);
    for (const topic of wanted) if (!this.#consumer.topics.has(topic)) this.#consumer.topics.track(topic);
  }

  async close(): Promise<void> {
    const results = await Promise.allSettled([this.#consumer.close(), this.#fetchConnections.close()]);
    for (const r of results) {
      if (r.status === "rejected")
        this.#config.logger?.warn({ err: r.reason }, "closing a Kafka reader failed");
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
}

function isolationLevel(isolation: Isolation): number {
  return isolation === "read_committed"
    ? FetchIsolationLevels.READ_COMMITTED
    : FetchIsolationLevels.READ_UNCOMMITTED;
}
