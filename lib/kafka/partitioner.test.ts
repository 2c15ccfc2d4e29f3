// Our partitioner must put every key where Java's default partitioner does (the connector counts events per
// partition itself, so its partitions must be the real ones).
import { randomBytes } from "node:crypto";
import { compatibilityPartitioner, murmur2 as clientMurmur2 } from "@platformatic/kafka";
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

  it("chooses the partition of Java's default partitioner, positive(murmur2) % n", () => {
    // The client's own murmur2 with the Java mask (its compatibilityPartitioner); its *default* partitioner
    // takes murmur2 >>> 0 instead, which differs for half the keys: the reason lib/kafka picks partitions itself.
    let differs = 0;
    for (const n of [1, 2, 3, 4, 7, 12]) {
      for (let i = 0; i < 2000; i++) {
        const key = randomBytes(i % 40);
        const expected = (clientMurmur2(key) & 0x7fffffff) % n;
        expect(partitionFor(key, n)).toBe(expected);
        expect(partitionFor(key, n)).toBe(compatibilityPartitioner({ topic: "t", key }, key) % n);
        if (n === 3 && (clientMurmur2(key) >>> 0) % n !== expected) differs++;
      }
    }
    expect(differs).toBeGreaterThan(100);
  });

  it("sends keyless records to partition 0", () => {
    expect(partitionFor(null, 6)).toBe(0);
  });
});
