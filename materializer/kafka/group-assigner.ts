// The partition assignment of a split view's consumer group (`_mesh_materialize.<group>.<view>`): the
// driving topic's partitions are dealt round-robin over the members sorted by member id, and each member's
// userData (sent at every join, lib/kafka GroupMember) is the URL where it answers queries, so any process
// can tell who owns which partition from the group's description (describeMembers). The group only deals the
// driving topic; joined tables and markers are read in full by every member outside the group. Pure but for
// describeMembers, which asks the admin.
import type { KafkaAdmin } from "../../lib/kafka/index.ts";
import type { ViewMember } from "../contract.ts";

/** The group protocol (assignor) name every member of a split view's group agrees on. */
export const ASSIGNER_NAME = "MeshViewRoundRobin";

const byMemberId = (a: { memberId: string }, b: { memberId: string }): number =>
  a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0;

/** What a member sends at every join: the URL it answers queries on. */
export function memberUserData(advertisedUrl: string): Buffer {
  return Buffer.from(advertisedUrl);
}

/**
 * Deals every topic's partitions round-robin over the members sorted by member id: memberId → topic →
 * partitions (ascending). Every member is in the answer, with no partitions when there are fewer than members.
 */
export function dealPartitions(
  members: { memberId: string }[],
  partitions: Map<string, number[]>,
): Map<string, Map<string, number[]>> {
  const sorted = [...members].sort(byMemberId);
  const out = new Map<string, Map<string, number[]>>(sorted.map((m) => [m.memberId, new Map()]));
  if (sorted.length === 0) return out;
  for (const [topic, list] of partitions) {
    [...list]
      .sort((a, b) => a - b)
      .forEach((p, i) => {
        const owner = out.get(sorted[i % sorted.length]!.memberId)!;
        const mine = owner.get(topic);
        if (mine) mine.push(p);
        else owner.set(topic, [p]);
      });
  }
  return out;
}

/** The group's members with their URLs and their partitions of `topic` (empty while it rebalances). */
export async function describeMembers(
  admin: KafkaAdmin,
  groupId: string,
  topic: string,
): Promise<ViewMember[]> {
  const group = await admin.describeGroup(groupId);
  if (group.protocol !== ASSIGNER_NAME) return [];
  return group.members
    .map((m) => ({
      memberId: m.memberId,
      url: m.userData.toString(),
      partitions: [...(m.assignment.get(topic) ?? [])].sort((a, b) => a - b),
    }))
    .sort(byMemberId);
}
