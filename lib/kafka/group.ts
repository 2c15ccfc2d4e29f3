// Owns GroupMember: membership of a classic Kafka consumer group, and nothing else (no data is consumed,
// nothing is committed; data is read with a PartitionReader from the caller's own positions). Kafka's
// coordinator decides who is in the group; the caller's `assign` deals the partitions, run by whichever member
// the coordinator makes group leader; each member's `userData` (e.g. the URL it answers on) travels in its
// subscription metadata, so the assigner and describeGroup see it.
// Built on the client Consumer's joinGroup(): it heartbeats, rejoins when the coordinator announces a
// rebalance (onRebalancing, then onAssignment again), and stop() leaves the group so the others rebalance at
// once instead of after the session timeout. When a rejoin fails beyond the client's retries, this module
// keeps trying with a capped backoff until it is a member again or stopped.
// One limit of the client: a group with a single member gets every partition without `assign` being asked.
import { Consumer, type ClusterMetadata, type ConsumerOptions, type GroupOptions } from "@platformatic/kafka";
import { MeshError } from "../errors.ts";
import { clientOptions, type KafkaConfig } from "./config.ts";
import { kafkaError } from "./errors.ts";

export interface GroupMemberOptions {
  groupId: string;
  topics: string[];
  /** The group protocol (assignor) name: members of one group must agree. */
  protocol: string;
  /** Sent at every join. */
  userData: () => Buffer;
  /** Deals `partitions` (topic → partition numbers) to `members`: memberId → topic → partitions. */
  assign(
    members: { memberId: string; userData: Buffer }[],
    partitions: Map<string, number[]>,
  ): Map<string, Map<string, number[]>>;
  /** After each (re)join: this member's partitions, topic → partition numbers. */
  onAssignment(assignment: Map<string, number[]>): void;
  /** The coordinator announced a rebalance: the last assignment is about to change. */
  onRebalancing?(): void;
  /** Default 10 s; at least the broker's group.min.session.timeout.ms (6 s by default). */
  sessionTimeoutMs?: number;
}

export interface GroupMember {
  /** Resolves once this member joined and its first assignment was handed to onAssignment. */
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly memberId: string | null;
}

export function createGroupMember(config: KafkaConfig, options: GroupMemberOptions): GroupMember {
  return new KafkaGroupMember(config, options);
}

const MAX_REJOIN_BACKOFF_MS = 5_000;

class KafkaGroupMember implements GroupMember {
  readonly #options: GroupMemberOptions;
  readonly #config: KafkaConfig;
  readonly #consumer: Consumer;
  readonly #group: GroupOptions;
  #state: "new" | "joining" | "member" | "stopped" = "new";
  #rejoinTimer: NodeJS.Timeout | undefined;
  #rejoinFailures = 0;

  constructor(config: KafkaConfig, options: GroupMemberOptions) {
    this.#config = config;
    this.#options = options;
    const sessionTimeout = options.sessionTimeoutMs ?? 10_000;
    // Heartbeats are how a member learns of a rebalance, so they set how fast a joining member is let in.
    const heartbeatInterval = Math.max(100, Math.min(1_000, Math.floor(sessionTimeout / 6)));
    this.#group = {
      sessionTimeout,
      rebalanceTimeout: sessionTimeout,
      heartbeatInterval,
      protocols: [{ name: options.protocol, version: 1 }],
      protocolsMetadata: () => options.userData(),
      partitionAssigner: (_leader, members, topics, metadata) => this.#assign(members, topics, metadata),
    };
    const consumerOptions = {
      ...clientOptions(config, `group-${options.groupId}`),
      groupId: options.groupId,
      autocommit: false,
      ...this.#group,
    } as unknown as ConsumerOptions<Buffer, Buffer, Buffer, Buffer>;
    this.#consumer = new Consumer(consumerOptions);
    this.#consumer.on("consumer:group:join", (payload) => {
      if (this.#state === "stopped") return;
      this.#rejoinFailures = 0;
      const assignment = new Map<string, number[]>();
      for (const a of payload.assignments ?? [])
        assignment.set(
          a.topic,
          [...a.partitions].sort((x, y) => x - y),
        );
      this.#options.onAssignment(assignment);
    });
    this.#consumer.on("consumer:group:rebalance", () => {
      if (this.#state !== "stopped") this.#options.onRebalancing?.();
    });
    // The client emits "error" when a rejoin after a failed heartbeat gives up; without a listener Node would
    // throw it. The member is out of the group then: keep trying.
    this.#consumer.on("error", (err: unknown) => {
      if (this.#state !== "member") return;
      this.#config.logger?.warn({ err, group: options.groupId }, "Kafka group: rejoining failed; retrying");
      this.#options.onRebalancing?.();
      this.#scheduleRejoin();
    });
  }

  get memberId(): string | null {
    return this.#consumer.memberId;
  }

  async start(): Promise<void> {
    if (this.#state !== "new") throw new MeshError("MESH_INTERNAL", "Kafka: a GroupMember starts once");
    this.#state = "joining";
    // joinGroup() subscribes to the topics the consumer tracks (consume() would track them itself).
    this.#consumer.topics.trackAll(...this.#options.topics);
    try {
      await this.#consumer.joinGroup({ ...this.#group });
    } catch (err) {
      // (Read through a method: TypeScript would keep the narrowing from before the await.)
      const stopped = this.#stopped();
      await this.stop();
      if (stopped)
        throw new MeshError("MESH_KAFKA_CLOSED", `Kafka: group ${this.#options.groupId} member stopped`);
      throw kafkaError(err, `joining group ${this.#options.groupId}`, { groupId: this.#options.groupId });
    }
    if (this.#state === "joining") this.#state = "member";
  }

  async stop(): Promise<void> {
    if (this.#state === "stopped") return;
    this.#state = "stopped";
    clearTimeout(this.#rejoinTimer);
    // close() leaves the group first (the others rebalance now, not after the session timeout).
    await this.#consumer.close(true).catch((err: unknown) => {
      this.#config.logger?.warn({ err, group: this.#options.groupId }, "Kafka group: leaving failed");
    });
  }

  #stopped(): boolean {
    return this.#state === "stopped";
  }

  #scheduleRejoin(): void {
    if (this.#rejoinTimer !== undefined || this.#state !== "member") return;
    const ms = Math.min(MAX_REJOIN_BACKOFF_MS, 250 * 2 ** Math.min(this.#rejoinFailures, 8));
    this.#rejoinFailures++;
    this.#rejoinTimer = setTimeout(() => {
      this.#rejoinTimer = undefined;
      if (this.#state !== "member") return;
      this.#consumer.joinGroup({ ...this.#group }).catch((err: unknown) => {
        if (this.#state !== "member") return;
        this.#config.logger?.warn(
          { err, group: this.#options.groupId },
          "Kafka group: rejoining failed; retrying",
        );
        this.#scheduleRejoin();
      });
    }, ms);
  }

  /** Runs on the member the coordinator made group leader: the caller's deal, in the client's shape. */
  #assign(
    members: Map<string, { memberId: string; metadata?: Buffer | string }>,
    topics: Set<string>,
    metadata: ClusterMetadata,
  ): { memberId: string; assignments: Map<string, { topic: string; partitions: number[] }> }[] {
    const list = [...members.values()]
      .map((m) => ({ memberId: m.memberId, userData: toBuffer(m.metadata) }))
      .sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
    const partitions = new Map<string, number[]>();
    for (const topic of topics) {
      const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
      partitions.set(
        topic,
        Array.from({ length: count }, (_, i) => i),
      );
    }
    const dealt = this.#options.assign(list, partitions);
    return list.map(({ memberId }) => {
      const assignments = new Map<string, { topic: string; partitions: number[] }>();
      for (const [topic, ps] of dealt.get(memberId) ?? []) {
        const valid = new Set(partitions.get(topic) ?? []);
        const mine = ps.filter((p) => valid.has(p));
        if (mine.length > 0) assignments.set(topic, { topic, partitions: mine });
      }
      return { memberId, assignments };
    });
  }
}

function toBuffer(data: Buffer | string | null | undefined): Buffer {
  if (data === null || data === undefined) return Buffer.alloc(0);
  return typeof data === "string" ? Buffer.from(data) : data;
}
