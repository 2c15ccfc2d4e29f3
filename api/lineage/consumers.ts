// Owns finding the Kafka consumer groups that read domain topics, through the Kafka admin API: a group reads
// a topic when a member is assigned one of its partitions or the group committed an offset on it. Our own
// readers use no groups (the materializer, SSE streams: lib/kafka readers) except a split view's group and
// the connectors' lease groups, which are marked `internal`; what is left is the services' own consumers
// (any language: a Python confluent-kafka group shows up like any other). Lag per group is the high
// watermark less the committed offset, summed over the topic's partitions.
import type { KafkaClient } from "../../lib/kafka/index.ts";

export interface ConsumerGroupMember {
  clientId: string;
  host: string;
  partitions: number[];
}

export interface ConsumerGroupRead {
  groupId: string;
  /** Kafka's group state: Stable, Empty (no member now, offsets kept), PreparingRebalance... */
  state: string;
  /** datamesh's own group (a split view's, a connector lease): not a service's consumer. */
  internal: boolean;
  members: ConsumerGroupMember[];
  /** Messages between the group's committed offsets and the end of the topic (null: nothing committed). */
  lag: number | null;
}

export interface ConsumerGroups {
  /** The groups reading each of `topics` (topics nobody reads are absent). */
  byTopic(topics: string[]): Promise<Map<string, ConsumerGroupRead[]>>;
}

const isInternalGroup = (groupId: string): boolean =>
  groupId.startsWith("_") || groupId.startsWith("mesh-source-") || groupId.startsWith("_mesh");

export class KafkaConsumerGroups implements ConsumerGroups {
  readonly #kafka: KafkaClient;

  constructor(kafka: KafkaClient) {
    this.#kafka = kafka;
  }

  async byTopic(topics: string[]): Promise<Map<string, ConsumerGroupRead[]>> {
    const wanted = new Set(topics);
    const out = new Map<string, ConsumerGroupRead[]>();
    if (wanted.size === 0) return out;
    const admin = this.#kafka.admin();
    const ids = await admin.listGroups();
    const [described, committed] = await Promise.all([admin.describeGroups(ids), admin.groupOffsets(ids)]);
    const ends = new Map<string, Map<number, bigint>>();
    const endOf = async (topic: string): Promise<Map<number, bigint>> => {
      let end = ends.get(topic);
      if (!end) {
        const offsets = await admin.offsets(topic).catch(() => new Map<number, { high: bigint }>());
        end = new Map([...offsets].map(([p, o]) => [p, o.high]));
        ends.set(topic, end);
      }
      return end;
    };
    for (const group of described) {
      const offsets = committed.get(group.groupId) ?? new Map<string, Map<number, bigint>>();
      const read = new Set<string>([...offsets.keys()].filter((t) => wanted.has(t)));
      for (const m of group.members) for (const t of m.assignment.keys()) if (wanted.has(t)) read.add(t);
      for (const topic of read) {
        const mine = offsets.get(topic);
        let lag: number | null = null;
        if (mine) {
          const end = await endOf(topic);
          lag = 0;
          for (const [p, at] of mine) lag += Math.max(0, Number((end.get(p) ?? at) - at));
        }
        const entry: ConsumerGroupRead = {
          groupId: group.groupId,
          state: group.state,
          internal: isInternalGroup(group.groupId),
          members: group.members
            .filter((m) => m.assignment.has(topic))
            .map((m) => ({ clientId: m.clientId, host: m.host, partitions: m.assignment.get(topic) ?? [] })),
          lag,
        };
        out.set(topic, [...(out.get(topic) ?? []), entry]);
      }
    }
    return out;
  }
}
