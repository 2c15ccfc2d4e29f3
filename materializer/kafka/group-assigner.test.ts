// The split views' assigner: round-robin over members sorted by id, and each member's URL in its metadata.
import { AssignerProtocol, type Cluster } from "kafkajs";
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../lib/logger.ts";
import { meshAssigner } from "./group-assigner.ts";

const cluster = (partitions: number): Cluster =>
  ({
    findTopicPartitionMetadata: () =>
      Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0 })),
  }) as unknown as Cluster;

describe("split views' partition assigner", () => {
  it("deals the driving topic's partitions round-robin and carries each member's URL", async () => {
    const make = (url: string) =>
      meshAssigner(url)({ cluster: cluster(5), groupId: "g", logger: silentLogger() as never });
    const members = ["m-b", "m-a"].map((memberId, i) => ({
      memberId,
      memberMetadata: make(`http://${i}`).protocol({ topics: ["t"] }).metadata,
    }));
    expect(AssignerProtocol.MemberMetadata.decode(members[0]!.memberMetadata)?.userData.toString()).toBe(
      "http://0",
    );
    const out = await make("http://x").assign({ members, topics: ["t"] });
    const got = Object.fromEntries(
      out.map((o) => [
        o.memberId,
        AssignerProtocol.MemberAssignment.decode(o.memberAssignment)?.assignment.t,
      ]),
    );
    expect(got).toEqual({ "m-a": [0, 2, 4], "m-b": [1, 3] });
  });
});
