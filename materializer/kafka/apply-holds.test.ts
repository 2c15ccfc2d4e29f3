import { describe, expect, it } from "vitest";
import type { Unit } from "./assembler.ts";
import {
  ApplyHolds,
  furthest,
  parsePosition,
  positionJson,
  samePosition,
  type Position,
} from "./apply-holds.ts";

const unit = (ends: Record<string, number>, events = 1): Unit => ({
  events: Array.from({ length: events }, () => ({}) as Unit["events"][number]),
  markers: new Map(),
  floors: new Map(),
  ends: new Map(Object.entries(ends).map(([s, o]) => [s, BigInt(o)])),
});
const pos = (o: Record<string, number>): Position =>
  new Map(Object.entries(o).map(([s, n]) => [s, BigInt(n)]));

describe("positions", () => {
  it("compare per source (missing is 0), take the furthest, and travel as JSON", () => {
    expect(samePosition(pos({ a: 3 }), pos({ a: 3, b: 0 }))).toBe(true);
    expect(samePosition(pos({ a: 3 }), pos({ a: 4 }))).toBe(false);
    expect(positionJson(furthest([pos({ a: 3, b: 9 }), pos({ a: 5 })]))).toEqual({ a: "5", b: "9" });
    expect(parsePosition({ a: "12" })).toEqual(pos({ a: 12 }));
    expect(() => parsePosition({ a: 12 })).toThrow(expect.objectContaining({ code: "MESH_BAD_REQUEST" }));
  });
});

describe("ApplyHolds", () => {
  it("admits everything unheld; held, nothing past the position, and no free events", () => {
    let released = 0;
    const h = new ApplyHolds(() => released++);
    expect(h.admits(unit({ s: 10 }), h.position)).toBe(true);
    h.applied(unit({ s: 10 }));
    h.hold("q", null, 60_000);
    expect(h.admits(unit({ s: 12 }), h.position)).toBe(false);
    expect(h.admits(unit({}, 3), h.position)).toBe(false); // snapshot reads: no position
    expect(h.admits(unit({}, 0), h.position)).toBe(true); // BEGIN markers only: no change
    h.release("q");
    expect(released).toBe(1);
    expect(h.admits(unit({ s: 12 }), h.position)).toBe(true);
  });

  it("moves up to exactly `at` and reports reaching it; refuses an `at` behind it", async () => {
    const h = new ApplyHolds(() => undefined);
    h.applied(unit({ s: 10 }));
    h.hold("q", pos({ s: 14 }), 60_000);
    expect(h.admits(unit({ s: 12 }), h.position)).toBe(true);
    expect(h.admits(unit({ s: 16 }), pos({ s: 14 }))).toBe(false);
    const reached = h.reached(pos({ s: 14 }), 5_000);
    h.applied(unit({ s: 12 }));
    h.applied(unit({ s: 14 }));
    await reached;
    expect(() => h.hold("r", pos({ s: 12 }), 60_000)).toThrow(
      expect.objectContaining({ code: "MESH_CONFLICT" }),
    );
    h.release("q");
    h.release("r");
    await expect(h.reached(pos({ s: 20 }), 20)).rejects.toMatchObject({ code: "MESH_UNAVAILABLE" });
  });

  it("expires a hold nobody releases, and says when overlapping holds kept it held too long", async () => {
    let released = 0;
    const h = new ApplyHolds(() => released++);
    h.hold("lost", null, 30);
    expect(h.frozenTooLong(10_000)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(released).toBe(1);
    expect(h.held).toBe(false);
    h.hold("q1", null, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 30));
    h.hold("q2", null, 60_000);
    expect(h.frozenTooLong(10)).toBe(true);
    const moved = h.unfrozen();
    h.release("q1");
    expect(h.held).toBe(true);
    h.release("q2");
    await moved;
    expect(h.frozenTooLong(10)).toBe(false);
  });
});
