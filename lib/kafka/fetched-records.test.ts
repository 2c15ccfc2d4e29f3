import { describe, expect, it } from "vitest";
import { toRecordBatch, type FetchedBatch, type FetchedPartition } from "./fetched-records.ts";

const TRANSACTIONAL = 1 << 4;
const CONTROL = 1 << 5;
const LOG_APPEND_TIME = 1 << 3;

/** A data batch of `count` records from `first`; values are "v<offset>". */
function data(first: number, count: number, producerId = -1, transactional = false): FetchedBatch {
  return {
    firstOffset: BigInt(first),
    lastOffsetDelta: count - 1,
    attributes: transactional ? TRANSACTIONAL : 0,
    firstTimestamp: 1_000n,
    maxTimestamp: 1_000n + BigInt(count - 1),
    producerId: BigInt(producerId),
    records: Array.from({ length: count }, (_, i) => ({
      offsetDelta: i,
      timestampDelta: BigInt(i),
      key: Buffer.from(`k${first + i}`),
      value: Buffer.from(`v${first + i}`),
      headers: [],
    })),
  };
}

function marker(offset: number, producerId: number, type: "abort" | "commit"): FetchedBatch {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(type === "abort" ? 0 : 1, 2);
  return {
    firstOffset: BigInt(offset),
    lastOffsetDelta: 0,
    attributes: TRANSACTIONAL | CONTROL,
    firstTimestamp: 0n,
    maxTimestamp: 0n,
    producerId: BigInt(producerId),
    records: [{ offsetDelta: 0, timestampDelta: 0n, key, value: Buffer.alloc(6), headers: [] }],
  };
}

function partition(
  records: FetchedBatch[],
  aborted: { producerId: number; firstOffset: number }[] = [],
): FetchedPartition {
  return {
    highWatermark: 100n,
    lastStableOffset: 90n,
    abortedTransactions: aborted.map((a) => ({
      producerId: BigInt(a.producerId),
      firstOffset: BigInt(a.firstOffset),
    })),
    records,
  };
}

function values(
  fetched: FetchedPartition,
  from = 0n,
  isolation: "read_committed" | "read_uncommitted" = "read_committed",
) {
  const batch = toRecordBatch("t", 0, from, fetched, isolation);
  return { values: batch?.records.map((r) => r.value!.toString()), next: batch?.nextOffset, batch };
}

describe("toRecordBatch", () => {
  it("hands over plain records with offsets, timestamps, headers and the next offset", () => {
    const b = data(5, 3);
    b.records[1]!.headers = [
      [Buffer.from("h"), Buffer.from("x")],
      [Buffer.from("empty"), null],
    ];
    const batch = toRecordBatch("t", 2, 5n, partition([b]), "read_uncommitted")!;
    expect(batch.records.map((r) => [r.offset, r.timestamp, r.value!.toString()])).toEqual([
      [5n, 1000, "v5"],
      [6n, 1001, "v6"],
      [7n, 1002, "v7"],
    ]);
    expect(batch.records[1]!.headers).toEqual({ h: Buffer.from("x"), empty: Buffer.alloc(0) });
    expect(batch).toMatchObject({ topic: "t", partition: 2, nextOffset: 8n, highWatermark: 100n });
  });

  it("reports the last stable offset as the high watermark under read_committed", () => {
    expect(toRecordBatch("t", 0, 0n, partition([data(0, 1)]), "read_committed")!.highWatermark).toBe(90n);
  });

  it("skips records before the fetch offset inside a returned batch", () => {
    expect(values(partition([data(10, 5)]), 12n)).toMatchObject({ values: ["v12", "v13", "v14"], next: 15n });
  });

  it("uses the batch's max timestamp for LogAppendTime topics", () => {
    const b = data(0, 2);
    b.attributes |= LOG_APPEND_TIME;
    const batch = toRecordBatch("t", 0, 0n, partition([b]), "read_uncommitted")!;
    expect(batch.records.map((r) => r.timestamp)).toEqual([1001, 1001]);
  });

  it("returns null when nothing at or after the fetch offset came back", () => {
    expect(toRecordBatch("t", 0, 7n, partition([]), "read_committed")).toBeNull();
    expect(toRecordBatch("t", 0, 7n, partition([data(0, 5)]), "read_committed")).toBeNull();
  });

  it("drops an aborted transaction and both markers, keeps a committed one, and advances past all", () => {
    const fetched = partition(
      [data(0, 2, 7, true), marker(2, 7, "abort"), data(3, 2, 7, true), marker(5, 7, "commit"), data(6, 1)],
      [{ producerId: 7, firstOffset: 0 }],
    );
    expect(values(fetched)).toMatchObject({ values: ["v3", "v4", "v6"], next: 7n });
    // read_uncommitted sees every data record, still never a marker.
    expect(values(fetched, 0n, "read_uncommitted").values).toEqual(["v0", "v1", "v3", "v4", "v6"]);
  });

  it("separates interleaved producers: only the aborting producer's batches are dropped", () => {
    const fetched = partition(
      [
        data(0, 1, 1, true), // producer 1, aborted below
        data(1, 1, 2, true), // producer 2, committed below
        data(2, 1, 1, true),
        data(3, 1), // non-transactional
        marker(4, 1, "abort"),
        marker(5, 2, "commit"),
      ],
      [{ producerId: 1, firstOffset: 0 }],
    );
    expect(values(fetched)).toMatchObject({ values: ["v1", "v3"], next: 6n });
  });

  it("handles several aborted transactions of one producer with a committed one between them", () => {
    const fetched = partition(
      [
        data(0, 2, 4, true),
        marker(2, 4, "abort"),
        data(3, 2, 4, true),
        marker(5, 4, "commit"),
        data(6, 2, 4, true),
        marker(8, 4, "abort"),
      ],
      // The broker's order is not relied on.
      [
        { producerId: 4, firstOffset: 6 },
        { producerId: 4, firstOffset: 0 },
      ],
    );
    expect(values(fetched)).toMatchObject({ values: ["v3", "v4"], next: 9n });
  });

  it("drops an aborted transaction whose marker lies beyond this response", () => {
    const fetched = partition([data(0, 1), data(1, 3, 9, true)], [{ producerId: 9, firstOffset: 1 }]);
    expect(values(fetched)).toMatchObject({ values: ["v0"], next: 4n });
  });

  it("hands over an empty batch when only markers and aborted data were in range", () => {
    const fetched = partition(
      [data(10, 2, 3, true), marker(12, 3, "abort")],
      [{ producerId: 3, firstOffset: 10 }],
    );
    const { batch } = values(fetched, 10n);
    expect(batch).toMatchObject({ records: [], nextOffset: 13n });
  });

  it("does not treat a producer's later transaction as aborted once its ABORT marker passed", () => {
    const fetched = partition(
      [data(0, 1, 5, true), marker(1, 5, "abort"), data(2, 1, 5, true), marker(3, 5, "commit")],
      [{ producerId: 5, firstOffset: 0 }],
    );
    expect(values(fetched).values).toEqual(["v2"]);
  });
});
