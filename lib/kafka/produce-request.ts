// Produce requests written straight into one buffer. The client builds every record as a Writer over a
// DynamicBuffer of about eight small buffers, then copies each batch once to compute its CRC and the whole
// request again to send it: about a third of a connector's CPU per row (docs/connector-postgres.md,
// "Where the time goes"). Here a request is measured first, then written once into a buffer of exactly its
// size, and the CRC is computed over a view of it. The bytes are the client's own (produce-request.test.ts
// compares them), so everything else the client does (idempotent sequences, transactions, retries,
// recovery) is untouched: fast-producer.ts hands this encoder to the client as its Produce API.
import { crc32c } from "@node-rs/crc32";

/** A message as the client hands it to its Produce API: serialized, its partition chosen. */
export interface RecordMessage {
  topic: string;
  partition: number;
  key?: Buffer | null;
  value?: Buffer | null;
  headers?: Map<Buffer, Buffer | null>;
  timestamp?: bigint | number;
}

/** The client's produce options (only the fields the request carries). */
export interface RecordBatchOptions {
  producerId?: bigint;
  producerEpoch?: number;
  /** First sequence per `${topic}:${partition}` (the idempotent producer's). */
  sequences?: Map<string, number>;
  transactionalId?: string | null;
}

/** Record batch header: baseOffset(8) length(4) leaderEpoch(4) magic(1) crc(4), then 40 bytes under the CRC. */
const BATCH_HEADER_BYTES = 61;
/** Offset of the attributes field, where the CRC'd part of a batch starts. */
const CRC_START = 21;
const IS_TRANSACTIONAL = 1 << 4;
const TWO_32 = 4294967296;

type Groups = Map<string, Map<number, RecordMessage[]>>;

/** Messages grouped by topic, then partition, each group in first-appearance order (as the client does). */
function group(messages: readonly RecordMessage[]): Groups {
  const topics: Groups = new Map();
  for (const m of messages) {
    let partitions = topics.get(m.topic);
    if (!partitions) topics.set(m.topic, (partitions = new Map()));
    const list = partitions.get(m.partition);
    if (list) list.push(m);
    else partitions.set(m.partition, [m]);
  }
  return topics;
}

const zigzag32 = (n: number): number => ((n << 1) ^ (n >> 31)) >>> 0;
/** Zigzag of a safe integer (timestamp deltas may exceed 32 bits). */
const zigzag64 = (n: number): number => (n >= 0 ? 2 * n : -2 * n - 1);

function uvarintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  let size = 5;
  for (v = Math.floor(v / 0x800000000); v >= 1; v = Math.floor(v / 128)) size++;
  return size;
}

function writeUvarint(buf: Buffer, pos: number, v: number): number {
  if (v < 0x80000000) {
    while (v >= 0x80) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    return pos;
  }
  while (v >= 0x80) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

const bytesSize = (b: Buffer | null | undefined): number =>
  b == null ? 1 : uvarintSize(zigzag32(b.length)) + b.length;

function writeBytes(buf: Buffer, pos: number, b: Buffer | null | undefined): number {
  if (b == null) {
    buf[pos] = 1; // zigzag(-1): null
    return pos + 1;
  }
  pos = writeUvarint(buf, pos, zigzag32(b.length));
  return pos + b.copy(buf, pos);
}

const timestampOf = (m: RecordMessage, now: number): number =>
  m.timestamp === undefined ? now : Number(m.timestamp);

/** A record's size without its own length prefix. */
function recordBodySize(m: RecordMessage, timestampDelta: number, offsetDelta: number): number {
  let size = 1 + uvarintSize(zigzag64(timestampDelta)) + uvarintSize(zigzag32(offsetDelta));
  size += bytesSize(m.key) + bytesSize(m.value);
  const headers = m.headers;
  size += uvarintSize(zigzag32(headers?.size ?? 0));
  if (headers) for (const [k, v] of headers) size += bytesSize(k) + bytesSize(v);
  return size;
}

function batchSize(records: readonly RecordMessage[], now: number): number {
  const first = timestampOf(records[0] as RecordMessage, now);
  let size = BATCH_HEADER_BYTES;
  for (let i = 0; i < records.length; i++) {
    const body = recordBodySize(
      records[i] as RecordMessage,
      timestampOf(records[i] as RecordMessage, now) - first,
      i,
    );
    size += uvarintSize(zigzag32(body)) + body;
  }
  return size;
}

function writeInt64(buf: Buffer, pos: number, n: number): void {
  const high = Math.floor(n / TWO_32);
  buf.writeInt32BE(high, pos);
  buf.writeUInt32BE(n - high * TWO_32, pos + 4);
}

function writeBatch(
  buf: Buffer,
  start: number,
  size: number,
  records: readonly RecordMessage[],
  firstSequence: number,
  o: RecordBatchOptions,
  now: number,
): void {
  const first = timestampOf(records[0] as RecordMessage, now);
  let max = first;
  let pos = start + BATCH_HEADER_BYTES;
  for (let i = 0; i < records.length; i++) {
    const m = records[i] as RecordMessage;
    const ts = timestampOf(m, now);
    if (ts > max) max = ts;
    pos = writeUvarint(buf, pos, zigzag32(recordBodySize(m, ts - first, i)));
    buf[pos++] = 0; // record attributes (unused)
    pos = writeUvarint(buf, pos, zigzag64(ts - first));
    pos = writeUvarint(buf, pos, zigzag32(i));
    pos = writeBytes(buf, pos, m.key);
    pos = writeBytes(buf, pos, m.value);
    pos = writeUvarint(buf, pos, zigzag32(m.headers?.size ?? 0));
    if (m.headers) {
      for (const [k, v] of m.headers) {
        pos = writeBytes(buf, pos, k);
        pos = writeBytes(buf, pos, v);
      }
    }
  }
  buf.writeInt32BE(0, start); // baseOffset (the broker assigns it)
  buf.writeInt32BE(0, start + 4);
  buf.writeInt32BE(size - 12, start + 8); // length after baseOffset and itself
  buf.writeInt32BE(0, start + 12); // partitionLeaderEpoch: the client's 0 (the broker sets its own)
  buf[start + 16] = 2; // magic
  buf.writeInt16BE(o.transactionalId ? IS_TRANSACTIONAL : 0, start + CRC_START);
  buf.writeInt32BE(records.length - 1, start + 23); // lastOffsetDelta
  writeInt64(buf, start + 27, first);
  writeInt64(buf, start + 35, max);
  buf.writeBigInt64BE(o.producerId ?? -1n, start + 43);
  buf.writeInt16BE(o.producerEpoch ?? 0, start + 51);
  buf.writeInt32BE(firstSequence, start + 53);
  buf.writeInt32BE(records.length, start + 57);
  buf.writeUInt32BE(crc32c(buf.subarray(start + CRC_START, start + size)), start + 17);
}

/**
 * The body of a Produce request v9–v11 (the flexible versions; their requests are identical): transactional
 * id, acks, timeout and one record batch (magic 2, uncompressed) per partition. Messages without a timestamp
 * get `now`; each partition's batch starts at its sequence in `o.sequences` (0 without one).
 */
export function encodeProduceRequest(
  acks: number,
  timeoutMs: number,
  messages: readonly RecordMessage[],
  o: RecordBatchOptions,
  now = Date.now(),
): Buffer {
  const topics = group(messages);
  const txn = o.transactionalId == null ? null : Buffer.from(o.transactionalId);
  let size = (txn ? uvarintSize(txn.length + 1) + txn.length : 1) + 6 + uvarintSize(topics.size + 1) + 1;
  const batchSizes: number[] = [];
  for (const [topic, partitions] of topics) {
    const name = Buffer.byteLength(topic);
    size += uvarintSize(name + 1) + name + uvarintSize(partitions.size + 1) + 1;
    for (const records of partitions.values()) {
      const batch = batchSize(records, now);
      batchSizes.push(batch);
      size += 4 + uvarintSize(batch + 1) + batch + 1;
    }
  }

  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  if (txn) {
    pos = writeUvarint(buf, pos, txn.length + 1);
    pos += txn.copy(buf, pos);
  } else buf[pos++] = 0;
  pos = buf.writeInt16BE(acks, pos);
  pos = buf.writeInt32BE(timeoutMs, pos);
  pos = writeUvarint(buf, pos, topics.size + 1);
  let b = 0;
  for (const [topic, partitions] of topics) {
    pos = writeUvarint(buf, pos, Buffer.byteLength(topic) + 1);
    pos += buf.write(topic, pos);
    pos = writeUvarint(buf, pos, partitions.size + 1);
    for (const [partition, records] of partitions) {
      const batch = batchSizes[b++] as number;
      pos = buf.writeInt32BE(partition, pos);
      pos = writeUvarint(buf, pos, batch + 1);
      const sequence = o.sequences?.get(`${topic}:${partition}`) ?? 0;
      writeBatch(buf, pos, batch, records, sequence, o, now);
      pos += batch;
      buf[pos++] = 0; // partition's tagged fields
    }
    buf[pos++] = 0; // topic's tagged fields
  }
  buf[pos++] = 0; // request's tagged fields
  if (pos !== size) throw new Error(`produce request: wrote ${pos} bytes of ${size} measured`);
  return buf;
}
