// The visibility rule of an exact re-snapshot chunk: which streamed transactions the chunk's read saw.
import { describe, expect, it } from "vitest";
import { fullXid, isVisible, parseSnapshot } from "./visibility.ts";

describe("pg_snapshot visibility", () => {
  it("parses xmin:xmax:xip with and without in-progress transactions", () => {
    expect(parseSnapshot("100:105:100,103")).toEqual({ xmin: 100n, xmax: 105n, xip: new Set([100n, 103n]) });
    expect(parseSnapshot("742:742:")).toEqual({ xmin: 742n, xmax: 742n, xip: new Set() });
    expect(() => parseSnapshot("nonsense")).toThrow(/pg_snapshot/);
  });

  it("sees what ended before xmin and what was not in progress below xmax; never what started after", () => {
    const s = parseSnapshot("100:105:100,103");
    expect(isVisible(s, 99n)).toBe(true); // ended before the oldest running one
    expect(isVisible(s, 100n)).toBe(false); // running at the snapshot
    expect(isVisible(s, 101n)).toBe(true); // committed between xmin and xmax
    expect(isVisible(s, 103n)).toBe(false);
    expect(isVisible(s, 104n)).toBe(true);
    expect(isVisible(s, 105n)).toBe(false); // assigned at or after xmax: started after the snapshot
    expect(isVisible(s, 4000n)).toBe(false);
  });

  it("places 32-bit xids in the right epoch across a wraparound", () => {
    const epoch = 1n << 32n;
    // Epoch 3, xmax just past the wrap: xid 4294967290 belongs to epoch 2, xid 5 to epoch 3.
    const xmax = 3n * epoch + 10n;
    expect(fullXid(4_294_967_290n, xmax)).toBe(2n * epoch + 4_294_967_290n);
    expect(fullXid(5n, xmax)).toBe(3n * epoch + 5n);
    const s = { xmin: 3n * epoch - 20n, xmax, xip: new Set([3n * epoch - 20n, 3n * epoch + 2n]) };
    expect(isVisible(s, 4_294_967_276n)).toBe(false); // = 3·2^32 − 20, in progress
    expect(isVisible(s, 4_294_967_290n)).toBe(true); // committed just before the wrap
    expect(isVisible(s, 2n)).toBe(false); // in progress after the wrap
    expect(isVisible(s, 5n)).toBe(true);
    expect(isVisible(s, 10n)).toBe(false); // = xmax
    // Just below the wrap, with xmax still in epoch 2: a small xid is a future one of epoch 3.
    const before = { xmin: 3n * epoch - 100n, xmax: 3n * epoch - 50n, xip: new Set<bigint>() };
    expect(fullXid(7n, before.xmax)).toBe(3n * epoch + 7n);
    expect(isVisible(before, 7n)).toBe(false);
    expect(isVisible(before, 4_294_967_200n)).toBe(true);
  });
});
