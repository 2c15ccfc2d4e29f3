// Kafka records → decoded input events (one per record) and transaction markers: what the protocol's
// messages (protocol/: envelope, markers, wire codec) mean to a view. Tombstones, truncates (null key) and
// PK changes become table changes. A record that cannot be decoded or makes no sense becomes a parked event
// carrying the reason; it never throws, so one bad record cannot stop a view. Markers are checked against
// the protocol version this reader knows (protocol/version.ts).
import { isMeshError, MeshError } from "../../lib/errors.ts";
import { markerCounts, markerVersion } from "../../protocol/markers.ts";
import { checkProtocolVersion, declaredVersion } from "../../protocol/version.ts";
import {
  decodeEnvelope,
  decodeKey,
  decodeMarker as decodeMarkerValue,
  type SchemaLookup,
} from "../../protocol/wire.ts";
import { encodeKey } from "../keys/encoding.ts";
import type { TableChange } from "../engine/view-state.ts";
import type { TableInfo } from "../sql/catalog.ts";
import type { RegistryClient } from "../../lib/registry-client.ts";

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
  /** The protocol version that wrote it (protocol/version.ts). */
  version: number;
  tsMs: number;
}

export interface RawRecord {
  topic: string;
  partition: number;
  /** A string in parked records (layout P keeps them as JSON). */
  offset: bigint | string;
  key: Buffer | null;
  value: Buffer | null;
  /** The record's headers (markers carry the protocol version). */
  headers?: Readonly<Record<string, unknown>> | undefined;
}

const lookup =
  (registry: RegistryClient): SchemaLookup =>
  (id) =>
    registry.typeById(id);

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
    const env = rec.value ? await decodeEnvelope(lookup(registry), rec.value) : null;
    if (env) {
      ev.source = env.source?.name ?? null;
      ev.txId = env.transaction?.id ?? null;
      ev.txOrder = env.transaction?.data_collection_order ?? null;
      ev.tsMs = Number(env.ts_ms);
    }
    step = "key";
    const key = rec.key ? keyValues(table, await decodeKey(lookup(registry), rec.key)) : null;
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
  const what = `the transaction marker at ${rec.topic} partition ${rec.partition} offset ${rec.offset}`;
  const details = { topic: rec.topic, partition: rec.partition, offset: String(rec.offset) };
  // Before decoding: a newer writer's marker may decode and still not mean what this reader thinks.
  const declared = declaredVersion(rec.headers);
  if (declared !== null) checkProtocolVersion(declared, { what, details });
  let v: Awaited<ReturnType<typeof decodeMarkerValue>>;
  try {
    v = await decodeMarkerValue(lookup(registry), rec.value);
  } catch (err) {
    if (isMeshError(err) && err.retryable) throw err;
    // Not parked: without its id and counts no later transaction of the source can be released whole, and
    // skipping it would release them early (docs/views.md, Parked records).
    throw new MeshError(
      "MESH_MARKER_UNDECODABLE",
      `${what} cannot be decoded (${(err as Error).message}); the view stopped before it. Restore the ` +
        "marker's schema in the registry and restart the materializer, or drop and recreate the view",
      details,
      { cause: err },
    );
  }
  if (!v) return null;
  const { counts, partitionCounts } = markerCounts(v);
  return {
    source,
    offset: BigInt(rec.offset),
    status: v.status,
    id: v.id,
    counts: v.status === "END" ? counts : null,
    ...(v.status === "END" ? { partitionCounts } : {}),
    version: markerVersion(v, rec.headers),
    tsMs: Number(v.ts_ms),
  };
}
