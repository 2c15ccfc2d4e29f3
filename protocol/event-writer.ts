// Turns a connector's changes into protocol messages: registers each table's key and value schemas before
// the first event that uses them, encodes in the Confluent wire format, chooses each event's partition,
// writes deletes' tombstones, truncates to every partition, and the transaction markers (with per-partition
// counts and the protocol version header) and heartbeats. A table whose new schema is refused is marked
// failed and gets nothing more (no event is ever written under a wrong schema). Every connector writes
// through it; it writes through an `EventSink` (lib/kafka's OrderedProducer, or a MemorySink in tests).
import type avro from "avsc";
import { isMeshError } from "../lib/errors.ts";
import { partitionFor } from "../lib/kafka/partitioner.ts";
import { envelopeSchema, keySchema, type Envelope, type TableShape } from "./envelope.ts";
import { heartbeatKeySchema, heartbeatValueSchema, type Heartbeat, type HeartbeatKey } from "./heartbeat.ts";
import {
  PartitionTally,
  transactionKeySchema,
  transactionMarkerSchema,
  type TransactionMarker,
} from "./markers.ts";
import type { EventSink } from "./sink.ts";
import { heartbeatTopic, keySubject, transactionsTopic, valueSubject } from "./topics.ts";
import { protocolHeaders } from "./version.ts";
import { encode, type RegisteredSchema, type SchemaRegistrar } from "./wire.ts";

/** Why a table stopped (the connector's status shows it). */
export interface TableFailure {
  code: string;
  message: string;
}

interface TableCodecs {
  fingerprint: string;
  key: RegisteredSchema | null;
  value: RegisteredSchema;
}

export interface EventWriterOptions {
  source: string;
  sink: EventSink;
  registry: SchemaRegistrar;
  /** Partition count of each topic (for truncates and keyless tables). */
  partitions: (topic: string) => number;
}

export class EventWriter {
  private readonly options: EventWriterOptions;
  private readonly tables = new Map<string, TableCodecs>();
  private readonly failed = new Map<string, TableFailure>();
  private markerKey: RegisteredSchema | null = null;
  private markerValue: RegisteredSchema | null = null;
  private heartbeatKey: RegisteredSchema | null = null;
  private heartbeatValue: RegisteredSchema | null = null;
  private readonly tally = new PartitionTally();

  constructor(options: EventWriterOptions) {
    this.options = options;
  }

  get transactionsTopic(): string {
    return transactionsTopic(this.options.source);
  }

  get heartbeatTopic(): string {
    return heartbeatTopic(this.options.source);
  }

  failedTables(): ReadonlyMap<string, TableFailure> {
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
      const value = await this.options.registry.register(valueSubject(shape.topic), envelopeSchema(shape));
      const key = ks ? await this.options.registry.register(keySubject(shape.topic), ks) : null;
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

  /** Registers the marker and heartbeat schemas (before the first marker or heartbeat). */
  async prepareMarkers(): Promise<void> {
    const s = this.options.source;
    const registry = this.options.registry;
    this.markerKey ??= await registry.register(keySubject(this.transactionsTopic), transactionKeySchema(s));
    this.markerValue ??= await registry.register(
      valueSubject(this.transactionsTopic),
      transactionMarkerSchema(s),
    );
    this.heartbeatKey ??= await registry.register(keySubject(this.heartbeatTopic), heartbeatKeySchema(s));
    this.heartbeatValue ??= await registry.register(
      valueSubject(this.heartbeatTopic),
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
    const keyBuf = key && codecs.key ? encode(codecs.key, key) : null;
    const value = encode(codecs.value, event);
    // The partition is chosen here (Kafka's default murmur2 partitioner; keyless tables: partition 0, to keep
    // commit order) so the END marker's per-partition counts match where the events really are.
    const partition = partitionFor(keyBuf, this.options.partitions(topic));
    if (event.transaction) this.tally.count(event.transaction.id, topic, partition);
    const base = { topic, key: keyBuf, partition, ...(headers ? { headers } : {}) };
    let seq = this.options.sink.enqueue({ ...base, value });
    if (event.op === "d" && keyBuf)
      seq = this.options.sink.enqueue({ topic, key: keyBuf, value: null, partition });
    return seq;
  }

  /** A truncate: one `t` event per partition, so every consumer-group member sees it in order. */
  writeTruncate(topic: string, event: Envelope): number {
    const codecs = this.codecs(topic);
    const value = encode(codecs.value, event);
    let seq = this.options.sink.lastSeq;
    for (let p = 0; p < this.options.partitions(topic); p++) {
      if (event.transaction) this.tally.count(event.transaction.id, topic, p);
      seq = this.options.sink.enqueue({ topic, key: null, value, partition: p });
    }
    return seq;
  }

  /**
   * Writes a BEGIN or END marker (with the protocol version header); an END gets the per-partition counts
   * of the events written for it.
   */
  writeMarker(marker: TransactionMarker): number {
    if (!this.markerKey || !this.markerValue) throw new Error("prepareMarkers() first");
    return this.options.sink.enqueue({
      topic: this.transactionsTopic,
      partition: 0,
      key: encode(this.markerKey, { id: marker.id }),
      value: encode(this.markerValue, this.tally.complete(marker)),
      headers: protocolHeaders(),
    });
  }

  writeHeartbeat(tsMs: bigint, lsn: bigint | null): number {
    if (!this.heartbeatKey || !this.heartbeatValue) throw new Error("prepareMarkers() first");
    const key: HeartbeatKey = { source: this.options.source };
    const value: Heartbeat = { ts_ms: tsMs, lsn };
    return this.options.sink.enqueue({
      topic: this.heartbeatTopic,
      partition: 0,
      key: encode(this.heartbeatKey, key),
      value: encode(this.heartbeatValue, value),
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
