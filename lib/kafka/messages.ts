// The shapes of what lib/kafka writes and reads, shared by the producing and the reading side, so that no
// role ever sees a Kafka client's own message types.

/** Which records a reader sees: read_committed hides aborted transactions (and stops at the last stable offset). */
export type Isolation = "read_committed" | "read_uncommitted";

export interface OutMessage {
  topic: string;
  key: Buffer | string | null;
  /** null: a tombstone. */
  value: Buffer | string | null;
  /** Else murmur2 of the key (Java's default partitioner), or round robin without a key. */
  partition?: number;
  headers?: Record<string, string | Buffer>;
  /** The record's CreateTime, ms since the epoch; default: when the client sends it. */
  timestamp?: number;
}

export interface InRecord {
  topic: string;
  partition: number;
  offset: bigint;
  /** ms since the epoch (CreateTime). */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer>;
}

export interface RecordBatch {
  topic: string;
  partition: number;
  /** May be empty when compaction or transaction markers left no record in the range. */
  records: InRecord[];
  /** Where the next fetch of this partition starts. */
  nextOffset: bigint;
  /** Or the last stable offset when reading read_committed. */
  highWatermark: bigint;
}

/** Where one message landed. */
export interface Delivery {
  topic: string;
  partition: number;
  offset: bigint;
}
