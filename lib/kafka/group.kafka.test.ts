// GroupMember against the real broker: the caller's assigner deals the partitions, each member's userData is
// seen by the assigner and in the group's description, and a member that stops hands its partitions over.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../clock.ts";
import { kafkaConnection, uniqueName } from "../../test/support/stack.ts";
import { createAdmin, type PlatformaticAdmin } from "./admin.ts";
import type { KafkaConfig } from "./config.ts";
import { createGroupMember, type GroupMember } from "./group.ts";

let config: KafkaConfig;
let admin: PlatformaticAdmin;
const topics: string[] = [];
const groups: string[] = [];
const members: GroupMember[] = [];

beforeAll(() => {
  config = { ...kafkaConnection(), clientId: uniqueName("group-test") };
  admin = createAdmin(config);
});

afterAll(async () => {
  await Promise.all(members.map((m) => m.stop()));
  await admin.deleteGroups(groups);
  await admin.deleteTopics(topics);
  await admin.close();
});

interface Observed {
  assignments: Map<string, number[]>[];
  rebalances: number;
  /** userData of the members each assign() call was given, as strings. */
  assignCalls: string[][];
}

const PROTOCOL = "test-deal";

/** The member whose userData sorts last gets the first three partitions, the others share the rest. */
function deal(
  list: { memberId: string; userData: Buffer }[],
  partitions: Map<string, number[]>,
): Map<string, Map<string, number[]>> {
  const sorted = [...list].sort((a, b) => a.userData.toString().localeCompare(b.userData.toString()));
  const out = new Map<string, Map<string, number[]>>(list.map((m) => [m.memberId, new Map()]));
  for (const [topic, ps] of partitions) {
    const last = sorted.at(-1)!;
    out.get(last.memberId)!.set(topic, ps.slice(0, 3));
    const rest = sorted.slice(0, -1);
    ps.slice(3).forEach((p, i) => {
      const to = rest[i % rest.length] ?? last;
      const mine = out.get(to.memberId)!;
      mine.set(topic, [...(mine.get(topic) ?? []), p]);
    });
  }
  return out;
}

function member(groupId: string, topic: string, url: string, seen: Observed): GroupMember {
  const m = createGroupMember(config, {
    groupId,
    topics: [topic],
    protocol: PROTOCOL,
    userData: () => Buffer.from(url),
    assign: (list, partitions) => {
      seen.assignCalls.push(list.map((x) => x.userData.toString()).sort());
      return deal(list, partitions);
    },
    onAssignment: (assignment) => seen.assignments.push(assignment),
    onRebalancing: () => seen.rebalances++,
    sessionTimeoutMs: 6_000,
  });
  members.push(m);
  return m;
}

const observed = (): Observed => ({ assignments: [], rebalances: 0, assignCalls: [] });
const last = (o: Observed, topic: string): number[] | undefined => o.assignments.at(-1)?.get(topic) ?? [];

describe("GroupMember", () => {
  it("deals with the caller's assigner, shares userData, and hands partitions over when a member stops", async () => {
    const topic = uniqueName("group");
    const groupId = uniqueName("g");
    topics.push(topic);
    groups.push(groupId);
    await admin.ensureTopics([{ topic, partitions: 4 }]);

    const seenA = observed();
    const seenB = observed();
    const a = member(groupId, topic, "http://a.test", seenA);
    await a.start();
    expect(a.memberId).toBeTruthy();
    expect(last(seenA, topic)).toEqual([0, 1, 2, 3]);

    const b = member(groupId, topic, "http://b.test", seenB);
    await b.start();
    // b sorts last by userData: the first three partitions; a keeps the fourth.
    await waitFor(
      () => last(seenA, topic)?.join() === "3" && last(seenB, topic)?.join() === "0,1,2",
      30_000,
      "the deal",
    );
    expect(seenA.rebalances).toBeGreaterThan(0);
    const calls = [...seenA.assignCalls, ...seenB.assignCalls];
    expect(calls).toContainEqual(["http://a.test", "http://b.test"]);

    const described = await admin.describeGroup(groupId);
    expect(described.state).toBe("Stable");
    expect(described.protocol).toBe(PROTOCOL);
    const byUrl = new Map(described.members.map((m) => [m.userData.toString(), m]));
    expect(byUrl.get("http://a.test")?.memberId).toBe(a.memberId);
    expect(byUrl.get("http://b.test")?.memberId).toBe(b.memberId);
    expect(byUrl.get("http://b.test")?.assignment.get(topic)).toEqual([0, 1, 2]);
    expect(byUrl.get("http://a.test")?.assignment.get(topic)).toEqual([3]);

    await b.stop();
    await waitFor(() => last(seenA, topic)?.join() === "0,1,2,3", 30_000, "a holding every partition again");
    await a.stop();
    await waitFor(
      async () => (await admin.describeGroup(groupId)).members.length === 0,
      30_000,
      "an empty group",
    );
  });
});
