import { describe, expect, it } from "vitest";
import { Assembler } from "./assembler.ts";
import type { InEvent, Marker } from "./decode.ts";

function ev(
  topic: string,
  partition: number,
  offset: number,
  txId: string | null,
  txOrder: number | null,
  extra: Partial<InEvent> = {},
): InEvent {
  return {
    topic,
    partition,
    offset: BigInt(offset),
    source: txId === null && extra.raw?.value === null ? null : "s",
    txId,
    txOrder: txOrder === null ? null : BigInt(txOrder),
    truncate: false,
    tsMs: 1,
    keyId: `${topic}${offset}`,
    changes: [],
    parked: null,
    raw: { key: null, value: Buffer.alloc(1) },
    ...extra,
  };
}

const begin = (id: string, offset: number): Marker => ({
  source: "s",
  offset: BigInt(offset),
  status: "BEGIN",
  id,
  counts: null,
  version: 2,
  tsMs: 1,
});
const end = (id: string, offset: number, counts: Record<string, number>): Marker => ({
  source: "s",
  offset: BigInt(offset),
  status: "END",
  id,
  counts: new Map(Object.entries(counts)),
  // Per-topic counts only: what connectors wrote before protocol version 2.
  version: 1,
  tsMs: 1,
});

/** An END marker with per-partition counts: topic → partition → count. */
const endP = (id: string, offset: number, counts: Record<string, Record<number, number>>): Marker => ({
  ...end(
    id,
    offset,
    Object.fromEntries(
      Object.entries(counts).map(([t, ps]) => [t, Object.values(ps).reduce((x, y) => x + y, 0)]),
    ),
  ),
  partitionCounts: new Map(
    Object.entries(counts).map(([t, ps]) => [t, new Map(Object.entries(ps).map(([p, n]) => [Number(p), n]))]),
  ),
  version: 2,
});

const ids = (units: ReturnType<Assembler["drain"]>): string[][] =>
  units
    .filter((u) => u.events.length > 0)
    .map((u) => u.events.map((e) => `${e.topic}/${e.partition}@${e.offset}`));

describe("transaction assembler", () => {
  const options = () => ({
    partitions: new Map([
      ["s.p.a", 2],
      ["s.p.b", 1],
    ]),
    markerSources: new Set(["s"]),
  });

  it("releases a transaction only when the END marker and all its events for our topics are in", () => {
    const a = new Assembler(options());
    a.pushMarker(begin("t1", 0));
    a.pushEvent(ev("s.p.a", 0, 0, "t1", 1));
    a.pushEvent(ev("s.p.b", 0, 0, "t1", 1));
    expect(ids(a.drain()).flat()).toEqual([]);
    a.pushMarker(end("t1", 1, { "s.p.a": 2, "s.p.b": 1, "s.p.other": 5 }));
    expect(ids(a.drain()).flat()).toEqual([]);
    a.pushEvent(ev("s.p.a", 1, 0, "t1", 2));
    const units = a.drain();
    expect(units.map((u) => u.events.length)).toEqual([3]);
    expect(units.at(-1)?.markers.get("s")).toBe(2n);
    expect(a.buffered).toBe(0);
  });

  it("applies transactions in marker order and keeps later ones waiting", () => {
    const a = new Assembler(options());
    a.pushEvent(ev("s.p.a", 0, 0, "t1", 1));
    a.pushEvent(ev("s.p.a", 0, 1, "t2", 1));
    a.pushMarker(begin("t1", 0));
    a.pushMarker(end("t1", 1, { "s.p.a": 1 }));
    a.pushMarker(begin("t2", 2));
    const first = a.drain();
    expect(ids(first)).toEqual([["s.p.a/0@0"]]);
    a.pushMarker(end("t2", 3, { "s.p.a": 1 }));
    expect(ids(a.drain())).toEqual([["s.p.a/0@1"]]);
  });

  it("releases snapshot reads at once, and a delete's tombstone with its transaction", () => {
    const a = new Assembler(options());
    a.pushEvent(ev("s.p.b", 0, 0, null, null));
    a.pushEvent(ev("s.p.b", 0, 1, "t1", 1));
    a.pushEvent(ev("s.p.b", 0, 2, null, null, { source: null, raw: { key: Buffer.alloc(1), value: null } }));
    expect(ids(a.drain())).toEqual([["s.p.b/0@0"]]);
    a.pushMarker(end("t1", 0, { "s.p.b": 1 }));
    expect(ids(a.drain())).toEqual([["s.p.b/0@1", "s.p.b/0@2"]]);
  });

  it("looks past tombstones between a transaction's events in one partition", () => {
    const a = new Assembler(options());
    const tomb = { source: null, raw: { key: Buffer.alloc(1), value: null } };
    a.pushEvent(ev("s.p.b", 0, 0, "t1", 1));
    a.pushEvent(ev("s.p.b", 0, 1, null, null, tomb));
    a.pushEvent(ev("s.p.b", 0, 2, "t1", 2));
    a.pushEvent(ev("s.p.b", 0, 3, null, null, tomb));
    a.pushMarker(end("t1", 0, { "s.p.b": 2 }));
    expect(ids(a.drain())).toEqual([["s.p.b/0@0", "s.p.b/0@1", "s.p.b/0@2", "s.p.b/0@3"]]);
  });

  describe("an event parked without its transaction id (value undecodable)", () => {
    const lost = (o: number) => ev("s.p.b", 0, o, null, null, { source: null, parked: "cannot decode" });
    const one = () => ({ partitions: new Map([["s.p.b", 1]]), markerSources: new Set(["s"]) });

    for (const [name, endA, endB] of [
      ["per-topic counts", end("A", 0, { "s.p.b": 3 }), end("B", 1, { "s.p.b": 1 })],
      ["per-partition counts", endP("A", 0, { "s.p.b": { 0: 3 } }), endP("B", 1, { "s.p.b": { 0: 1 } })],
    ] as const) {
      it(`in the middle of a transaction is folded into it, and later transactions flow (${name})`, () => {
        const a = new Assembler(one());
        a.pushEvent(ev("s.p.b", 0, 0, "A", 1));
        a.pushEvent(lost(1));
        a.pushEvent(ev("s.p.b", 0, 2, "A", 3));
        a.pushMarker(endA);
        expect(ids(a.drain())).toEqual([["s.p.b/0@0", "s.p.b/0@1", "s.p.b/0@2"]]);
        a.pushEvent(ev("s.p.b", 0, 3, "B", 1));
        a.pushMarker(endB);
        expect(ids(a.drain())).toEqual([["s.p.b/0@3"]]);
        expect(a.buffered).toBe(0);
      });

      it(`first in a transaction waits and is released with it (${name})`, () => {
        const a = new Assembler(one());
        a.pushEvent(lost(0));
        a.pushEvent(ev("s.p.b", 0, 1, "A", 2));
        a.pushEvent(ev("s.p.b", 0, 2, "A", 3));
        expect(ids(a.drain())).toEqual([]);
        a.pushMarker(endA);
        expect(ids(a.drain())).toEqual([["s.p.b/0@0", "s.p.b/0@1", "s.p.b/0@2"]]);
      });
    }

    it("last in a transaction: the transaction is released once the partition moves past it", () => {
      const a = new Assembler(one());
      a.pushEvent(ev("s.p.b", 0, 0, "A", 1));
      a.pushEvent(ev("s.p.b", 0, 1, "A", 2));
      a.pushEvent(lost(2));
      a.pushEvent(ev("s.p.b", 0, 3, "B", 1));
      a.pushMarker(endP("A", 0, { "s.p.b": { 0: 3 } }));
      a.pushMarker(endP("B", 1, { "s.p.b": { 0: 1 } }));
      expect(ids(a.drain()).flat()).toEqual(["s.p.b/0@0", "s.p.b/0@1", "s.p.b/0@2", "s.p.b/0@3"]);
      expect(a.buffered).toBe(0);
    });

    it("without a transaction after it, is released at once", () => {
      const a = new Assembler(one());
      a.pushEvent(lost(0));
      a.pushEvent(ev("s.p.b", 0, 1, null, null));
      expect(ids(a.drain())).toEqual([["s.p.b/0@0", "s.p.b/0@1"]]);
    });
  });

  it("waits for a truncate's copy on every partition, counting it once", () => {
    const a = new Assembler(options());
    a.pushMarker(end("t1", 0, { "s.p.a": 1 }));
    a.pushEvent(ev("s.p.a", 0, 0, "t1", 1, { truncate: true }));
    expect(a.drain()).toEqual([]);
    a.pushEvent(ev("s.p.a", 1, 0, "t1", 1, { truncate: true }));
    expect(ids(a.drain())).toEqual([["s.p.a/0@0", "s.p.a/1@0"]]);
  });

  it("does not wait for markers of a source that has none", () => {
    const a = new Assembler({ partitions: new Map([["s.p.a", 1]]), markerSources: new Set() });
    a.pushEvent(ev("s.p.a", 0, 0, "t1", 1));
    expect(ids(a.drain())).toEqual([["s.p.a/0@0"]]);
  });

  it("skips markers of transactions that touched none of our topics", () => {
    const a = new Assembler(options());
    a.pushMarker(begin("t1", 0));
    a.pushMarker(end("t1", 1, { "s.p.other": 3 }));
    const units = a.drain();
    expect(units.flatMap((u) => u.events)).toEqual([]);
    expect(units.at(-1)?.markers.get("s")).toBe(2n);
  });

  describe("per-partition accounting", () => {
    // s.p.a (2 partitions) is the driving topic, split; s.p.b (1 partition) is joined, read in full.
    const split = (aParts: number[], floors: Record<string, number> = {}) =>
      new Assembler({
        partitions: new Map([
          ["s.p.a", 2],
          ["s.p.b", 1],
        ]),
        markerSources: new Set(["s"]),
        reads: new Map([
          ["s.p.a", aParts],
          ["s.p.b", [0]],
        ]),
        floors: new Map(Object.entries(floors).map(([k, v]) => [k.replace("/", "\u0000"), BigInt(v)])),
      });

    it("waits only for the events of the partitions it reads", () => {
      const a = split([1]);
      a.pushEvent(ev("s.p.b", 0, 0, "t1", 1));
      a.pushMarker(endP("t1", 0, { "s.p.a": { 0: 3, 1: 1 }, "s.p.b": { 0: 1 } }));
      expect(a.drain()).toEqual([]);
      a.pushEvent(ev("s.p.a", 1, 0, "t1", 4));
      const units = a.drain();
      expect(ids(units)).toEqual([["s.p.a/1@0", "s.p.b/0@0"]]);
      expect([...(units[0]?.floors ?? [])]).toEqual([
        ["s.p.a\u00001", 1n],
        ["s.p.b\u00000", 1n],
      ]);
      expect(a.floor("s.p.a", 0)).toBe(0n); // not read: its floor is not this member's to move
    });

    it("a partition with no events in a transaction advances its floor without waiting", () => {
      const a = split([0]);
      a.pushMarker(begin("t1", 0));
      a.pushMarker(endP("t1", 1, { "s.p.a": { 1: 2 } }));
      const units = a.drain();
      expect(units.flatMap((u) => u.events)).toEqual([]);
      expect(a.floor("s.p.a", 0)).toBe(2n);
      expect(a.floor("s.p.b", 0)).toBe(2n);
    });

    it("replays a gained partition with an old floor alone until it reaches the others", () => {
      // Partition 0 was applied up to marker 4 (joined table too); partition 1 is gained with floor 0.
      const a = split([0, 1], { "s.p.a/0": 4, "s.p.b/0": 4, "s.p.a/1": 0 });
      expect(a.markerStart("s")).toBe(0n);
      a.pushEvent(ev("s.p.a", 1, 0, "t1", 1));
      a.pushEvent(ev("s.p.a", 1, 1, "t2", 1));
      a.pushEvent(ev("s.p.a", 0, 10, "t3", 1));
      a.pushEvent(ev("s.p.a", 1, 2, "t3", 2));
      a.pushEvent(ev("s.p.b", 0, 7, "t3", 3));
      // Older transactions also touched partition 0 and the joined table: those events were applied before.
      a.pushMarker(endP("t1", 1, { "s.p.a": { 0: 1, 1: 1 }, "s.p.b": { 0: 2 } }));
      a.pushMarker(endP("t2", 3, { "s.p.a": { 1: 1 } }));
      a.pushMarker(endP("t3", 5, { "s.p.a": { 0: 1, 1: 1 }, "s.p.b": { 0: 1 } }));
      const units = a.drain();
      expect(ids(units)).toEqual([["s.p.a/1@0"], ["s.p.a/1@1"], ["s.p.a/0@10", "s.p.a/1@2", "s.p.b/0@7"]]);
      expect(a.floor("s.p.a", 1)).toBe(6n);
      expect(a.floor("s.p.a", 0)).toBe(6n);
      expect(a.floor("s.p.b", 0)).toBe(6n);
      expect(a.buffered).toBe(0);
    });

    it("counts a truncate once on each partition it reads", () => {
      const a = split([1]);
      a.pushMarker(endP("t1", 0, { "s.p.a": { 0: 1, 1: 1 } }));
      a.pushEvent(ev("s.p.a", 1, 0, "t1", 1, { truncate: true }));
      expect(ids(a.drain())).toEqual([["s.p.a/1@0"]]);
    });

    it("refuses markers without per-partition counts when it reads only some partitions", () => {
      const a = split([0]);
      a.pushMarker(end("t1", 0, { "s.p.a": 2 }));
      expect(() => a.drain()).toThrow(
        expect.objectContaining({
          code: "MESH_CONNECTOR_OUTDATED",
          message: expect.stringMatching(
            /per topic only.*1 of its 2 partitions.*upgrade the source's connector/,
          ),
        }),
      );
    });

    it("accepts markers without per-partition counts when it reads every partition", () => {
      const a = split([0, 1]);
      a.pushEvent(ev("s.p.a", 0, 0, "t1", 1));
      a.pushEvent(ev("s.p.a", 1, 0, "t1", 2));
      a.pushMarker(end("t1", 0, { "s.p.a": 2 }));
      expect(ids(a.drain())).toEqual([["s.p.a/0@0", "s.p.a/1@0"]]);
    });
  });
});
