// A stand-in for a connector in the materializer's integration tests: writes Debezium-shaped change events
// exactly as docs/contracts.md specifies (key/value subjects registered in the schema registry over HTTP,
// Confluent wire format, envelope with source and transaction blocks, tombstones after deletes, one truncate
// event per partition, BEGIN/END markers on `<source>.transactions`). Rows are in the decoded representation
// (bigint for long, decimal strings).
import type avro from "avsc";
import type { Kafka, Message, Producer } from "kafkajs";
import {
  envelopeSchema,
  keySchema as keySchemaOf,
  transactionKeySchema,
  transactionMarkerSchema,
  type TableShape,
} from "../../connectors/core/envelope.ts";
import { partitionFor } from "../../lib/kafka/partitioner.ts";
import { avroType, encodeWire } from "../../lib/avro.ts";
import type { AvroSchemaJson, TableInfo } from "../sql/catalog.ts";

export interface WriterTable {
  schema: string;
  table: string;
  key: string[];
  /** Column → non-null Avro type (the Value record makes them nullable). */
  columns: [string, AvroSchemaJson][];
}

export type Op =
  | { table: string; op: "c" | "u"; after: Record<string, unknown>; before?: Record<string, unknown> }
  | { table: string; op: "d"; before: Record<string, unknown> }
  | { table: string; op: "t" };

interface Codecs {
  topic: string;
  spec: WriterTable;
  keyId: number;
  valueId: number;
  key: ReturnType<typeof avroType>;
  value: ReturnType<typeof avroType>;
}

export class CdcWriter {
  readonly source: string;
  private readonly kafka: Kafka;
  private readonly registryUrl: string;
  private readonly tables: WriterTable[];
  private readonly partitions: number;
  private producer: Producer | null = null;
  private readonly codecs = new Map<string, Codecs>();
  private marker: {
    keyId: number;
    valueId: number;
    key: ReturnType<typeof avroType>;
    value: ReturnType<typeof avroType>;
  } | null = null;
  private xid = 1000;
  private lsn = 1_000_000n;
  /** Writes END markers without per-partition counts, as connectors did before they had them. */
  private readonly legacyMarkers: boolean;
  /** Which connector's event shape to write: a MySQL source has a database, binlog positions and GTIDs. */
  private readonly connector: "postgresql" | "mysql";

  constructor(options: {
    kafka: Kafka;
    registryUrl: string;
    source: string;
    tables: WriterTable[];
    partitions?: number;
    legacyMarkers?: boolean;
    connector?: "postgresql" | "mysql";
  }) {
    this.kafka = options.kafka;
    this.registryUrl = options.registryUrl;
    this.source = options.source;
    this.tables = options.tables;
    this.partitions = options.partitions ?? 3;
    this.legacyMarkers = options.legacyMarkers ?? false;
    this.connector = options.connector ?? "postgresql";
  }

  private async register(subject: string, schema: unknown): Promise<number> {
    const res = await fetch(`${this.registryUrl}/subjects/${encodeURIComponent(subject)}/versions`, {
      method: "POST",
      headers: { "content-type": "application/vnd.schemaregistry.v1+json" },
      body: JSON.stringify({ schema: JSON.stringify(schema) }),
    });
    if (!res.ok) throw new Error(`registering ${subject}: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { id: number }).id;
  }

  async start(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        ...this.tables.map((t) => ({ topic: this.topic(t.table), numPartitions: this.partitions })),
        { topic: `${this.source}.transactions`, numPartitions: 1 },
      ],
    });
    await admin.disconnect();
    for (const t of this.tables) {
      const topic = this.topic(t.table);
      // The real connector's schema derivation, so this stand-in writes exactly what connectors write.
      const shape: TableShape = {
        topic,
        columns: t.columns.map(([name, type]) => ({ name, type: type as avro.Schema })),
        key: t.key,
      };
      const keySchema = keySchemaOf(shape);
      if (!keySchema) throw new Error(`${topic}: the CDC writer needs a primary key`);
      const envelope = envelopeSchema(shape);
      this.codecs.set(t.table, {
        topic,
        spec: t,
        keyId: await this.register(`${topic}-key`, keySchema),
        valueId: await this.register(`${topic}-value`, envelope),
        key: avroType(keySchema),
        value: avroType(envelope),
      });
    }
    const markerKey = transactionKeySchema(this.source);
    const markerValue = transactionMarkerSchema(this.source);
    const topic = `${this.source}.transactions`;
    this.marker = {
      keyId: await this.register(`${topic}-key`, markerKey),
      valueId: await this.register(`${topic}-value`, markerValue),
      key: avroType(markerKey),
      value: avroType(markerValue),
    };
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
  }

  /** `<source>.<schema or database>.<table>` (DESIGN.md): Postgres schema `public`, MySQL database `shop`. */
  topic(table: string): string {
    return `${this.source}.${this.connector === "mysql" ? "shop" : "public"}.${table}`;
  }

  /** The catalog entries the registry now holds for these tables (as the materializer will see them). */
  tableInfos(): TableInfo[] {
    return this.tables.map((t) => ({
      topic: this.topic(t.table),
      source: this.source,
      schema: "public",
      table: t.table,
      key: t.key,
      columns: t.columns.map(([name, type]) => ({ name, type: ["null", type] as AvroSchemaJson })),
    }));
  }

  private codec(table: string): Codecs {
    const c = this.codecs.get(table);
    if (!c) throw new Error(`unknown table ${table}`);
    return c;
  }

  private full(c: Codecs, row: Record<string, unknown> | undefined | null): Record<string, unknown> | null {
    if (!row) return null;
    return Object.fromEntries(c.spec.columns.map(([name]) => [name, row[name] ?? null]));
  }

  private envelope(
    c: Codecs,
    op: string,
    before: Record<string, unknown> | null,
    after: Record<string, unknown> | null,
    tx: { id: string; total: bigint; order: bigint } | null,
  ): Buffer {
    const now = BigInt(Date.now());
    return encodeWire(c.valueId, c.value, {
      before: this.full(c, before),
      after: this.full(c, after),
      op,
      ts_ms: now,
      source: {
        version: "test",
        connector: this.connector,
        name: this.source,
        ts_ms: now,
        snapshot: tx ? "false" : "true",
        ...(this.connector === "mysql"
          ? {
              db: "shop",
              schema: null,
              table: c.spec.table,
              txId: null,
              lsn: null,
              file: "mysql-bin.000003",
              pos: this.lsn,
              gtid: tx ? tx.id : null,
            }
          : {
              db: this.source,
              schema: "public",
              table: c.spec.table,
              txId: tx ? BigInt(this.xid) : null,
              lsn: this.lsn,
              file: null,
              pos: null,
              gtid: null,
            }),
      },
      transaction: tx ? { id: tx.id, total_order: tx.total, data_collection_order: tx.order } : null,
    });
  }

  private keyOf(c: Codecs, row: Record<string, unknown>): Buffer {
    return encodeWire(c.keyId, c.key, Object.fromEntries(c.spec.key.map((k) => [k, row[k]])));
  }

  private partitionOf(key: Buffer): number {
    return partitionFor(key, this.partitions);
  }

  /** The partition of a table's row (by its key columns), where the connector writes its events. */
  partitionOfRow(table: string, row: Record<string, unknown>): number {
    return this.partitionOf(this.keyOf(this.codec(table), row));
  }

  /** Snapshot reads (op r, no transaction). */
  async snapshot(table: string, rows: Record<string, unknown>[]): Promise<void> {
    const c = this.codec(table);
    const messages = rows.map((r) => {
      const key = this.keyOf(c, r);
      return { key, value: this.envelope(c, "r", null, r, null), partition: this.partitionOf(key) };
    });
    for (let i = 0; i < messages.length; i += 2000) {
      await this.producer!.send({ topic: c.topic, messages: messages.slice(i, i + 2000), acks: -1 });
    }
  }

  /** One source transaction: BEGIN, its events (deletes followed by tombstones), END with per-table counts. */
  async transaction(ops: Op[]): Promise<string> {
    this.xid++;
    this.lsn += 100n;
    // Transaction ids as each connector writes them: Postgres `<xid>:<commit lsn>`, MySQL the GTID.
    const id =
      this.connector === "mysql"
        ? `3e11fa47-71ca-11e1-9e33-c80aa9429562:${this.xid}`
        : `${this.xid}:${this.lsn}`;
    const counts = new Map<string, bigint>();
    const perPartition = new Map<string, Map<number, bigint>>();
    const byTopic = new Map<string, Message[]>();
    let total = 0n;
    // Every message gets its partition here (as the connector's EventWriter does), so the END marker can
    // count events per partition; tombstones (no transaction) are not counted.
    const push = (topic: string, m: Message & { partition: number }): void => {
      const list = byTopic.get(topic) ?? [];
      list.push(m);
      byTopic.set(topic, list);
      if (m.value === null) return;
      const counted = perPartition.get(topic) ?? new Map<number, bigint>();
      counted.set(m.partition, (counted.get(m.partition) ?? 0n) + 1n);
      perPartition.set(topic, counted);
    };
    for (const op of ops) {
      const c = this.codec(op.table);
      total++;
      const order = (counts.get(c.topic) ?? 0n) + 1n;
      counts.set(c.topic, order);
      const tx = { id, total, order };
      if (op.op === "t") {
        for (let p = 0; p < this.partitions; p++)
          push(c.topic, { key: null, value: this.envelope(c, "t", null, null, tx), partition: p });
      } else if (op.op === "d") {
        const key = this.keyOf(c, op.before);
        const partition = this.partitionOf(key);
        push(c.topic, { key, value: this.envelope(c, "d", op.before, null, tx), partition });
        push(c.topic, { key, value: null, partition });
      } else {
        const key = this.keyOf(c, op.after);
        push(c.topic, {
          key,
          value: this.envelope(c, op.op, op.before ?? null, op.after, tx),
          partition: this.partitionOf(key),
        });
      }
    }
    const m = this.marker!;
    const markerTopic = `${this.source}.transactions`;
    const markerKey = encodeWire(m.keyId, m.key, { id });
    const now = BigInt(Date.now());
    await this.producer!.send({
      topic: markerTopic,
      acks: -1,
      messages: [
        {
          key: markerKey,
          value: encodeWire(m.valueId, m.value, {
            status: "BEGIN",
            id,
            event_count: null,
            data_collections: null,
            ts_ms: now,
          }),
        },
      ],
    });
    if (byTopic.size > 0)
      await this.producer!.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    const end = {
      status: "END",
      id,
      event_count: total,
      data_collections: [...counts].map(([data_collection, event_count]) => ({
        data_collection,
        event_count,
        partitions: this.legacyMarkers
          ? null
          : [...(perPartition.get(data_collection) ?? [])]
              .sort(([a], [b]) => a - b)
              .map(([partition, n]) => ({ partition, event_count: n })),
      })),
      ts_ms: now,
    };
    await this.producer!.send({
      topic: markerTopic,
      acks: -1,
      messages: [{ key: markerKey, value: encodeWire(m.valueId, m.value, end) }],
    });
    return id;
  }

  /** A record no schema can decode (wire magic byte wrong), for parking tests. */
  async garbage(table: string, key: Record<string, unknown>): Promise<void> {
    const c = this.codec(table);
    await this.producer!.send({
      topic: c.topic,
      acks: -1,
      messages: [{ key: this.keyOf(c, key), value: Buffer.from([9, 9, 9, 9, 9, 9]) }],
    });
  }

  async stop(): Promise<void> {
    await this.producer?.disconnect();
    this.producer = null;
  }
}
