// Owns the transaction markers on `<source>.transactions` (docs/contracts.md "Topics and subjects"): their
// Avro schemas and types, and the counting on both sides. The writer numbers a transaction's events and
// counts them per topic (`TransactionCounter`) and per partition (`PartitionTally`: the partition is known
// only once the event is placed); the reader turns an END marker back into counts (`markerCounts`) and
// learns which protocol version wrote it (`markerVersion`).
//
//   key    TransactionKey    {id: string}
//   value  TransactionMarker {status: "BEGIN"|"END", id, event_count: long|null, ts_ms: long,
//            data_collections: [{data_collection: topic, event_count: long,
//                                partitions: [{partition: int, event_count: long}] | null}] | null}
//
// A truncate counts once in `event_count` (per table), though one `t` event is written per partition, and
// once on every partition in `partitions`. Pure.
import type avro from "avsc";
import { avroNamespace, type TransactionBlock } from "./envelope.ts";
import { declaredVersion, SINCE } from "./version.ts";

export interface PartitionCount {
  partition: number;
  event_count: bigint;
}

export interface DataCollectionCount {
  data_collection: string;
  event_count: bigint;
  /** Events per partition of the topic (a truncate counts once on every partition); null from old writers. */
  partitions: PartitionCount[] | null;
}

export interface TransactionMarker {
  status: "BEGIN" | "END";
  id: string;
  event_count: bigint | null;
  data_collections: DataCollectionCount[] | null;
  ts_ms: bigint;
}

export function transactionKeySchema(source: string): avro.Schema {
  return {
    type: "record",
    name: "TransactionKey",
    namespace: avroNamespace(source),
    fields: [{ name: "id", type: "string" }],
  };
}

export function transactionMarkerSchema(source: string): avro.Schema {
  return {
    type: "record",
    name: "TransactionMarker",
    namespace: avroNamespace(source),
    fields: [
      { name: "status", type: "string" },
      { name: "id", type: "string" },
      { name: "event_count", type: ["null", "long"], default: null },
      {
        name: "data_collections",
        type: [
          "null",
          {
            type: "array",
            items: {
              type: "record",
              name: "DataCollection",
              fields: [
                { name: "data_collection", type: "string" },
                { name: "event_count", type: "long" },
                // Per partition of the topic (a materializer that reads only some partitions needs them);
                // optional so the schema stays BACKWARD compatible with markers written before it.
                {
                  name: "partitions",
                  type: [
                    "null",
                    {
                      type: "array",
                      items: {
                        type: "record",
                        name: "PartitionCount",
                        fields: [
                          { name: "partition", type: "int" },
                          { name: "event_count", type: "long" },
                        ],
                      },
                    },
                  ],
                  default: null,
                },
              ],
            },
          },
        ],
        default: null,
      },
      { name: "ts_ms", type: "long" },
    ],
  };
}

// ---- writer side ----

/**
 * Counts the events of one source transaction: the `transaction` block of each event and the END marker's
 * per-table counts (topic name → count), in the order the tables were first touched.
 */
export class TransactionCounter {
  readonly id: string;
  private total = 0n;
  private readonly perTopic = new Map<string, bigint>();

  constructor(id: string) {
    this.id = id;
  }

  next(topic: string): TransactionBlock {
    this.total += 1n;
    const n = (this.perTopic.get(topic) ?? 0n) + 1n;
    this.perTopic.set(topic, n);
    return { id: this.id, total_order: this.total, data_collection_order: n };
  }

  get eventCount(): bigint {
    return this.total;
  }

  marker(status: "BEGIN" | "END", tsMs: bigint): TransactionMarker {
    if (status === "BEGIN")
      return { status, id: this.id, event_count: null, data_collections: null, ts_ms: tsMs };
    return {
      status,
      id: this.id,
      event_count: this.total,
      // Per-partition counts are filled in by PartitionTally, once each event's partition is chosen.
      data_collections: [...this.perTopic].map(([data_collection, event_count]) => ({
        data_collection,
        event_count,
        partitions: null,
      })),
      ts_ms: tsMs,
    };
  }
}

/** Open transactions' events per topic and partition, for the END markers' `partitions`. */
export class PartitionTally {
  /** transaction id → topic → partition → count */
  private readonly placed = new Map<string, Map<string, Map<number, bigint>>>();

  /** One event of transaction `txId` was placed on `partition` of `topic`. */
  count(txId: string, topic: string, partition: number): void {
    let topics = this.placed.get(txId);
    if (!topics) this.placed.set(txId, (topics = new Map()));
    let counts = topics.get(topic);
    if (!counts) topics.set(topic, (counts = new Map()));
    counts.set(partition, (counts.get(partition) ?? 0n) + 1n);
  }

  /** Open transactions (tests: a finished one is forgotten). */
  get open(): number {
    return this.placed.size;
  }

  /**
   * The marker as written: an END gets the per-partition counts of the events placed for it (only
   * partitions with events, ascending). BEGIN restarts the count, since a replayed transaction counts afresh.
   */
  complete(marker: TransactionMarker): TransactionMarker {
    const placed = this.placed.get(marker.id);
    if (marker.status === "BEGIN") this.placed.delete(marker.id);
    if (marker.status !== "END" || !marker.data_collections) return marker;
    this.placed.delete(marker.id);
    return {
      ...marker,
      data_collections: marker.data_collections.map((d) => ({
        ...d,
        partitions: [...(placed?.get(d.data_collection) ?? [])]
          .sort(([a], [b]) => a - b)
          .map(([partition, event_count]) => ({ partition, event_count })),
      })),
    };
  }
}

// ---- reader side ----

export interface MarkerCounts {
  /** Events per data collection (topic). */
  counts: Map<string, number>;
  /** Events per partition of each topic whose entry has them (writers of protocol version 2 and later). */
  partitionCounts: Map<string, Map<number, number>>;
}

/**
 * A decoded marker as its writer schema had it: markers written before `partitions` existed decode without
 * the field.
 */
export type DecodedMarker = Omit<TransactionMarker, "data_collections"> & {
  data_collections:
    (Omit<DataCollectionCount, "partitions"> & { partitions?: PartitionCount[] | null })[] | null;
};

export function markerCounts(marker: DecodedMarker): MarkerCounts {
  const counts = new Map<string, number>();
  const partitionCounts = new Map<string, Map<number, number>>();
  for (const d of marker.data_collections ?? []) {
    counts.set(d.data_collection, Number(d.event_count));
    if (d.partitions)
      partitionCounts.set(
        d.data_collection,
        new Map(d.partitions.map((p) => [p.partition, Number(p.event_count)])),
      );
  }
  return { counts, partitionCounts };
}

/**
 * The protocol version that wrote a marker: its `mesh-protocol` header, else what its content shows
 * (markers from before the header: per-partition counts on every entry of an END marker mean version 2).
 */
export function markerVersion(
  marker: DecodedMarker,
  headers: Readonly<Record<string, unknown>> | undefined,
): number {
  const declared = declaredVersion(headers);
  if (declared !== null) return declared;
  const entries = marker.data_collections ?? [];
  const counted = marker.status === "END" && entries.length > 0 && entries.every((d) => d.partitions);
  return counted ? SINCE.partitionCounts : 1;
}
