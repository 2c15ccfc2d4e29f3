import { describe, expect, it } from "vitest";
import { Layout } from "../engine/layout.ts";
import type { BatchOp } from "../engine/view-state.ts";
import type { InEvent } from "./decode.ts";
import { ParkedKeys } from "./parked.ts";

const ev = (offset: number, keyId = "0a"): InEvent => ({
  topic: "s.p.a",
  partition: 0,
  offset: BigInt(offset),
  source: "s",
  txId: null,
  txOrder: null,
  truncate: false,
  tsMs: 1,
  keyId,
  changes: [],
  parked: "bad",
  raw: { key: Buffer.from([1]), value: Buffer.from([2]) },
});

describe("parked keys", () => {
  it("removes only the records resolved: one parked meanwhile stays, and keeps blocking its key", () => {
    const parked = new ParkedKeys(new Layout("v"));
    const ops: BatchOp[] = [];
    parked.park(ev(3), "bad", ops);
    parked.park(ev(5), "behind", ops);
    parked.park(ev(4, "0b"), "other key", ops);
    expect(ops).toHaveLength(3);
    const seen = parked.of("s.p.a", "0a");
    // While a retry awaited decoding, a later record of the key was parked behind the others.
    parked.park(ev(9), "behind", ops);
    parked.remove("s.p.a", "0a", seen);
    expect(parked.of("s.p.a", "0a").map((r) => r.offset)).toEqual(["9"]);
    expect(parked.blocks(ev(10))).toBe(true);
    parked.remove("s.p.a", "0a", parked.of("s.p.a", "0a"));
    expect(parked.blocks(ev(10))).toBe(false);
    expect(parked.all().map((r) => r.keyId)).toEqual(["0b"]);
  });
});
