// Owns leader election through Kafka, for the registry's processes and for any other single-holder role (the
// API uses one per source, so exactly one process runs its connector): every process joins one consumer group
// on a one-partition coordination topic (created if missing); the member assigned partition 0 is the leader.
// Our assigner (run by whichever member Kafka makes group leader) keeps the current leader if it is still a
// member, else picks the longest-running member. Each member advertises its URL in its group metadata, so
// followers find the leader's URL by describing the group. No consensus of our own: Kafka's group
// coordinator decides. Membership is a GroupMember (group.ts); the choice itself is pure (`electLeader`).
import type { Logger } from "../logger.ts";
import { createAdmin, type PlatformaticAdmin } from "./admin.ts";
import type { KafkaConfig } from "./config.ts";
import { createGroupMember, type GroupMember } from "./group.ts";

export interface ElectionOptions {
  config: KafkaConfig;
  /** The one-partition coordination topic (created if missing). */
  topic: string;
  groupId: string;
  /** This process's URL, advertised to the others. */
  url: string;
  /** Default: the config's logger. */
  logger?: Logger;
  /** The group protocol name (members of one group must agree); the registry's by default. */
  protocol?: string;
  /** true: this process is the leader; false: another is; undefined: a rebalance is in progress. */
  onChange: (leader: boolean | undefined) => void;
  /** The clock `since` (how long this member has run, the tie-break) is read from; Date.now by default. */
  now?: () => number;
  /** How long a silent leader keeps leading before the group moves on (default 6 s, the broker's minimum). */
  sessionTimeoutMs?: number;
}

/** What each member advertises in its group metadata. */
export interface MemberInfo {
  url: string;
  /** When this member started (ms): the longest-running one is preferred. */
  since: number;
  /** Whether it led when it (re)joined: a leader that is still a member keeps leading. */
  leader: boolean;
}

export const REGISTRY_PROTOCOL = "datamesh-registry-leader";

export function encodeInfo(info: MemberInfo): Buffer {
  return Buffer.from(JSON.stringify(info));
}

/** A member whose metadata cannot be read never wins over one whose can. */
export function decodeInfo(userData: Buffer): MemberInfo {
  try {
    const parsed = JSON.parse(userData.toString()) as Partial<MemberInfo>;
    return {
      url: typeof parsed.url === "string" ? parsed.url : "",
      since: typeof parsed.since === "number" ? parsed.since : Number.MAX_SAFE_INTEGER,
      leader: parsed.leader === true,
    };
  } catch {
    return { url: "", since: Number.MAX_SAFE_INTEGER, leader: false };
  }
}

/** The member to lead: a current leader first, then the longest-running, then the smallest member id. */
export function electLeader(members: { memberId: string; info: MemberInfo }[]): string | undefined {
  const sorted = [...members].sort((a, b) => {
    if (a.info.leader !== b.info.leader) return a.info.leader ? -1 : 1;
    if (a.info.since !== b.info.since) return a.info.since - b.info.since;
    return a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0;
  });
  return sorted[0]?.memberId;
}

export class LeaderElection {
  readonly #options: ElectionOptions;
  readonly #since: number;
  readonly #protocol: string;
  readonly #logger: Logger | undefined;
  #member: GroupMember | undefined;
  #admin: PlatformaticAdmin | undefined;
  #leader = false;
  #cachedLeaderUrl: string | undefined;

  constructor(options: ElectionOptions) {
    this.#options = options;
    this.#since = (options.now ?? Date.now)();
    this.#protocol = options.protocol ?? REGISTRY_PROTOCOL;
    this.#logger = options.logger ?? options.config.logger;
  }

  isLeader(): boolean {
    return this.#leader;
  }

  /** Resolves once this process joined the group and knows whether it leads (onChange was called). */
  async start(): Promise<void> {
    const { config, topic, groupId } = this.#options;
    const memberConfig: KafkaConfig = this.#logger ? { ...config, logger: this.#logger } : config;
    this.#admin = createAdmin(memberConfig);
    await this.#admin.ensureTopics([{ topic, partitions: 1 }]);
    this.#member = createGroupMember(memberConfig, {
      groupId,
      topics: [topic],
      protocol: this.#protocol,
      sessionTimeoutMs: this.#options.sessionTimeoutMs ?? 6_000,
      userData: () => encodeInfo({ url: this.#options.url, since: this.#since, leader: this.#leader }),
      assign: (members, partitions) => {
        const chosen = electLeader(
          members.map((m) => ({ memberId: m.memberId, info: decodeInfo(m.userData) })),
        );
        const dealt = new Map<string, Map<string, number[]>>();
        for (const m of members) {
          dealt.set(
            m.memberId,
            new Map([...partitions.keys()].map((t) => [t, m.memberId === chosen ? [0] : []])),
          );
        }
        return dealt;
      },
      onRebalancing: () => {
        this.#cachedLeaderUrl = undefined;
        this.#options.onChange(undefined);
      },
      onAssignment: (assignment) => {
        this.#cachedLeaderUrl = undefined;
        this.#leader = (assignment.get(topic) ?? []).includes(0);
        if (this.#leader) this.#cachedLeaderUrl = this.#options.url;
        this.#logger?.info({ leader: this.#leader, group: groupId }, "leader election settled");
        this.#options.onChange(this.#leader);
      },
    });
    await this.#member.start();
  }

  /** The leader's advertised URL, from the group's current assignment; undefined while none is known. */
  async leaderUrl(): Promise<string | undefined> {
    if (this.#leader) return this.#options.url;
    if (this.#cachedLeaderUrl) return this.#cachedLeaderUrl;
    if (!this.#admin) return undefined;
    const group = await this.#admin.describeGroup(this.#options.groupId);
    for (const m of group.members) {
      if ((m.assignment.get(this.#options.topic) ?? []).includes(0)) {
        this.#cachedLeaderUrl = decodeInfo(m.userData).url || undefined;
        return this.#cachedLeaderUrl;
      }
    }
    return undefined;
  }

  /** Leaves the group, so another member leads at once (no session timeout to wait out). */
  async stop(): Promise<void> {
    this.#leader = false;
    this.#cachedLeaderUrl = undefined;
    await Promise.allSettled([this.#member?.stop(), this.#admin?.close()]);
  }
}
