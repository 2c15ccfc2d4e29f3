// Turns one partition of a Fetch response into the RecordBatch a PartitionReader hands over. Pure: no client,
// no clock. Owns the read_committed rule, which is the Java consumer's (CompletedFetch.nextFetchedBatch):
//   walk the record batches in offset order; the broker lists the aborted transactions overlapping the
//   response as (producerId, firstOffset). Once a batch's last offset reaches an aborted transaction's
//   firstOffset, that producer is "aborting": its transactional data batches are dropped until its ABORT
//   control record, which ends the range. Control batches (COMMIT/ABORT markers) are never handed over.
// nextOffset advances past everything returned, dropped batches and markers included, so a reader never
// stalls on a range that holds no record for the caller.
import type { InRecord, Isolation, RecordBatch } from "./messages.ts";

/** Record batch attribute bits (Kafka's RecordBatch v2 header). */
const LOG_APPEND_TIME = 1 << 3;
const TRANSACTIONAL = 1 << 4;
const CONTROL = 1 << 5;
/** Control record key: int16 version, int16 type; type 0 is ABORT, 1 is COMMIT. */
const ABORT_MARKER = 0;

/** The fields of a decoded record the reader needs (a subset of the client's KafkaRecord). */
export interface FetchedRecord {
  offsetDelta: number;
  timestampDelta: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: [Buffer | null, Buffer | null][];
}

/** The fields of a decoded record batch the reader needs (a subset of the client's RecordsBatch). */
export interface FetchedBatch {
  firstOffset: bigint;
  lastOffsetDelta: number;
  attributes: number;
  firstTimestamp: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  records: FetchedRecord[];
}

export interface FetchedPartition {
  highWatermark: bigint;
  lastStableOffset: bigint;
  abortedTransactions: { producerId: bigint; firstOffset: bigint }[] | null;
  records?: FetchedBatch[] | null;
}

/**
 * The batch to hand over for a partition fetched from `fetchOffset`, or null when the response moved nothing
 * (no batch at or after fetchOffset: the reader simply fetches again).
 */
export function toRecordBatch(
  topic: string,
  partition: number,
  fetchOffset: bigint,
  fetched: FetchedPartition,
  isolation: Isolation,
): RecordBatch | null {
  const batches = fetched.records ?? [];
  const committedOnly = isolation === "read_committed";
  const aborted = committedOnly
    ? [...(fetched.abortedTransactions ?? [])].sort((a, b) => compare(a.firstOffset, b.firstOffset))
    : [];
  let nextAborted = 0;
  const abortingProducers = new Set<bigint>();
  const records: InRecord[] = [];
  let nextOffset = fetchOffset;

  for (const batch of batches) {
    const lastOffset = batch.firstOffset + BigInt(batch.lastOffsetDelta);
    // A fetch may start inside a batch (the broker returns whole batches): what lies before fetchOffset was
    // handed over already.
    if (lastOffset < fetchOffset) continue;
    if (lastOffset + 1n > nextOffset) nextOffset = lastOffset + 1n;

    const isControl = (batch.attributes & CONTROL) !== 0;
    if (committedOnly && batch.producerId >= 0n) {
      while (nextAborted < aborted.length && aborted[nextAborted]!.firstOffset <= lastOffset) {
        abortingProducers.add(aborted[nextAborted]!.producerId);
        nextAborted++;
      }
      if (isControl) {
        if (controlType(batch) === ABORT_MARKER) abortingProducers.delete(batch.producerId);
      } else if ((batch.attributes & TRANSACTIONAL) !== 0 && abortingProducers.has(batch.producerId)) {
        continue;
      }
    }
    if (isControl) continue;

    const logAppendTime = (batch.attributes & LOG_APPEND_TIME) !== 0;
    for (const record of batch.records) {
      const offset = batch.firstOffset + BigInt(record.offsetDelta);
      if (offset < fetchOffset) continue;
      records.push({
        topic,
        partition,
        offset,
        timestamp: Number(logAppendTime ? batch.maxTimestamp : batch.firstTimestamp + record.timestampDelta),
        key: record.key,
        value: record.value,
        headers: toHeaders(record.headers),
      });
    }
  }

  if (nextOffset === fetchOffset) return null;
  return {
    topic,
    partition,
    records,
    nextOffset,
    highWatermark: committedOnly ? fetched.lastStableOffset : fetched.highWatermark,
  };
}

function controlType(batch: FetchedBatch): number {
  const key = batch.records[0]?.key;
  return key && key.length >= 4 ? key.readInt16BE(2) : -1;
}

function toHeaders(headers: [Buffer | null, Buffer | null][]): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [name, value] of headers) {
    if (name === null) continue;
    out[name.toString()] = value ?? Buffer.alloc(0);
  }
  return out;
}

function compare(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
