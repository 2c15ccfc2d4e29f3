import { produceV11 } from "@platformatic/kafka";
import { crc32c } from "@node-rs/crc32";
import { describe, expect, it } from "vitest";
import { encodeProduceRequest, type RecordBatchOptions, type RecordMessage } from "./produce-request.ts";

const b = (s: string): Buffer => Buffer.from(s);

/** The client's own encoding of the same request (it sets missing timestamps on the objects it is given). */
function clientBytes(
  acks: number,
  timeout: number,
  messages: RecordMessage[],
  o: RecordBatchOptions,
): Buffer {
  const copies = messages.map((m) => ({ ...m }));
  const sequences = o.sequences
    ? { getWithDefault: (k: string, d: number) => o.sequences?.get(k) ?? d }
    : undefined;
  // The client reads sequences through its NumericMap's getWithDefault.
  const options = { ...o, sequences } as unknown as Parameters<typeof produceV11.createRequest>[3];
  return produceV11.createRequest(acks, timeout, copies as never, options).buffer;
}

describe("produce request encoder", () => {
  it("writes the client's bytes: keys, null keys and values, headers, several topics and partitions", () => {
    const ts = 1_765_000_000_123n;
    const headers = new Map<Buffer, Buffer | null>([
      [b("mesh.protocol"), b("1")],
      [b("h2"), b("x".repeat(200))],
    ]);
    const messages: RecordMessage[] = [
      { topic: "orders", partition: 0, key: b("k1"), value: b("v".repeat(300)), timestamp: ts },
      { topic: "orders", partition: 2, key: b("k2"), value: null, timestamp: ts + 5n },
      { topic: "customers-émoji", partition: 0, value: b("no key"), timestamp: ts - 3n, headers },
      { topic: "orders", partition: 0, key: b("k3"), value: b(""), timestamp: ts + 1n },
      {
        topic: "orders",
        partition: 0,
        key: b("k4"),
        value: b("x".repeat(70_000)),
        timestamp: ts + 1_000_000n,
      },
    ];
    const options: RecordBatchOptions = {
      producerId: 4711n,
      producerEpoch: 3,
      sequences: new Map([
        ["orders:0", 120],
        ["customers-émoji:0", 7],
      ]),
      transactionalId: "mesh-src-tx",
    };
    const ours = encodeProduceRequest(-1, 30_000, messages, options);
    expect(ours.equals(clientBytes(-1, 30_000, messages, options))).toBe(true);
  });

  it("writes the client's bytes without a transaction or sequences, and stamps missing timestamps with now", () => {
    const messages: RecordMessage[] = [{ topic: "t", partition: 1, key: b("k"), value: b("v") }];
    const now = 1_700_000_000_000;
    const ours = encodeProduceRequest(1, 0, messages, {}, now);
    const stamped = messages.map((m) => ({ ...m, timestamp: BigInt(now) }));
    expect(ours.equals(clientBytes(1, 0, stamped, {}))).toBe(true);
  });

  it("writes timestamp deltas beyond 32 bits as zigzag varlongs", () => {
    // The client writes +4e9 as zigzag 8e9 + 1, which reads back as -4e9 - 1: here it reads back exact.
    const first = 1_000_000_000_000;
    const messages: RecordMessage[] = [
      { topic: "t", partition: 0, value: b("a"), timestamp: BigInt(first) },
      { topic: "t", partition: 0, value: b("b"), timestamp: BigInt(first + 4_000_000_000) },
    ];
    const buf = encodeProduceRequest(-1, 1000, messages, {});
    const batch = buf.subarray(16, buf.length - 3);
    expect(Number(batch.readBigInt64BE(35))).toBe(first + 4_000_000_000); // maxTimestamp
    let pos = 61;
    const varint = (): number => {
      let value = 0;
      for (let scale = 1; ; scale *= 128) {
        const byte = batch[pos++] as number;
        value += (byte & 0x7f) * scale;
        if (byte < 0x80) return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
      }
    };
    const firstLength = varint();
    pos += firstLength; // past the first record
    varint(); // second record's length
    pos += 1; // attributes
    expect(varint()).toBe(4_000_000_000);
    expect(varint()).toBe(1); // offset delta
  });

  it("computes each batch's CRC over its attributes through its last record", () => {
    const messages: RecordMessage[] = [
      { topic: "t", partition: 0, key: b("a"), value: b("1"), timestamp: 1n },
      { topic: "t", partition: 0, key: b("b"), value: b("2"), timestamp: 2n },
    ];
    const buf = encodeProduceRequest(-1, 1000, messages, { producerId: 1n, producerEpoch: 0 });
    // Body: txn id (1) acks (2) timeout (4) topics (1) name (2) partitions (1) index (4) records length (1).
    const batch = buf.subarray(16, buf.length - 3);
    expect(batch.readInt32BE(8)).toBe(batch.length - 12);
    expect(batch.readUInt32BE(17)).toBe(crc32c(batch.subarray(21)));
    expect(batch.readInt32BE(57)).toBe(2);
  });
});
