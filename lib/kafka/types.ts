// The record shapes every role sees on both sides of Kafka: what it sends (OutMessage) and what a reader hands
// over (InRecord, grouped per partition in a RecordBatch). Free of the client library, so roles and protocol/
// can name them without importing one.

/** read_committed (the default everywhere): records of aborted transactions and control records never surface. */
export type Isolation = "read_committed" | "read_uncommitted";

export interface OutMessage {
  topic: string;
  key: Buffer | string | null;
  /** null: a tombstone. */
  value: Buffer | string | null;
  /** Else murmur2 of the key (Java's default partitioner), or round robin without a key. */
  partition?: number;
  headers?: Record<string, string | Buffer>;
}

export interface InRecord {
  topic: string;
  partition: number;
  offset: bigint;
  /** ms since the epoch (CreateTime, or LogAppendTime when the topic is configured so). */
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

export interface TopicPartition {
  topic: string;
  partition: number;
}
