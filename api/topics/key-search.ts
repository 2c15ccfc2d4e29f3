// Owns finding the latest record of one key in a topic without an index: every partition is read backwards
// in windows that double (the newest records first, then older ones), each window forwards with a lib/kafka
// reader (read_committed), until a window holds the key or the partition's start is reached. A key lives in
// one partition, so the first partition that finds it answers. Bounded: at most `maxRecords` records looked
// at in all (the answer says how many and whether the whole topic was searched).
import type { InRecord, KafkaClient } from "../../lib/kafka/index.ts";

export interface KeySearch {
  kafka: KafkaClient;
  topic: string;
  /** Whether a record's key is the one searched (decoding is the caller's). */
  matches(record: InRecord): Promise<boolean>;
  /** Default 1 000 000. */
  maxRecords?: number;
  /** First window per partition (default 1000 records). */
  window?: number;
  signal?: AbortSignal;
}

export interface KeySearchResult {
  /** The newest matching record (a tombstone counts: the caller may want the event before it). */
  records: InRecord[];
  scanned: number;
  /** False when the bound stopped the search before every partition's start. */
  complete: boolean;
}

/** The matching records of the newest window holding the key, in offset order (empty: none found). */
export async function searchKey(s: KeySearch): Promise<KeySearchResult> {
  const admin = s.kafka.admin();
  const offsets = await admin.offsets(s.topic, { isolation: "read_committed" });
  const budget = s.maxRecords ?? 1_000_000;
  let scanned = 0;
  // Per partition: the window still to read is [low, end).
  const todo = new Map(
    [...offsets].map(([p, o]) => [p, { low: o.low, end: o.high, size: BigInt(s.window ?? 1000) }]),
  );
  const reader = s.kafka.reader({ maxWaitMs: 50 });
  try {
    while (todo.size > 0 && scanned < budget) {
      for (const [partition, w] of todo) {
        if (w.end <= w.low) {
          todo.delete(partition);
          continue;
        }
        const from = w.end - w.size > w.low ? w.end - w.size : w.low;
        const found = await readWindow(s, reader, partition, from, w.end, (n) => (scanned += n));
        if (found.length > 0) return { records: found, scanned, complete: true };
        w.end = from;
        w.size *= 2n;
        if (scanned >= budget) break;
      }
    }
    return { records: [], scanned, complete: todo.size === 0 };
  } finally {
    await reader.close();
  }
}

async function readWindow(
  s: KeySearch,
  reader: ReturnType<KafkaClient["reader"]>,
  partition: number,
  from: bigint,
  end: bigint,
  count: (n: number) => void,
): Promise<InRecord[]> {
  const found: InRecord[] = [];
  await reader.assign([{ topic: s.topic, partition, offset: from }]);
  const stop = new AbortController();
  const abort = (): void => stop.abort();
  s.signal?.addEventListener("abort", abort, { once: true });
  try {
    for await (const batch of reader.batches(stop.signal)) {
      if (batch.partition !== partition) continue;
      for (const record of batch.records) {
        if (record.offset >= end) break;
        count(1);
        if (await s.matches(record)) found.push(record);
      }
      if (batch.nextOffset >= end) break;
    }
  } finally {
    s.signal?.removeEventListener("abort", abort);
    reader.unassign([{ topic: s.topic, partition }]);
  }
  return found;
}
