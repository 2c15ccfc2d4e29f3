// Record decoding edge cases (no Kafka: a fake registry): what a parked record keeps of its transaction,
// and how undecodable transaction markers and registry outages surface.
import type avro from "avsc";
import { describe, expect, it } from "vitest";
import { envelopeSchema, keySchema } from "../../protocol/envelope.ts";
import { transactionMarkerSchema } from "../../protocol/markers.ts";
import { avroType, encodeWire } from "../../lib/avro.ts";
import { MeshError } from "../../lib/errors.ts";
import { shopTables } from "../test-support/shop-catalog.ts";
import { decodeEvent, decodeMarker } from "./decode.ts";
import type { RegistryClient } from "../../lib/registry-client.ts";

const table = shopTables().find((t) => t.table === "customers")!;
const shape = {
  topic: table.topic,
  columns: [
    { name: "id", type: "int" as avro.Schema },
    { name: "name", type: "string" as avro.Schema },
    { name: "region", type: "string" as avro.Schema },
  ],
  key: ["id"],
};
const types = new Map<number, avro.Type>([
  [1, avroType(keySchema(shape)!)],
  [2, avroType(envelopeSchema(shape))],
  [3, avroType(transactionMarkerSchema("shop"))],
]);
const registry = (down = false) =>
  ({
    typeById: (id: number) => {
      if (down) return Promise.reject(new MeshError("MESH_REGISTRY_UNAVAILABLE", "registry down"));
      const t = types.get(id);
      return t
        ? Promise.resolve(t)
        : Promise.reject(new MeshError("MESH_NOT_FOUND", `schema id ${id} unknown`));
    },
  }) as unknown as RegistryClient;

const value = (after: Record<string, unknown> | null, op = "u") =>
  encodeWire(2, types.get(2)!, {
    before: null,
    after,
    op,
    ts_ms: 5n,
    source: {
      version: "t",
      connector: "postgresql",
      name: "shop",
      ts_ms: 5n,
      snapshot: "false",
      db: "shop",
      schema: "public",
      table: "customers",
      txId: 9n,
      lsn: 1n,
      file: null,
      pos: null,
      gtid: null,
    },
    transaction: { id: "tx9", total_order: 2n, data_collection_order: 2n },
  });
const rec = (key: Buffer | null, val: Buffer | null) => ({
  topic: table.topic,
  partition: 0,
  offset: "4",
  key,
  value: val,
});
const goodKey = encodeWire(1, types.get(1)!, { id: 7 });

describe("decodeEvent", () => {
  it("decodes an update with its transaction", async () => {
    const e = await decodeEvent(rec(goodKey, value({ id: 7, name: "a", region: "eu" })), table, registry());
    expect(e).toMatchObject({ parked: null, txId: "tx9", txOrder: 2n, source: "shop" });
    expect(e.changes).toEqual([expect.objectContaining({ op: "upsert", key: [7] })]);
  });

  it("parks a record with a bad key or op but keeps its transaction id (it stays in its transaction)", async () => {
    const badKey = await decodeEvent(
      rec(Buffer.from([0, 0, 0, 0, 99, 1]), value({ id: 7, name: "a", region: "eu" })),
      table,
      registry(),
    );
    expect(badKey.parked).toMatch(/cannot apply the record's key/);
    expect(badKey).toMatchObject({ txId: "tx9", txOrder: 2n, source: "shop", changes: [] });
    const noAfter = await decodeEvent(rec(goodKey, value(null, "u")), table, registry());
    expect(noAfter.parked).toMatch(/cannot apply the record's envelope: op u without an after image/);
    expect(noAfter.txId).toBe("tx9");
  });

  it("parks an undecodable value without a transaction id, and throws on a registry outage", async () => {
    const e = await decodeEvent(rec(goodKey, Buffer.from([9, 9, 9, 9, 9, 9])), table, registry());
    expect(e.parked).toMatch(/cannot apply the record's value/);
    expect(e.txId).toBeNull();
    await expect(
      decodeEvent(rec(goodKey, value({ id: 7, name: "a", region: "eu" })), table, registry(true)),
    ).rejects.toMatchObject({ code: "MESH_REGISTRY_UNAVAILABLE" });
  });
});

describe("decodeMarker", () => {
  const marker = {
    status: "END",
    id: "tx9",
    event_count: 1n,
    data_collections: [{ data_collection: table.topic, event_count: 1n, partitions: null }],
    ts_ms: 5n,
  };
  const markerRec = (val: Buffer) => ({ ...rec(null, val), topic: "shop.transactions", offset: "12" });

  it("decodes an END marker's counts", async () => {
    const m = await decodeMarker(markerRec(encodeWire(3, types.get(3)!, marker)), "shop", registry());
    expect(m).toMatchObject({ status: "END", id: "tx9", offset: 12n });
    expect(m?.counts?.get(table.topic)).toBe(1);
  });

  it("knows which protocol version wrote a marker: its header, else its content", async () => {
    const legacy = encodeWire(3, types.get(3)!, marker);
    expect((await decodeMarker(markerRec(legacy), "shop", registry()))?.version).toBe(1);
    const counted = encodeWire(3, types.get(3)!, {
      ...marker,
      data_collections: [{ ...marker.data_collections[0], partitions: [{ partition: 0, event_count: 1n }] }],
    });
    const m = await decodeMarker(markerRec(counted), "shop", registry());
    expect(m).toMatchObject({ version: 2, partitionCounts: new Map([[table.topic, new Map([[0, 1]])]]) });
    const headed = { ...markerRec(counted), headers: { "mesh-protocol": Buffer.from("2") } };
    expect((await decodeMarker(headed, "shop", registry()))?.version).toBe(2);
  });

  it("fails with MESH_PROTOCOL_NEWER on a marker of a newer protocol version, before decoding it", async () => {
    const newer = { ...markerRec(Buffer.from([9, 9, 9])), headers: { "mesh-protocol": Buffer.from("3") } };
    const err = await decodeMarker(newer, "shop", registry()).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: "MESH_PROTOCOL_NEWER",
      details: { topic: "shop.transactions", offset: "12", version: 3, readerVersion: 2 },
    });
    expect((err as Error).message).toMatch(
      /offset 12 was written with protocol version 3.*reads up to version 2/,
    );
  });

  it("fails with MESH_MARKER_UNDECODABLE naming the marker when it cannot be decoded", async () => {
    const unknownSchema = encodeWire(3, types.get(3)!, marker);
    unknownSchema.writeUInt32BE(77, 1);
    for (const bad of [unknownSchema, Buffer.from([0, 0, 0, 0, 3, 255, 255])]) {
      const err = await decodeMarker(markerRec(bad), "shop", registry()).catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: "MESH_MARKER_UNDECODABLE",
        details: { topic: "shop.transactions", partition: 0, offset: "12" },
      });
      expect((err as Error).message).toMatch(/offset 12 cannot be decoded.*restart.*recreate the view/);
    }
    await expect(
      decodeMarker(markerRec(encodeWire(3, types.get(3)!, marker)), "shop", registry(true)),
    ).rejects.toMatchObject({ code: "MESH_REGISTRY_UNAVAILABLE" });
  });
});
