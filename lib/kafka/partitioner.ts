// The Java client's default partitioner for keyed records: positive(murmur2(keyBytes)) % partitions. lib/kafka's
// producers place keyed messages with it (the Kafka client's own default takes murmur2 >>> 0, which differs),
// and the connector picks each event's partition itself so that the per-partition counts in END markers and
// the partition Kafka stores the event in agree by construction (docs/contracts.md "Topics and subjects").

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as a signed 32-bit integer. */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = 0x9747b28c ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = (data[i] as number) | ((data[i + 1] as number) << 8) | ((data[i + 2] as number) << 16);
    k |= (data[i + 3] as number) << 24;
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = length & 3;
  if (rest >= 3) h ^= (data[whole + 2] as number) << 16;
  if (rest >= 2) h ^= (data[whole + 1] as number) << 8;
  if (rest >= 1) h = Math.imul(h ^ (data[whole] as number), m);
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition of a keyed record; keyless records go to partition 0 (docs/contracts.md). */
export function partitionFor(key: Uint8Array | null, partitions: number): number {
  if (!key || partitions <= 1) return 0;
  return (murmur2(key) & 0x7fffffff) % partitions;
}
