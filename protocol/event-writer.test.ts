// The writer over a MemorySink, read back with the protocol's decoders: partitions as Kafka's default
// partitioner places keys, tombstones beside their deletes, truncates on every partition, and END markers
// whose per-partition counts match where the events went.
import type avro from "avsc";
import { describe, expect, it } from "vitest";
import { avroType } from "../lib/avro.ts";
import { MeshError } from "../lib/errors.ts";
import { partitionFor } from "../lib/kafka/partitioner.ts";
import type { Envelope, TableShape } from "./envelope.ts";
import { EventWriter } from "./event-writer.ts";
import { markerCounts, markerVersion, TransactionCounter } from "./markers.ts";
import { MemorySink } from "./sink.ts";
import { tableTopic } from "./topics.ts";
import { decodeEnvelope, decodeKey, decodeMarker, type SchemaRegistrar } from "./wire.ts";

function memoryRegistry(refuse: string[] = []) {
  const byId = new Map<number, avro.Type>();
  const registrar: SchemaRegistrar = {
    register: (subject, schema) => {
      if (refuse.includes(subject))
        return Promise.reject(new MeshError("MESH_SCHEMA_INCOMPATIBLE", `${subject} refused`));
      const id = byId.size + 1;
      byId.set(id, avroType(schema));
      return Promise.resolve({ id, type: byId.get(id)! });
    },
  };
  const lookup = (id: number) => Promise.resolve(byId.get(id)!);
  return { registrar, lookup };
}

const topic = tableTopic("shop", "public", "orders");
const shape: TableShape = {
  topic,
  columns: [
    { name: "id", type: "long" },
    { name: "note", type: "string" },
  ],
  key: ["id"],
};

function event(op: Envelope["op"], id: bigint | null, tx: Envelope["transaction"]): Envelope {
  const row = id === null ? null : { id, note: `n${id}` };
  return {
    before: op === "d" ? row : null,
    after: op === "d" || op === "t" ? null : row,
    op,
    ts_ms: 1n,
    source: {
      version: "t",
      connector: "postgresql",
      name: "shop",
      ts_ms: 1n,
      snapshot: "false",
      db: "shop",
      schema: "public",
      table: "orders",
      txId: 7n,
      lsn: 9n,
      file: null,
      pos: null,
      gtid: null,
    },
    transaction: tx,
  };
}

describe("EventWriter", () => {
  it("writes a transaction that the protocol's readers count back per partition", async () => {
    const { registrar, lookup } = memoryRegistry();
    const sink = new MemorySink();
    const writer = new EventWriter({ source: "shop", sink, registry: registrar, partitions: () => 3 });
    expect(await writer.useShape(shape)).toBe(true);
    await writer.prepareMarkers();
    const counter = new TransactionCounter("7:9");
    writer.writeMarker(counter.marker("BEGIN", 1n));
    for (const id of [1n, 2n, 3n, 4n]) writer.write(topic, { id }, event("c", id, counter.next(topic)));
    const last = writer.write(topic, { id: 2n }, event("d", 2n, counter.next(topic)));
    writer.writeTruncate(topic, event("t", null, counter.next(topic)));
    writer.writeMarker(counter.marker("END", 2n));
    expect(sink.lastSeq).toBe(1 + 4 + 2 + 3 + 1);

    const messages = sink.take();
    expect(last).toBe(7);
    const [begin, ...rest] = messages;
    const end = rest.pop()!;
    for (const marker of [begin!, end]) {
      expect(marker).toMatchObject({
        topic: "shop.transactions",
        partition: 0,
        headers: { "mesh-protocol": "2" },
      });
      expect(await decodeKey(lookup, marker.key!)).toEqual({ id: "7:9" });
    }
    const placed = new Map<number, number>();
    for (const m of rest) {
      expect(m.topic).toBe(topic);
      if (m.value === null) {
        // The delete's tombstone: same key, same partition, right after it.
        expect(rest[rest.indexOf(m) - 1]).toMatchObject({ key: m.key, partition: m.partition });
        continue;
      }
      const env = await decodeEnvelope(lookup, m.value);
      if (env.op === "t") expect(m.key).toBeNull();
      else expect(m.partition).toBe(partitionFor(m.key, 3));
      placed.set(m.partition!, (placed.get(m.partition!) ?? 0) + 1);
    }
    const marker = (await decodeMarker(lookup, end.value!))!;
    expect(markerVersion(marker, end.headers)).toBe(2);
    const { counts, partitionCounts } = markerCounts(marker);
    expect(counts).toEqual(new Map([[topic, 6]]));
    expect(partitionCounts.get(topic)).toEqual(new Map([...placed].sort(([a], [b]) => a - b)));
  });

  it("marks a table whose schema the registry refuses as failed and writes nothing for it", async () => {
    const { registrar } = memoryRegistry([`${topic}-value`]);
    const sink = new MemorySink();
    const writer = new EventWriter({ source: "shop", sink, registry: registrar, partitions: () => 3 });
    expect(await writer.useShape(shape)).toBe(false);
    expect(writer.isFailed(topic)).toBe(true);
    expect(writer.failedTables().get(topic)).toMatchObject({ code: "MESH_SCHEMA_INCOMPATIBLE" });
    expect(() => writer.write(topic, { id: 1n }, event("c", 1n, null))).toThrow(/no schema registered/);
    expect(sink.pending).toBe(0);
  });
});
