import { describe, expect, it } from "vitest";
import { decodeInfo, electLeader, encodeInfo, type MemberInfo } from "./election.ts";

const member = (memberId: string, info: Partial<MemberInfo>) => ({
  memberId,
  info: { url: `http://${memberId}`, since: 0, leader: false, ...info },
});

describe("electLeader", () => {
  it("keeps a current leader even when a longer-running member is present", () => {
    expect(electLeader([member("old", { since: 1 }), member("current", { since: 50, leader: true })])).toBe(
      "current",
    );
  });

  it("else picks the longest-running member, then the smallest member id", () => {
    expect(
      electLeader([member("b", { since: 20 }), member("a", { since: 30 }), member("c", { since: 10 })]),
    ).toBe("c");
    expect(electLeader([member("b", { since: 10 }), member("a", { since: 10 })])).toBe("a");
    expect(electLeader([])).toBeUndefined();
  });
});

describe("member info", () => {
  it("round-trips, and unreadable metadata never wins", () => {
    const info = { url: "http://x:1", since: 123, leader: true };
    expect(decodeInfo(encodeInfo(info))).toEqual(info);
    const junk = decodeInfo(Buffer.from("not json"));
    expect(junk).toEqual({ url: "", since: Number.MAX_SAFE_INTEGER, leader: false });
    expect(electLeader([{ memberId: "a", info: junk }, member("z", { since: 5 })])).toBe("z");
  });
});
