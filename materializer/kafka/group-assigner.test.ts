// The split views' assigner: round-robin over members sorted by id; each member's userData is its URL.
import { describe, expect, it } from "vitest";
import { dealPartitions, memberUserData } from "./group-assigner.ts";

const plain = (dealt: Map<string, Map<string, number[]>>): Record<string, Record<string, number[]>> =>
  Object.fromEntries([...dealt].map(([id, topics]) => [id, Object.fromEntries(topics)]));

describe("split views' partition assigner", () => {
  it("deals the driving topic's partitions round-robin over the members sorted by id", () => {
    const members = [{ memberId: "m-b" }, { memberId: "m-a" }];
    const dealt = dealPartitions(members, new Map([["t", [4, 0, 3, 1, 2]]]));
    expect(plain(dealt)).toEqual({ "m-a": { t: [0, 2, 4] }, "m-b": { t: [1, 3] } });
  });

  it("names every member, also one left without partitions", () => {
    const members = ["c", "a", "b"].map((memberId) => ({ memberId }));
    expect(plain(dealPartitions(members, new Map([["t", [0, 1]]])))).toEqual({
      a: { t: [0] },
      b: { t: [1] },
      c: {},
    });
    expect(plain(dealPartitions([], new Map([["t", [0]]])))).toEqual({});
  });

  it("sends the advertised URL as the member's userData", () => {
    expect(memberUserData("http://10.0.0.7:8090").toString()).toBe("http://10.0.0.7:8090");
  });
});
