import { describe, expect, it } from "vitest";
import type { fetchV17 } from "@platformatic/kafka";
import { batchesOf, outOfRangeError, planFetch } from "./fetch-round.ts";

const ids: Record<string, string> = { a: "id-a", b: "id-b" };
const plan = () =>
  planFetch(
    [
      { topic: "a", partition: 0, fetchOffset: 5n, owner: "a0" },
      { topic: "a", partition: 2, fetchOffset: 0n, owner: "a2" },
      { topic: "b", partition: 1, fetchOffset: 7n, owner: "b1" },
    ],
    (t) => ids[t]!,
    1000,
  );

function partition(partitionIndex: number, extra: Partial<fetchV17.FetchResponsePartition> = {}) {
  return {
    partitionIndex,
    errorCode: 0,
    highWatermark: 10n,
    lastStableOffset: 10n,
    logStartOffset: 0n,
    abortedTransactions: null,
    preferredReadReplica: -1,
    records: [],
    ...extra,
  };
}

function oneRecordAt(offset: bigint) {
  return [
    {
      firstOffset: offset,
      length: 0,
      partitionLeaderEpoch: 0,
      magic: 2,
      crc: 0,
      attributes: 0,
      lastOffsetDelta: 0,
      firstTimestamp: 0n,
      maxTimestamp: 0n,
      producerId: -1n,
      producerEpoch: -1,
      firstSequence: -1,
      records: [
        {
          length: 0,
          attributes: 0,
          timestampDelta: 0n,
          offsetDelta: 0,
          key: null,
          value: Buffer.from("x"),
          headers: [],
        },
      ],
    },
  ];
}

describe("planFetch", () => {
  it("groups partitions by topic id, with the offsets and byte limit asked", () => {
    const p = plan();
    expect(
      p.topics.map((t) => [
        t.topicId,
        t.partitions.map((x) => [x.partition, x.fetchOffset, x.partitionMaxBytes]),
      ]),
    ).toEqual([
      [
        "id-a",
        [
          [0, 5n, 1000],
          [2, 0n, 1000],
        ],
      ],
      ["id-b", [[1, 7n, 1000]]],
    ]);
    expect(p.names.get("id-b")).toBe("b");
  });
});

describe("batchesOf", () => {
  it("answers each request with its batch and ignores partitions it did not ask for", () => {
    const response: fetchV17.FetchResponse = {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 1,
      responses: [
        {
          topicId: "id-a",
          partitions: [
            partition(0, { records: oneRecordAt(5n) }),
            partition(1, { records: oneRecordAt(0n) }),
          ],
        },
        { topicId: "id-unknown", partitions: [partition(0, { records: oneRecordAt(0n) })] },
        { topicId: "id-b", partitions: [partition(1)] },
      ],
    };
    const out = batchesOf(plan(), response, "read_committed");
    expect(
      out.map(({ batch, from }) => [batch.topic, batch.partition, batch.nextOffset, from.owner]),
    ).toEqual([["a", 0, 6n, "a0"]]);
  });
});

describe("outOfRangeError", () => {
  it("names topic, partition and offset from the response nested in the client's error", () => {
    const response = {
      responses: [
        {
          topicId: "id-b",
          partitions: [partition(1, { errorCode: 1, logStartOffset: 0n, highWatermark: 3n })],
        },
      ],
    };
    const clientError = {
      errors: [new Error("retry 1"), Object.assign(new Error("response"), { response })],
    };
    const err = outOfRangeError(plan(), clientError);
    expect(err?.code).toBe("MESH_KAFKA_OFFSET_OUT_OF_RANGE");
    expect(err?.retryable).toBe(false);
    expect(err?.details).toMatchObject({ topic: "b", partition: 1, offset: "7", highWatermark: "3" });
    expect(err?.message).toContain("offset 7 of b partition 1");
  });

  it("is undefined for any other failure", () => {
    expect(outOfRangeError(plan(), new Error("socket hang up"))).toBeUndefined();
    const notOutOfRange = {
      response: { responses: [{ topicId: "id-a", partitions: [partition(0, { errorCode: 6 })] }] },
    };
    expect(outOfRangeError(plan(), notOutOfRange)).toBeUndefined();
  });
});
