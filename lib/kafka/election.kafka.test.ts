// LeaderElection against the real broker: one leader among several processes, the leader keeps leading when
// an older member joins, followers find its URL in the group, and when it stops another takes over at once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../clock.ts";
import { kafkaConnection, uniqueName } from "../../test/support/stack.ts";
import { createAdmin, type PlatformaticAdmin } from "./admin.ts";
import type { KafkaConfig } from "./config.ts";
import { LeaderElection } from "./election.ts";

let config: KafkaConfig;
let admin: PlatformaticAdmin;
const topics: string[] = [];
const groups: string[] = [];
const elections: LeaderElection[] = [];

beforeAll(() => {
  config = { ...kafkaConnection(), clientId: uniqueName("election-test") };
  admin = createAdmin(config);
});

afterAll(async () => {
  await Promise.all(elections.map((e) => e.stop()));
  await admin.deleteGroups(groups);
  await admin.deleteTopics(topics);
  await admin.close();
});

interface Candidate {
  election: LeaderElection;
  changes: (boolean | undefined)[];
  url: string;
}

function candidate(topic: string, groupId: string, url: string, since: number): Candidate {
  const changes: (boolean | undefined)[] = [];
  const election = new LeaderElection({
    config,
    topic,
    groupId,
    url,
    protocol: "test-election",
    onChange: (leader) => changes.push(leader),
    now: () => since,
  });
  elections.push(election);
  return { election, changes, url };
}

describe("LeaderElection", () => {
  it("elects one leader, keeps it when an older member joins, and moves on when it stops", async () => {
    const topic = uniqueName("election");
    const groupId = uniqueName("g");
    topics.push(topic);
    groups.push(groupId);

    const a = candidate(topic, groupId, "http://a.test:1", 2_000);
    await a.election.start();
    expect(a.election.isLeader()).toBe(true);
    expect(a.changes.at(-1)).toBe(true);
    // The coordination topic was created with one partition.
    expect((await admin.partitionCounts([topic])).get(topic)).toBe(1);

    // b has run longer (an earlier `since`), but a leads already and keeps leading.
    const b = candidate(topic, groupId, "http://b.test:2", 1_000);
    await b.election.start();
    await waitFor(() => b.changes.at(-1) === false && a.changes.at(-1) === true, 30_000, "b following a");
    expect(a.election.isLeader()).toBe(true);
    expect(b.election.isLeader()).toBe(false);
    expect(a.changes).toContain(undefined);
    expect(await b.election.leaderUrl()).toBe("http://a.test:1");
    expect(await a.election.leaderUrl()).toBe("http://a.test:1");

    // A third, younger member follows a too.
    const c = candidate(topic, groupId, "http://c.test:3", 3_000);
    await c.election.start();
    await waitFor(() => c.changes.at(-1) === false && b.changes.at(-1) === false, 30_000, "c following a");
    expect(await c.election.leaderUrl()).toBe("http://a.test:1");

    // a leaves: b (since 1000) runs longer than c (since 3000) and takes over.
    await a.election.stop();
    await waitFor(
      () => b.election.isLeader() && c.changes.at(-1) === false,
      30_000,
      "b leading after a left",
    );
    expect(c.election.isLeader()).toBe(false);
    expect(await c.election.leaderUrl()).toBe("http://b.test:2");
    expect(await b.election.leaderUrl()).toBe("http://b.test:2");
  });
});
