// Kafka records → decoded input events (one per record) and transaction markers, per docs/contracts.md:
// Confluent wire format, Debezium envelope (before/after/op/source/transaction), tombstones, truncates
// (null key), PK changes. A record that cannot be decoded or makes no sense becomes a parked event carrying
// the reason; it never throws, so one bad record cannot stop a view.
import { decodeWire, wireSchemaId } from "../../lib/avro.ts";
import { isMeshError, MeshError } from "../../lib/errors.ts";
import { encodeKey } from "../keys/encoding.ts";
import type { TableChange } from "../engine/view-state.ts";
import type { TableInfo } from "../sql/catalog.ts";
import type { RegistryClient } from "./registry-client.ts";

export interface InEvent {
  topic: string;
  partition: number;
  offset: bigint;
  /** The envelope's source.name (the marker topic is `<source>.transactions`); null for tombstones. */
  source: string | null;
  txId: string | null;
  /** transaction.data_collection_order: copies of one truncate (one per partition) share it. */
  txOrder: bigint | null;
  truncate: boolean;
  tsMs: number | null;
  /** Identity of the record's key (raw bytes, hex): what a parked record blocks. */
  keyId: string;
  changes: TableChange[];
  parked: string | null;
  raw: { key: Buffer | null; value: Buffer | null };
}

export interface Marker {
  source: string;
  offset: bigint;
  status: "BEGIN" | "END";
  id: string;
  /** END only: events per data collection (topic). */
  counts: Map<string, number> | null;
  /** END only: events per partition of each topic whose entry has them (connectors since per-partition counts). */
  partitionCounts?: Map<string, Map<number, number>>;
  tsMs: number;
}

export interface RawRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

type Envelope = {
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  op: string;
  ts_ms: bigint;
  source: { name: string } | null;
  transaction: { id: string; data_collection_order: bigint } | null;
};

async function decode(registry: RegistryClient, buf: Buffer): Promise<unknown> {
  return decodeWire(await registry.typeById(wireSchemaId(buf)), buf);
}

function keyValues(table: TableInfo, record: Record<string, unknown>): unknown[] {
  return table.key.map((k) => {
    const v = record[k];
    if (v === null || v === undefined) throw new TypeError(`key column ${k} is missing or null`);
    return v;
  });
}

export async function decodeEvent(
  rec: RawRecord,
  table: TableInfo,
  registry: RegistryClient,
): Promise<InEvent> {
  const ev: InEvent = {
    topic: rec.topic,
    partition: rec.partition,
    offset: BigInt(rec.offset),
    source: null,
    txId: null,
    txOrder: null,
    truncate: false,
    tsMs: null,
    keyId: rec.key ? rec.key.toString("hex") : "",
    changes: [],
    parked: null,
    raw: { key: rec.key, value: rec.value },
  };
  const base = { topic: rec.topic, partition: rec.partition };
  let step = "value";
  try {
    // The envelope first: a record whose key or op is bad still carries its transaction id, so it is parked
    // as part of its transaction instead of splitting it (assembler.ts). Only an undecodable value loses it.
    const env = rec.value ? ((await decode(registry, rec.value)) as Envelope) : null;
    if (env) {
      ev.source = env.source?.name ?? null;
      ev.txId = env.transaction?.id ?? null;
      ev.txOrder = env.transaction?.data_collection_order ?? null;
      ev.tsMs = Number(env.ts_ms);
    }
    step = "key";
    const key = rec.key
      ? keyValues(table, (await decode(registry, rec.key)) as Record<string, unknown>)
      : null;
    if (!env) {
      if (key) ev.changes.push({ op: "delete", ...base, key });
      return ev;
    }
    step = "envelope";
    switch (env.op) {
      case "r":
      case "c":
      case "u": {
        if (!key || !env.after)
          throw new TypeError(`op ${env.op} without ${key ? "an after image" : "a key"}`);
        if (env.before) {
          // A primary-key change arriving as one update: the old key's row goes away.
          const oldKey = table.key.map((k) => env.before?.[k] ?? null);
          if (oldKey.every((v) => v !== null) && !encodeKey(oldKey).equals(encodeKey(key))) {
            ev.changes.push({ op: "delete", ...base, key: oldKey });
          }
        }
        ev.changes.push({ op: "upsert", ...base, key, row: env.after });
        break;
      }
      case "d":
        if (!key) throw new TypeError("a delete without a key");
        ev.changes.push({ op: "delete", ...base, key });
        break;
      case "t":
        ev.truncate = true;
        ev.changes.push({ op: "truncate", ...base });
        break;
      default:
        throw new TypeError(`unexpected op ${JSON.stringify(env.op)}`);
    }
  } catch (err) {
    // A registry outage is not the record's fault: let the runner retry instead of parking.
    if (isMeshError(err) && err.retryable) throw err;
    ev.changes = [];
    ev.parked = `cannot apply the record's ${step}: ${(err as Error).message}`;
  }
  return ev;
}

export async function decodeMarker(
  rec: RawRecord,
  source: string,
  registry: RegistryClient,
): Promise<Marker | null> {
  if (!rec.value) return null;
  let v: {
    status: string;
    id: string;
    data_collections:
      | {
          data_collection: string;
          event_count: bigint;
          partitions?: { partition: number; event_count: bigint }[] | null;
        }[]
      | null;
    ts_ms: bigint;
  };
  try {
    v = (await decode(registry, rec.value)) as typeof v;
  } catch (err) {
    if (isMeshError(err) && err.retryable) throw err;
    // Not parked: without its id and counts no later transaction of the source can be released whole, and
    // skipping it would release them early (docs/views.md, Parked records).
    throw new MeshError(
      "MESH_MARKER_UNDECODABLE",
      `the transaction marker at ${rec.topic} partition ${rec.partition} offset ${rec.offset} cannot be ` +
        `decoded (${(err as Error).message}); the view stopped before it. Restore the marker's schema in ` +
        "the registry and restart the materializer, or drop and recreate the view",
      { topic: rec.topic, partition: rec.partition, offset: rec.offset },
      { cause: err },
    );
  }
  if (v.status !== "BEGIN" && v.status !== "END") return null;
  const counts = v.data_collections
    ? new Map(v.data_collections.map((d) => [d.data_collection, Number(d.event_count)]))
    : null;
  const partitionCounts = new Map<string, Map<number, number>>();
  for (const d of v.data_collections ?? [])
    if (d.partitions)
      partitionCounts.set(
        d.data_collection,
        new Map(d.partitions.map((p) => [p.partition, Number(p.event_count)])),
      );
  return {
    source,
    offset: BigInt(rec.offset),
    status: v.status,
    id: v.id,
    counts: v.status === "END" ? (counts ?? new Map()) : null,
    ...(v.status === "END" ? { partitionCounts } : {}),
    tsMs: Number(v.ts_ms),
  };
}
