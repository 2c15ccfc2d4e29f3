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
import { wireEncoder, type SchemaRegistrar, type WireEncoder } from "./wire.ts";

/** Why a table stopped (the connector's status shows it). */
export interface TableFailure {
  code: string;
  message: string;
}

/** One schema version of a table: its encoders, compiled once (no per-event schema work). */
interface TableCodecs {
  fingerprint: string;
  key: WireEncoder | null;
  value: WireEncoder;
  valueType: avro.Type;
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
  private markerKey: WireEncoder | null = null;
  private markerValue: WireEncoder | null = null;
  private heartbeatKey: WireEncoder | null = null;
  private heartbeatValue: WireEncoder | null = null;
  private readonly tally = new PartitionTally();
  /** One frozen object for every marker: the Kafka side converts it once (lib/kafka placement.ts). */
  private readonly markerHeaders = Object.freeze(protocolHeaders());

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
      const vs = envelopeSchema(shape);
      // Value first: a refused value schema must not leave a new key version behind.
      const value = await this.options.registry.register(valueSubject(shape.topic), vs);
      const key = ks ? await this.options.registry.register(keySubject(shape.topic), ks) : null;
      this.tables.set(shape.topic, {
        fingerprint,
        key: key && ks ? wireEncoder(key, ks) : null,
        value: wireEncoder(value, vs),
        valueType: value.type,
      });
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
    const compiled = async (subject: string, schema: avro.Schema): Promise<WireEncoder> =>
      wireEncoder(await registry.register(subject, schema), schema);
    this.markerKey ??= await compiled(keySubject(this.transactionsTopic), transactionKeySchema(s));
    this.markerValue ??= await compiled(valueSubject(this.transactionsTopic), transactionMarkerSchema(s));
    this.heartbeatKey ??= await compiled(keySubject(this.heartbeatTopic), heartbeatKeySchema(s));
    this.heartbeatValue ??= await compiled(valueSubject(this.heartbeatTopic), heartbeatValueSchema(s));
  }

  /** Writes one change event (and a tombstone after a delete); returns the sink seq of the last message. */
  write(
    topic: string,
    key: Record<string, unknown> | null,
    event: Envelope,
    headers?: Record<string, string>,
  ): number {
    const codecs = this.codecs(topic);
    const keyBuf = key && codecs.key ? codecs.key(key) : null;
    const value = codecs.value(event);
    // The partition is chosen here (Kafka's default murmur2 partitioner; keyless tables: partition 0, to keep
    // commit order) so the END marker's per-partition counts match where the events really are.
    const partition = partitionFor(keyBuf, this.options.partitions(topic));
    if (event.transaction) this.tally.count(event.transaction.id, topic, partition);
    const sink = this.options.sink;
    let seq = sink.enqueue(
      headers ? { topic, key: keyBuf, value, partition, headers } : { topic, key: keyBuf, value, partition },
    );
    if (event.op === "d" && keyBuf) seq = sink.enqueue({ topic, key: keyBuf, value: null, partition });
    return seq;
  }

  /** A truncate: one `t` event per partition, so every consumer-group member sees it in order. */
  writeTruncate(topic: string, event: Envelope): number {
    const value = this.codecs(topic).value(event);
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
      key: this.markerKey({ id: marker.id }),
      value: this.markerValue(this.tally.complete(marker)),
      headers: this.markerHeaders,
    });
  }

  writeHeartbeat(tsMs: bigint, lsn: bigint | null): number {
    if (!this.heartbeatKey || !this.heartbeatValue) throw new Error("prepareMarkers() first");
    const key: HeartbeatKey = { source: this.options.source };
    const value: Heartbeat = { ts_ms: tsMs, lsn };
    return this.options.sink.enqueue({
      topic: this.heartbeatTopic,
      partition: 0,
      key: this.heartbeatKey(key),
      value: this.heartbeatValue(value),
    });
  }

  /** Raw (already encoded or schemaless) messages, e.g. outbox events. */
  writeRaw(topic: string, key: Buffer | null, value: Buffer | null, headers: Record<string, string>): number {
    return this.options.sink.enqueue({ topic, key, value, headers });
  }

  valueType(topic: string): avro.Type {
    return this.codecs(topic).valueType;
  }

  private codecs(topic: string): TableCodecs {
    const c = this.tables.get(topic);
    if (!c) throw new Error(`no schema registered for ${topic}; call useShape() first`);
    return c;
  }
}
