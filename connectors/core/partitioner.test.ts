// Our partitioner must put every key where kafkajs' (and so Java's) default partitioner does.
import { randomBytes } from "node:crypto";
import { Partitioners } from "kafkajs";
import { describe, expect, it } from "vitest";
import { murmur2, partitionFor } from "./partitioner.ts";

describe("partitioner", () => {
  it("matches Kafka's murmur2 reference values", () => {
    // Values from the Java client's UtilsTest.testMurmur2.
    expect(murmur2(Buffer.from("21"))).toBe(-973932308);
    expect(murmur2(Buffer.from("foobar"))).toBe(-790332482);
    expect(murmur2(Buffer.from("a-little-bit-long-string"))).toBe(-985981536);
    expect(murmur2(Buffer.from("a-little-bit-longer-string"))).toBe(-1486304829);
    expect(murmur2(Buffer.from("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"))).toBe(-58897971);
    expect(murmur2(Buffer.from([97, 98, 99]))).toBe(479470107);
  });

  it("chooses the partition kafkajs' DefaultPartitioner chooses", () => {
    const kafkajs = Partitioners.DefaultPartitioner();
    for (const n of [1, 2, 3, 4, 7, 12]) {
      const partitionMetadata = Array.from({ length: n }, (_, i) => ({
        partitionId: i,
        leader: 0,
        partitionErrorCode: 0,
        replicas: [0],
        isr: [0],
      }));
      for (let i = 0; i < 2000; i++) {
        const key = randomBytes(i % 40);
        expect(partitionFor(key, n)).toBe(
          kafkajs({ topic: "t", partitionMetadata, message: { key, value: null } }),
        );
      }
    }
  });

  it("sends keyless records to partition 0", () => {
    expect(partitionFor(null, 6)).toBe(0);
  });
});
