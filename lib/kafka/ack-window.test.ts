// The OrderedProducer's seq/ack bookkeeping: acked is always the longest completed prefix, whatever order
// batches complete in, never moves back, and freezes on failure.
import { describe, expect, it } from "vitest";
import { AckWindow, SlotQueue, type Slot } from "./ack-window.ts";

/** A small seeded generator (mulberry32), so a failing case replays. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("AckWindow", () => {
  it("hands out 1, 2, ... and acknowledges only the completed prefix", () => {
    const w = new AckWindow<string>();
    const [a, b, c] = ["a", "b", "c"].map((x) => w.add(x, 10)) as [Slot<string>, Slot<string>, Slot<string>];
    expect([a.seq, b.seq, c.seq, w.last, w.acked, w.pendingBytes]).toEqual([1, 2, 3, 3, 0, 30]);
    expect(w.complete([c])).toBe(0); // 1 and 2 still outstanding
    expect(w.pendingBytes).toBe(20); // c's memory is released all the same
    expect(c.item).toBeNull();
    expect(w.complete([a])).toBe(1);
    expect(w.complete([b])).toBe(3);
    expect(w.complete([b])).toBe(3); // completing twice changes nothing
    expect(w.pendingBytes).toBe(0);
  });

  it("matches a reference over random lanes completing batches out of order", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rnd = random(seed);
      const w = new AckWindow<number>();
      const lanes = 1 + Math.floor(rnd() * 5);
      const queues = Array.from({ length: lanes }, () => new SlotQueue<number>());
      const inflight: Slot<number>[][] = [];
      const done = new Set<number>();
      let previous = 0;
      for (let step = 0; step < 400; step++) {
        const r = rnd();
        if (r < 0.6) {
          const slot = w.add(step, 1 + Math.floor(rnd() * 100));
          queues[Math.floor(rnd() * lanes)]?.push(slot);
        } else if (r < 0.8) {
          const q = queues[Math.floor(rnd() * lanes)] as SlotQueue<number>;
          if (q.length > 0) inflight.push(q.takeBatch(1 + Math.floor(rnd() * 300)));
        } else if (inflight.length > 0) {
          const [batch] = inflight.splice(Math.floor(rnd() * inflight.length), 1);
          for (const s of batch ?? []) done.add(s.seq);
          const acked = w.complete(batch ?? []);
          let expected = 0;
          while (done.has(expected + 1)) expected++;
          expect(acked).toBe(expected);
          expect(acked).toBeGreaterThanOrEqual(previous);
          previous = acked;
        }
      }
    }
  });

  it("freezes acked once failed, even when earlier seqs complete later", () => {
    const w = new AckWindow<null>();
    const slots = Array.from({ length: 5 }, () => w.add(null, 1));
    w.complete(slots.slice(0, 2));
    expect(w.acked).toBe(2);
    w.fail();
    expect(w.complete(slots.slice(2))).toBe(2);
    expect(w.acked).toBe(2);
    expect(w.failed).toBe(true);
  });
});

describe("SlotQueue", () => {
  it("takes batches in order, within the byte bound, at least one slot each", () => {
    const w = new AckWindow<number>();
    const q = new SlotQueue<number>();
    for (const bytes of [40, 40, 40, 500, 10]) q.push(w.add(bytes, bytes));
    expect(q.takeBatch(100).map((s) => s.seq)).toEqual([1, 2]);
    expect(q.takeBatch(100).map((s) => s.seq)).toEqual([3]);
    expect(q.takeBatch(100).map((s) => s.seq)).toEqual([4]); // larger than the bound: alone
    expect(q.length).toBe(1);
    expect(q.takeBatch(100).map((s) => s.seq)).toEqual([5]);
    expect(q.length).toBe(0);
  });
});
