// Turns a connector's changes into Kafka messages: registers each table's key and value schemas before the
// first event that uses them, encodes in the Confluent wire format, writes deletes' tombstones, truncates
// to every partition, and the transaction markers. A table whose new schema is refused is marked failed and
// gets nothing more (no event is ever written under a wrong schema). Shared by every backend.
import type avro from "avsc";
import { encodeWire } from "../../lib/avro.ts";
import { isMeshError } from "../../lib/errors.ts";
import {
  envelopeSchema,
  heartbeatKeySchema,
  heartbeatValueSchema,
  keySchema,
  transactionKeySchema,
  transactionMarkerSchema,
  type Envelope,
  type TableShape,
  type TransactionMarker,
} from "./envelope.ts";
import type { KafkaSink } from "./kafka-sink.ts";
import { partitionFor } from "../../lib/kafka/partitioner.ts";
import type { RegisteredSchema, SchemaRegistrar } from "./schema-registrar.ts";
import type { StatusError } from "./change-source.ts";

interface TableCodecs {
  fingerprint: string;
  key: RegisteredSchema | null;
  value: RegisteredSchema;
}

export interface EventWriterOptions {
  source: string;
  sink: KafkaSink;
  registry: SchemaRegistrar;
  /** Partition count of each topic (for truncates and keyless tables). */
  partitions: (topic: string) => number;
}

export class EventWriter {
  private readonly options: EventWriterOptions;
  private readonly tables = new Map<string, TableCodecs>();
  private readonly failed = new Map<string, StatusError>();
  private markerKey: RegisteredSchema | null = null;
  private markerValue: RegisteredSchema | null = null;
  private heartbeatKey: RegisteredSchema | null = null;
  private heartbeatValue: RegisteredSchema | null = null;
  /** Open transactions' events per topic and partition (transaction id → topic → partition → count). */
  private readonly placed = new Map<string, Map<string, Map<number, bigint>>>();

  constructor(options: EventWriterOptions) {
    this.options = options;
  }

  get transactionsTopic(): string {
    return `${this.options.source}.transactions`;
  }

  get heartbeatTopic(): string {
    return `${this.options.source}.heartbeat`;
  }

  failedTables(): ReadonlyMap<string, StatusError> {
    return this.failed;
  }

  isFailed(topic: string): boolean {
    return this.failed.has(topic);
  }

  /**
   * Makes `shape` the table's current schema, registering a new version when it changed. Returns false (and
   * marks the table failed) when the registry refuses it; other registry errors are thrown (retryable).
   */
  async useShape(shape: TableShape): Promise<boolean> {
    if (this.failed.has(shape.topic)) return false;
    const fingerprint = JSON.stringify(shape);
    if (this.tables.get(shape.topic)?.fingerprint === fingerprint) return true;
    try {
      const ks = keySchema(shape);
      // Value first: a refused value schema must not leave a new key version behind.
      const value = await this.options.registry.register(`${shape.topic}-value`, envelopeSchema(shape));
      const key = ks ? await this.options.registry.register(`${shape.topic}-key`, ks) : null;
      this.tables.set(shape.topic, { fingerprint, key, value });
      return true;
    } catch (err) {
      if (isMeshError(err) && err.code === "MESH_SCHEMA_INCOMPATIBLE") {
        this.failed.set(shape.topic, { code: err.code, message: err.message });
        return false;
      }
      throw err;
    }
  }

  async prepareMarkers(): Promise<void> {
    const s = this.options.source;
    this.markerKey ??= await this.options.registry.register(
      `${this.transactionsTopic}-key`,
      transactionKeySchema(s),
    );
    this.markerValue ??= await this.options.registry.register(
      `${this.transactionsTopic}-value`,
      transactionMarkerSchema(s),
    );
    this.heartbeatKey ??= await this.options.registry.register(
      `${this.heartbeatTopic}-key`,
      heartbeatKeySchema(s),
    );
    this.heartbeatValue ??= await this.options.registry.register(
      `${this.heartbeatTopic}-value`,
      heartbeatValueSchema(s),
    );
  }

  /** Writes one change event (and a tombstone after a delete); returns the sink seq of the last message. */
  write(
    topic: string,
    key: Record<string, unknown> | null,
    event: Envelope,
    headers?: Record<string, string>,
  ): number {
    const codecs = this.codecs(topic);
    const keyBuf = key && codecs.key ? encodeWire(codecs.key.id, codecs.key.type, key) : null;
    const value = encodeWire(codecs.value.id, codecs.value.type, event);
    // The partition is chosen here (Kafka's default murmur2 partitioner; keyless tables: partition 0, to keep
    // commit order) so the END marker's per-partition counts match where the events really are.
    const partition = partitionFor(keyBuf, this.options.partitions(topic));
    if (event.transaction) this.place(event.transaction.id, topic, partition);
    const base = { topic, key: keyBuf, partition, ...(headers ? { headers } : {}) };
    let seq = this.options.sink.enqueue({ ...base, value });
    if (event.op === "d" && keyBuf) seq = this.options.sink.enqueue({ topic, key: keyBuf, value: null });
    return seq;
  }

  /** A truncate: one `t` event per partition, so every consumer-group member sees it in order. */
  writeTruncate(topic: string, event: Envelope): number {
    const codecs = this.codecs(topic);
    const value = encodeWire(codecs.value.id, codecs.value.type, event);
    let seq = this.options.sink.lastSeq;
    for (let p = 0; p < this.options.partitions(topic); p++) {
      if (event.transaction) this.place(event.transaction.id, topic, p);
      seq = this.options.sink.enqueue({ topic, key: null, value, partition: p });
    }
    return seq;
  }

  private place(txId: string, topic: string, partition: number): void {
    let topics = this.placed.get(txId);
    if (!topics) this.placed.set(txId, (topics = new Map()));
    let counts = topics.get(topic);
    if (!counts) topics.set(topic, (counts = new Map()));
    counts.set(partition, (counts.get(partition) ?? 0n) + 1n);
  }

  /** Writes a BEGIN or END marker; an END gets the per-partition counts of the events written for it. */
  writeMarker(marker: TransactionMarker): number {
    if (!this.markerKey || !this.markerValue) throw new Error("prepareMarkers() first");
    const placed = this.placed.get(marker.id);
    if (marker.status === "BEGIN") this.placed.delete(marker.id); // a replayed transaction counts afresh
    if (marker.status === "END" && marker.data_collections) {
      this.placed.delete(marker.id);
      marker = {
        ...marker,
        data_collections: marker.data_collections.map((d) => ({
          ...d,
          partitions: [...(placed?.get(d.data_collection) ?? [])]
            .sort(([a], [b]) => a - b)
            .map(([partition, event_count]) => ({ partition, event_count })),
        })),
      };
    }
    return this.options.sink.enqueue({
      topic: this.transactionsTopic,
      partition: 0,
      key: encodeWire(this.markerKey.id, this.markerKey.type, { id: marker.id }),
      value: encodeWire(this.markerValue.id, this.markerValue.type, marker),
    });
  }

  writeHeartbeat(tsMs: bigint, lsn: bigint | null): number {
    if (!this.heartbeatKey || !this.heartbeatValue) throw new Error("prepareMarkers() first");
    return this.options.sink.enqueue({
      topic: this.heartbeatTopic,
      partition: 0,
      key: encodeWire(this.heartbeatKey.id, this.heartbeatKey.type, { source: this.options.source }),
      value: encodeWire(this.heartbeatValue.id, this.heartbeatValue.type, { ts_ms: tsMs, lsn }),
    });
  }

  /** Raw (already encoded or schemaless) messages, e.g. outbox events. */
  writeRaw(topic: string, key: Buffer | null, value: Buffer | null, headers: Record<string, string>): number {
    return this.options.sink.enqueue({ topic, key, value, headers });
  }

  valueType(topic: string): avro.Type {
    return this.codecs(topic).value.type;
  }

  private codecs(topic: string): TableCodecs {
    const c = this.tables.get(topic);
    if (!c) throw new Error(`no schema registered for ${topic}; call useShape() first`);
    return c;
  }
}
