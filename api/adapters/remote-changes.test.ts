// Merging split members' change streams (remote-changes.ts) without a network: composite ids hold every
// member's position from its `event: start` on, Last-Event-ID parts map back to each member, and a plain
// change id (which names no member) is refused.
import { describe, expect, it } from "vitest";
import type { ViewChange } from "../../materializer/contract.ts";
import { memberStarts, mergeMembers, type SseMessage } from "./remote-changes.ts";

async function* stream(messages: SseMessage[], hold: Promise<void>): AsyncIterator<SseMessage> {
  yield* messages;
  await hold; // a live stream: no more events until the test ends
}

const change = (id: string, key: number): SseMessage => ({
  id,
  event: "change",
  data: JSON.stringify({ op: "update", key: [key], before: null, after: { id: key } }),
});

describe("merging members' change streams", () => {
  it("gives every event the position of every member", async () => {
    let release = (): void => undefined;
    const hold = new Promise<void>((r) => (release = r));
    const ac = new AbortController();
    const merged = mergeMembers(
      [
        { url: "http://a", it: stream([{ id: "10", event: "start", data: "{}" }, change("11", 1)], hold) },
        { url: "http://b", it: stream([{ id: "4", event: "start", data: "{}" }, change("5", 2)], hold) },
      ],
      "v",
      ac.signal,
    );
    const got: ViewChange[] = [];
    for await (const e of merged) {
      got.push(e);
      if (got.length === 2) break;
    }
    release();
    ac.abort();
    const last = got[1]!;
    expect(last.id).toBe("http://a=11,http://b=5");
    expect(got.map((e) => (e.data as { member: string }).member).sort()).toEqual(["http://a", "http://b"]);
    expect(memberStarts("v", last.id, ["http://a", "http://b", "http://c"])).toEqual(
      new Map([
        ["http://a", "11"],
        ["http://b", "5"],
        ["http://c", "earliest"],
      ]),
    );
  });

  it("applies earliest, latest or a time to every member and refuses a plain id", () => {
    expect([...memberStarts("v", "2026-11-27T00:00:00Z", ["http://a", "http://b"]).values()]).toEqual([
      "2026-11-27T00:00:00Z",
      "2026-11-27T00:00:00Z",
    ]);
    expect(() => memberStarts("v", "12", ["http://a"])).toThrow(/composite id/);
  });

  it("ends with the member's error when a member sends `event: error`", async () => {
    const ac = new AbortController();
    const failing = stream(
      [{ id: undefined, event: "error", data: JSON.stringify({ code: "MESH_NOT_FOUND", message: "gone" }) }],
      Promise.resolve(),
    );
    const merged = mergeMembers([{ url: "http://a", it: failing }], "v", ac.signal);
    await expect(merged[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: "MESH_NOT_FOUND" });
  });
});
