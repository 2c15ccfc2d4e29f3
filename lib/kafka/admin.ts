// Admin operations the roles need: topics (create and wait until usable, partition counts, configs),
// offsets (low/high per partition under an isolation level, offsets for a time), consumer groups (describe
// with the classic consumer protocol decoded, list, delete) and a readiness ping. Errors are MeshErrors.
import {
  Admin as ClientAdmin,
  ConfigResourceTypes,
  IncrementalAlterConfigOperationTypes,
  FetchIsolationLevels,
  ListOffsetTimestamps,
  type AdminOptions,
} from "@platformatic/kafka";
import { MeshError } from "../errors.ts";
import { PlatformaticAccess, type KafkaAccess } from "./access.ts";
import { clientOptions, type KafkaConfig } from "./config.ts";
import { kafkaError, kafkaErrorId } from "./errors.ts";
import type { Isolation } from "./messages.ts";

export interface TopicSpec {
  topic: string;
  partitions: number;
  /** cleanup.policy=compact */
  compact?: boolean;
  /** Further topic configs (e.g. retention.ms). */
  configs?: Record<string, string>;
}

export interface GroupMemberDescription {
  memberId: string;
  clientId: string;
  host: string;
  /** The member's userData from its subscription (empty when it has none). */
  userData: Buffer;
  /** topic -> partitions assigned to the member. */
  assignment: Map<string, number[]>;
}

export interface GroupDescription {
  groupId: string;
  /** Kafka's group state: Stable, PreparingRebalance, CompletingRebalance, Empty, Dead (no such group). */
  state: string;
  /** The assignor the group agreed on. */
  protocol: string;
  members: GroupMemberDescription[];
}

export interface PartitionOffsets {
  low: bigint;
  high: bigint;
}

export interface KafkaAdmin {
  listTopics(): Promise<string[]>;
  /** Creates the missing topics, waits until metadata shows them with leaders; partition counts of all. */
  ensureTopics(specs: TopicSpec[]): Promise<Map<string, number>>;
  /** Topics that do not exist are absent from the map. */
  partitionCounts(topics: string[]): Promise<Map<string, number>>;
  /** Per partition: low (log start) and high (high watermark, or last stable offset under read_committed). */
  offsets(topic: string, options?: { isolation?: Isolation }): Promise<Map<number, PartitionOffsets>>;
  /** Per partition: the first offset whose timestamp is at or after `ms`, else the high watermark. */
  offsetsForTime(topic: string, ms: number): Promise<Map<number, bigint>>;
  /** The named configs of a topic (names the broker does not know are absent). */
  topicConfig(topic: string, names: string[]): Promise<Record<string, string>>;
  /** Sets these configs of an existing topic (others keep their values). Needs AlterConfigs on it. */
  setTopicConfig(topic: string, configs: Record<string, string>): Promise<void>;
  describeGroup(groupId: string): Promise<GroupDescription>;
  /** Several groups in one request per coordinator (lineage: who reads what). */
  describeGroups(groupIds: string[]): Promise<GroupDescription[]>;
  /** Committed offsets: group → topic → partition → the next offset it will read (no commit: absent). */
  groupOffsets(groupIds: string[]): Promise<Map<string, Map<string, Map<number, bigint>>>>;
  listGroups(): Promise<string[]>;
  /** Deleting a group that does not exist is not an error. */
  deleteGroups(groupIds: string[]): Promise<void>;
  /** Deleting a topic that does not exist is not an error. */
  deleteTopics(topics: string[]): Promise<void>;
  /** One metadata round trip (readiness). */
  ping(): Promise<void>;
}

export interface AdminTiming {
  /** How long ensureTopics waits for new topics to show up in metadata with leaders. */
  topicReadyTimeoutMs?: number;
}

export class PlatformaticAdmin implements KafkaAdmin {
  readonly #client: ClientAdmin;
  readonly #topicReadyTimeoutMs: number;
  readonly #config: KafkaConfig;
  #access: KafkaAccess | null = null;

  constructor(config: KafkaConfig, timing: AdminTiming = {}) {
    this.#config = config;
    this.#client = new ClientAdmin(clientOptions(config, "admin") as unknown as AdminOptions);
    this.#topicReadyTimeoutMs = timing.topicReadyTimeoutMs ?? 30_000;
  }

  /** SCRAM users and ACLs on this admin's connections (access.ts), in the mechanism this process logs in with. */
  access(): KafkaAccess {
    const mechanism = this.#config.sasl?.mechanism === "SCRAM-SHA-256" ? "SCRAM-SHA-256" : "SCRAM-SHA-512";
    this.#access ??= new PlatformaticAccess(this.#client, mechanism);
    return this.#access;
  }

  async #call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw kafkaError(err, what);
    }
  }

  listTopics(): Promise<string[]> {
    return this.#call("listing topics", () => this.#client.listTopics());
  }

  async ensureTopics(specs: TopicSpec[]): Promise<Map<string, number>> {
    if (specs.length === 0) return new Map();
    const existing = new Set(await this.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    // One request per topic: a CreateTopics request's configs apply to every topic in it.
    await Promise.all(missing.map((spec) => this.#create(spec)));
    return this.#waitForTopics(specs.map((s) => s.topic));
  }

  async #create(spec: TopicSpec): Promise<void> {
    const configs = { ...(spec.compact ? { "cleanup.policy": "compact" } : {}), ...spec.configs };
    try {
      await this.#client.createTopics({
        topics: [spec.topic],
        partitions: spec.partitions,
        replicas: -1,
        configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
      });
    } catch (err) {
      // Another process created it between our list and our create: theirs stands, like any existing topic.
      if (kafkaErrorId(err) === "TOPIC_ALREADY_EXISTS") return;
      throw kafkaError(err, `creating topic ${spec.topic}`, { topic: spec.topic });
    }
  }

  /** Metadata propagates asynchronously after a create: wait until every topic has all its leaders. */
  async #waitForTopics(topics: string[]): Promise<Map<string, number>> {
    const deadline = Date.now() + this.#topicReadyTimeoutMs;
    let lastError: unknown = null;
    for (let attempt = 0; ; attempt++) {
      try {
        const metadata = await this.#client.metadata({ topics, forceUpdate: true, retries: 0 });
        const counts = new Map<string, number>();
        let ready = true;
        for (const topic of topics) {
          const t = metadata.topics.get(topic);
          if (!t || t.partitionsCount < 1 || t.partitions.some((p) => p === undefined || p.leader < 0))
            ready = false;
          else counts.set(topic, t.partitionsCount);
        }
        if (ready) return counts;
      } catch (err) {
        lastError = err;
      }
      if (Date.now() > deadline) {
        throw new MeshError(
          "MESH_KAFKA_TIMEOUT",
          `Kafka: topics ${topics.join(", ")} did not become ready within ${this.#topicReadyTimeoutMs} ms`,
          { topics },
          { cause: lastError },
        );
      }
      await new Promise((r) => setTimeout(r, Math.min(50 * (attempt + 1), 500)));
    }
  }

  async partitionCounts(topics: string[]): Promise<Map<string, number>> {
    const existing = new Set(await this.listTopics());
    const present = [...new Set(topics)].filter((t) => existing.has(t));
    if (present.length === 0) return new Map();
    const metadata = await this.#call("reading topic metadata", () =>
      this.#client.metadata({ topics: present, forceUpdate: true }),
    );
    const counts = new Map<string, number>();
    for (const topic of present) {
      const count = metadata.topics.get(topic)?.partitionsCount;
      if (count) counts.set(topic, count);
    }
    return counts;
  }

  async #partitionsOf(topic: string): Promise<number[]> {
    const count = (await this.partitionCounts([topic])).get(topic);
    if (count === undefined)
      throw new MeshError("MESH_KAFKA_TOPIC_MISSING", `Kafka: topic ${topic} does not exist`, { topic });
    return Array.from({ length: count }, (_, i) => i);
  }

  async #listOffsets(
    topic: string,
    partitions: number[],
    timestamp: bigint,
    isolation: Isolation,
  ): Promise<Map<number, bigint>> {
    const listed = await this.#call(`listing offsets of ${topic}`, () =>
      this.#client.listOffsets({
        topics: [
          { name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp })) },
        ],
        isolationLevel:
          isolation === "read_committed"
            ? FetchIsolationLevels.READ_COMMITTED
            : FetchIsolationLevels.READ_UNCOMMITTED,
      }),
    );
    const out = new Map<number, bigint>();
    for (const t of listed) for (const p of t.partitions) out.set(p.partitionIndex, p.offset);
    return out;
  }

  async offsets(
    topic: string,
    options: { isolation?: Isolation } = {},
  ): Promise<Map<number, PartitionOffsets>> {
    const partitions = await this.#partitionsOf(topic);
    const isolation = options.isolation ?? "read_uncommitted";
    // Kafka refuses the same partition twice in one ListOffsets request: two requests.
    const [low, high] = await Promise.all([
      this.#listOffsets(topic, partitions, ListOffsetTimestamps.EARLIEST, isolation),
      this.#listOffsets(topic, partitions, ListOffsetTimestamps.LATEST, isolation),
    ]);
    const out = new Map<number, PartitionOffsets>();
    for (const p of partitions) out.set(p, { low: low.get(p) ?? 0n, high: high.get(p) ?? 0n });
    return out;
  }

  async offsetsForTime(topic: string, ms: number): Promise<Map<number, bigint>> {
    const partitions = await this.#partitionsOf(topic);
    const [atTime, high] = await Promise.all([
      this.#listOffsets(topic, partitions, BigInt(Math.trunc(ms)), "read_uncommitted"),
      this.#listOffsets(topic, partitions, ListOffsetTimestamps.LATEST, "read_uncommitted"),
    ]);
    const out = new Map<number, bigint>();
    for (const p of partitions) {
      const offset = atTime.get(p);
      // -1: no record at or after that time.
      out.set(p, offset === undefined || offset < 0n ? (high.get(p) ?? 0n) : offset);
    }
    return out;
  }

  async topicConfig(topic: string, names: string[]): Promise<Record<string, string>> {
    const described = await this.#call(`describing the configs of ${topic}`, () =>
      this.#client.describeConfigs({
        resources: [
          { resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configurationKeys: names },
        ],
      }),
    );
    const out: Record<string, string> = {};
    for (const resource of described) {
      for (const c of resource.configs)
        if (typeof c.value === "string" && names.includes(c.name)) out[c.name] = c.value;
    }
    return out;
  }

  async setTopicConfig(topic: string, configs: Record<string, string>): Promise<void> {
    await this.#call(`setting configs of ${topic}`, () =>
      this.#client.incrementalAlterConfigs({
        resources: [
          {
            resourceType: ConfigResourceTypes.TOPIC,
            resourceName: topic,
            configs: Object.entries(configs).map(([name, value]) => ({
              name,
              value,
              configOperation: IncrementalAlterConfigOperationTypes.SET,
            })),
          },
        ],
      }),
    );
  }

  async describeGroup(groupId: string): Promise<GroupDescription> {
    return (await this.describeGroups([groupId]))[0]!;
  }

  async describeGroups(groupIds: string[]): Promise<GroupDescription[]> {
    if (groupIds.length === 0) return [];
    const groups = await this.#call(`describing groups ${groupIds.join(", ")}`, () =>
      this.#client.describeGroups({ groups: groupIds }),
    );
    return groupIds.map((groupId) => describedGroup(groupId, groups.get(groupId)));
  }

  async groupOffsets(groupIds: string[]): Promise<Map<string, Map<string, Map<number, bigint>>>> {
    const out = new Map<string, Map<string, Map<number, bigint>>>();
    if (groupIds.length === 0) return out;
    const listed = await this.#call("listing consumer group offsets", () =>
      this.#client.listConsumerGroupOffsets({ groups: groupIds }),
    );
    for (const group of listed) {
      const topics = new Map<string, Map<number, bigint>>();
      for (const t of group.topics) {
        const partitions = new Map<number, bigint>();
        for (const p of t.partitions)
          if (p.committedOffset >= 0n) partitions.set(p.partitionIndex, p.committedOffset);
        if (partitions.size > 0) topics.set(t.name, partitions);
      }
      out.set(group.groupId, topics);
    }
    return out;
  }

  async listGroups(): Promise<string[]> {
    const groups = await this.#call("listing groups", () => this.#client.listGroups());
    return [...groups.keys()];
  }

  async deleteGroups(groupIds: string[]): Promise<void> {
    if (groupIds.length === 0) return;
    try {
      await this.#client.deleteGroups({ groups: groupIds });
    } catch (err) {
      if (kafkaErrorId(err) === "GROUP_ID_NOT_FOUND") {
        // One of them did not exist: delete the others one by one so that each absent one is skipped.
        if (groupIds.length > 1) await Promise.all(groupIds.map((g) => this.deleteGroups([g])));
        return;
      }
      throw kafkaError(err, `deleting groups ${groupIds.join(", ")}`);
    }
  }

  async deleteTopics(topics: string[]): Promise<void> {
    const existing = new Set(await this.listTopics());
    const present = topics.filter((t) => existing.has(t));
    if (present.length === 0) return;
    await this.#call(`deleting topics ${present.join(", ")}`, () =>
      this.#client.deleteTopics({ topics: present }),
    );
  }

  async ping(): Promise<void> {
    await this.#call("fetching cluster metadata", () =>
      this.#client.metadata({ topics: [], forceUpdate: true }),
    );
  }

  async close(): Promise<void> {
    await this.#client.close().catch(() => undefined);
  }
}

type ClientGroup =
  Awaited<ReturnType<ClientAdmin["describeGroups"]>> extends Map<string, infer G> ? G : never;

function describedGroup(groupId: string, group: ClientGroup | undefined): GroupDescription {
  if (!group) return { groupId, state: "Dead", protocol: "", members: [] };
  return {
    groupId,
    state: group.state,
    protocol: group.protocol,
    members: [...group.members.values()].map((m) => {
      const userData = m.metadata?.metadata;
      return {
        memberId: m.id,
        clientId: m.clientId,
        host: m.clientHost,
        userData: userData === undefined || userData === null ? Buffer.alloc(0) : Buffer.from(userData),
        assignment: new Map([...(m.assignments?.values() ?? [])].map((a) => [a.topic, [...a.partitions]])),
      };
    }),
  };
}

export function createAdmin(config: KafkaConfig, timing: AdminTiming = {}): PlatformaticAdmin {
  return new PlatformaticAdmin(config, timing);
}
