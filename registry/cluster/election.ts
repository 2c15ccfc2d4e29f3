// Owns leader election through Kafka, for the registry's processes and for any other single-holder role (the
// API uses one per source, so exactly one process runs its connector): every process joins one consumer group
// on a one-partition coordination topic; the member assigned partition 0 is the leader. Our own partition assigner
// (run by whichever member Kafka makes group leader) keeps the current leader if it is still a member, else picks
// the longest-running member. Each member advertises its URL in its group metadata, so followers find the
// leader's URL by describing the group. No consensus of our own: Kafka's group coordinator decides.
import type { Admin, Consumer, Kafka, PartitionAssigner } from "kafkajs";
import { AssignerProtocol } from "kafkajs";
import type { Logger } from "pino";

export interface ElectionOptions {
  kafka: Kafka;
  topic: string;
  groupId: string;
  url: string;
  logger: Logger;
  /** The group protocol name (members of one group must agree); the registry's by default. */
  protocol?: string;
  /** true: this process is the leader; false: another is; undefined: a rebalance is in progress. */
  onChange: (leader: boolean | undefined) => void;
}

interface MemberInfo {
  url: string;
  since: number;
  leader: boolean;
}

const REGISTRY_PROTOCOL = "datamesh-registry-leader";

export class LeaderElection {
  private readonly options: ElectionOptions;
  private readonly since = Date.now();
  private consumer: Consumer | undefined;
  private admin: Admin | undefined;
  private leader = false;
  private cachedLeaderUrl: string | undefined;

  private readonly protocolName: string;

  constructor(options: ElectionOptions) {
    this.options = options;
    this.protocolName = options.protocol ?? REGISTRY_PROTOCOL;
  }

  isLeader(): boolean {
    return this.leader;
  }

  async start(): Promise<void> {
    const { kafka, topic, groupId } = this.options;
    this.admin = kafka.admin();
    await this.admin.connect();
    const topics = await this.admin.listTopics();
    if (!topics.includes(topic)) {
      await this.admin
        .createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] })
        .catch((e: unknown) => this.options.logger.debug({ err: e }, "election topic exists already"));
    }
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: 6_000,
      rebalanceTimeout: 10_000,
      heartbeatInterval: 500,
      partitionAssigners: [this.assigner],
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.REBALANCING, () => {
      this.cachedLeaderUrl = undefined;
      this.options.onChange(undefined);
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.cachedLeaderUrl = undefined;
      this.leader = (payload.memberAssignment[topic] ?? []).includes(0);
      if (this.leader) this.cachedLeaderUrl = this.options.url;
      this.options.logger.info({ leader: this.leader, group: groupId }, "leader election settled");
      this.options.onChange(this.leader);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.options.logger.error(
        { err: payload.error, restart: payload.restart },
        "election consumer crashed",
      );
      if (!payload.restart) {
        this.leader = false;
        this.options.onChange(false);
      }
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: false });
    await consumer.run({ autoCommit: false, eachMessage: async () => {} });
  }

  private readonly assigner: PartitionAssigner = () => ({
    name: this.protocolName,
    version: 1,
    protocol: ({ topics }) => {
      const info: MemberInfo = { url: this.options.url, since: this.since, leader: this.leader };
      return {
        name: this.protocolName,
        metadata: AssignerProtocol.MemberMetadata.encode({
          version: 1,
          topics,
          userData: Buffer.from(JSON.stringify(info)),
        }),
      };
    },
    assign: ({ members, topics }) => {
      const infos = members.map((m) => ({ memberId: m.memberId, info: decodeInfo(m.memberMetadata) }));
      infos.sort((a, b) => {
        if (a.info.leader !== b.info.leader) return a.info.leader ? -1 : 1;
        if (a.info.since !== b.info.since) return a.info.since - b.info.since;
        return a.memberId < b.memberId ? -1 : 1;
      });
      const chosen = infos[0]?.memberId;
      return Promise.resolve(
        members.map((m) => ({
          memberId: m.memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({
            version: 1,
            assignment: Object.fromEntries(topics.map((t) => [t, m.memberId === chosen ? [0] : []])),
            userData: Buffer.alloc(0),
          }),
        })),
      );
    },
  });

  /** The leader's advertised URL, from the group's current assignment; undefined while none is known. */
  async leaderUrl(): Promise<string | undefined> {
    if (this.leader) return this.options.url;
    if (this.cachedLeaderUrl) return this.cachedLeaderUrl;
    if (!this.admin) return undefined;
    const { groups } = await this.admin.describeGroups([this.options.groupId]);
    for (const m of groups[0]?.members ?? []) {
      const assignment = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
      if ((assignment?.assignment[this.options.topic] ?? []).includes(0)) {
        this.cachedLeaderUrl = decodeInfo(m.memberMetadata).url || undefined;
        return this.cachedLeaderUrl;
      }
    }
    return undefined;
  }

  async stop(): Promise<void> {
    this.leader = false;
    await Promise.allSettled([this.consumer?.disconnect(), this.admin?.disconnect()]);
  }
}

function decodeInfo(metadata: Buffer): MemberInfo {
  try {
    const decoded = AssignerProtocol.MemberMetadata.decode(metadata);
    const parsed = JSON.parse(decoded?.userData.toString() ?? "{}") as Partial<MemberInfo>;
    return {
      url: parsed.url ?? "",
      since: parsed.since ?? Number.MAX_SAFE_INTEGER,
      leader: parsed.leader === true,
    };
  } catch {
    return { url: "", since: Number.MAX_SAFE_INTEGER, leader: false };
  }
}
