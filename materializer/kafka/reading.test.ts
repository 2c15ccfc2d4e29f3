// Stored positions: "<offset>/<floor>", and values written before floors existed ("<offset>"); when a split
// view's driving partition counts as caught up.
import { describe, expect, it } from "vitest";
import type { KafkaAdmin } from "../../lib/kafka/index.ts";
import { transactionsTopic } from "../../protocol/topics.ts";
import { Layout } from "../engine/layout.ts";
import type { Db } from "../engine/reader.ts";
import { tpKey } from "./assembler.ts";
import type { Marker } from "./decode.ts";
import { formatStored, parseStored, Reading } from "./reading.ts";

describe("stored positions", () => {
  it("round-trips offset and marker floor", () => {
    expect(parseStored(formatStored({ offset: 42n, floor: 7n }), 0n)).toEqual({ offset: 42n, floor: 7n });
  });

  it("gives positions written before floors the source's stored marker position as floor", () => {
    expect(parseStored(Buffer.from("42"), 9n)).toEqual({ offset: 42n, floor: 9n });
  });
});

describe("a split view's partition caught up", () => {
  const markers = transactionsTopic("s");
  // Each topic partition's read_committed end: an exactly-once source's topics end in commit markers.
  const ends: Record<string, [number, number][]> = {
    "s.p.a": [
      [0, 0],
      [1, 2], // one event at offset 0, the commit marker at 1
    ],
    [markers]: [[0, 3]], // BEGIN at 0, END at 1, the commit marker at 2
  };
  const admin = {
    listTopics: () => Promise.resolve(Object.keys(ends)),
    offsets: (topic: string) =>
      Promise.resolve(new Map((ends[topic] ?? []).map(([p, high]) => [p, { low: 0n, high: BigInt(high) }]))),
  } as unknown as KafkaAdmin;
  const db = {
    get: () => Promise.resolve(undefined),
    values: async function* () {},
  } as unknown as Db;
  const marker = (status: "BEGIN" | "END", offset: bigint): Marker => ({
    source: "s",
    offset,
    status,
    id: "t1",
    counts: status === "END" ? new Map([["s.p.a", 1]]) : null,
    ...(status === "END" ? { partitionCounts: new Map([["s.p.a", new Map([[1, 1]])]]) } : {}),
    version: 2,
    tsMs: 1,
  });

  it("is judged against the last marker read when the marker topic ends in a commit marker", async () => {
    const reading = await Reading.plan(admin, db, new Layout("v"), ["s.p.a"], [0]);
    const k = tpKey(markers, 0);
    for (const m of [marker("BEGIN", 0n), marker("END", 1n)]) {
      reading.assembler.pushMarker(m);
      reading.markerRead(k, m.offset);
      reading.position.set(k, m.offset + 1n);
    }
    reading.assembler.drain();
    expect(reading.assembler.floor("s.p.a", 0)).toBe(2n);
    // The commit marker not passed yet: a marker could still follow.
    expect(reading.partitionCaughtUp(0)).toBe(false);
    reading.passed(k, 3n);
    expect(reading.partitionCaughtUp(0)).toBe(true);
  });

  it("is not caught up while a marker that counts it waits for its events", async () => {
    const reading = await Reading.plan(admin, db, new Layout("v"), ["s.p.a"], [1]);
    const k = tpKey(markers, 0);
    for (const m of [marker("BEGIN", 0n), marker("END", 1n)]) {
      reading.assembler.pushMarker(m);
      reading.markerRead(k, m.offset);
    }
    reading.passed(k, 3n);
    reading.passed(tpKey("s.p.a", 1), 2n); // (as if the event were read: only the marker's release is missing)
    reading.assembler.drain();
    expect(reading.assembler.floor("s.p.a", 1)).toBe(1n); // past the BEGIN marker, not the END
    expect(reading.partitionCaughtUp(1)).toBe(false);
  });
});
