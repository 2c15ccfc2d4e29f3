// The partition assignment of a split view's consumer group (`_mesh_materialize.<group>.<view>`): the
// driving topic's partitions are dealt round-robin over the members sorted by member id, and each member's
// metadata carries the URL where it answers queries (`userData`), so any process can tell who owns which
// partition from `admin.describeGroups` (members()). The group only ever reads the driving topic; joined
// tables and markers are read in full by every member outside the group.
import { AssignerProtocol, type Admin, type PartitionAssigner } from "kafkajs";

export const ASSIGNER_NAME = "MeshViewRoundRobin";

export interface GroupMember {
  memberId: string;
  /** Where the member serves `/v1/views/{name}/rows` for its partitions. */
  url: string;
  partitions: number[];
}

export function meshAssigner(advertisedUrl: string): PartitionAssigner {
  return ({ cluster }) => ({
    name: ASSIGNER_NAME,
    version: 1,
    assign({ members, topics }) {
      const sorted = [...members].sort((a, b) =>
        a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0,
      );
      const assignment = new Map<string, Record<string, number[]>>(sorted.map((m) => [m.memberId, {}]));
      for (const topic of topics) {
        const partitions = cluster
          .findTopicPartitionMetadata(topic)
          .map((p) => p.partitionId)
          .sort((a, b) => a - b);
        partitions.forEach((p, i) => {
          const owner = assignment.get((sorted[i % sorted.length] as { memberId: string }).memberId) ?? {};
          (owner[topic] ??= []).push(p);
        });
      }
      return Promise.resolve(
        sorted.map((m) => ({
          memberId: m.memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({
            version: 1,
            assignment: assignment.get(m.memberId) ?? {},
            userData: Buffer.alloc(0),
          }),
        })),
      );
    },
    protocol({ topics }) {
      return {
        name: ASSIGNER_NAME,
        metadata: AssignerProtocol.MemberMetadata.encode({
          version: 1,
          topics,
          userData: Buffer.from(advertisedUrl),
        }),
      };
    },
  });
}

/** The group's members with their URLs and their partitions of `topic` (empty while it rebalances). */
export async function describeMembers(admin: Admin, groupId: string, topic: string): Promise<GroupMember[]> {
  const { groups } = await admin.describeGroups([groupId]);
  const group = groups[0];
  if (!group || group.protocol !== ASSIGNER_NAME) return [];
  return group.members
    .map((m) => {
      const meta = AssignerProtocol.MemberMetadata.decode(m.memberMetadata);
      const assigned =
        m.memberAssignment.length > 0 ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment) : null;
      return {
        memberId: m.memberId,
        url: meta?.userData.toString() ?? "",
        partitions: [...(assigned?.assignment[topic] ?? [])].sort((a, b) => a - b),
      };
    })
    .sort((a, b) => (a.memberId < b.memberId ? -1 : 1));
}
