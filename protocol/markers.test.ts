import { describe, expect, it } from "vitest";
import { avroType } from "../lib/avro.ts";
import {
  markerCounts,
  markerVersion,
  PartitionTally,
  transactionMarkerSchema,
  TransactionCounter,
  type DecodedMarker,
} from "./markers.ts";
import { protocolHeaders } from "./version.ts";

describe("transaction markers", () => {
  it("counts a transaction's events per topic for the END marker", () => {
    const counter = new TransactionCounter("7:100");
    expect(counter.next("a")).toEqual({ id: "7:100", total_order: 1n, data_collection_order: 1n });
    counter.next("b");
    expect(counter.next("a")).toEqual({ id: "7:100", total_order: 3n, data_collection_order: 2n });
    const end = counter.marker("END", 5n);
    expect(end).toEqual({
      status: "END",
      id: "7:100",
      event_count: 3n,
      data_collections: [
        { data_collection: "a", event_count: 2n, partitions: null },
        { data_collection: "b", event_count: 1n, partitions: null },
      ],
      ts_ms: 5n,
    });
    const type = avroType(transactionMarkerSchema("src"));
    expect(type.fromBuffer(type.toBuffer(end))).toEqual(end);
    expect(counter.marker("BEGIN", 5n).event_count).toBeNull();
  });

  it("counts per partition what was placed, forgets finished transactions, restarts on BEGIN", () => {
    const tally = new PartitionTally();
    const counter = new TransactionCounter("9:1");
    tally.count("9:1", "s.p.a", 2);
    tally.count("9:1", "s.p.a", 0);
    tally.count("9:1", "s.p.a", 2);
    // A replayed transaction: BEGIN again, and only what follows counts.
    expect(tally.complete(counter.marker("BEGIN", 1n)).data_collections).toBeNull();
    counter.next("s.p.a");
    counter.next("s.p.b");
    tally.count("9:1", "s.p.a", 1);
    // A truncate of s.p.b: one event per partition, each counted once.
    for (const p of [0, 1]) tally.count("9:1", "s.p.b", p);
    tally.count("other", "s.p.a", 0);
    const end = tally.complete(counter.marker("END", 2n));
    expect(end.data_collections).toEqual([
      { data_collection: "s.p.a", event_count: 1n, partitions: [{ partition: 1, event_count: 1n }] },
      {
        data_collection: "s.p.b",
        event_count: 1n,
        partitions: [
          { partition: 0, event_count: 1n },
          { partition: 1, event_count: 1n },
        ],
      },
    ]);
    expect(tally.open).toBe(1); // "other" is still open
    const type = avroType(transactionMarkerSchema("s"));
    const decoded = type.fromBuffer(type.toBuffer(end)) as DecodedMarker;
    expect(markerCounts(decoded)).toEqual({
      counts: new Map([
        ["s.p.a", 1],
        ["s.p.b", 1],
      ]),
      partitionCounts: new Map([
        ["s.p.a", new Map([[1, 1]])],
        [
          "s.p.b",
          new Map([
            [0, 1],
            [1, 1],
          ]),
        ],
      ]),
    });
    expect(markerVersion(decoded, protocolHeaders())).toBe(2);
    expect(markerVersion(decoded, undefined)).toBe(2);
  });

  it("reads markers of writers before per-partition counts (no field at all) as version 1", () => {
    const old: DecodedMarker = {
      status: "END",
      id: "1:1",
      event_count: 2n,
      data_collections: [{ data_collection: "s.p.a", event_count: 2n }],
      ts_ms: 1n,
    };
    expect(markerCounts(old)).toEqual({ counts: new Map([["s.p.a", 2]]), partitionCounts: new Map() });
    expect(markerVersion(old, {})).toBe(1);
    expect(markerVersion({ ...old, status: "BEGIN", data_collections: null }, undefined)).toBe(1);
  });
});
