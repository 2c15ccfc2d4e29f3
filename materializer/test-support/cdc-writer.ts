// A stand-in for a connector in the materializer's integration tests: the connectors' own EventWriter
// (protocol/event-writer.ts: schemas registered over HTTP, Confluent wire format, partitions chosen, tombstones
// after deletes, one truncate event per partition, BEGIN/END markers with per-partition counts) over an
// in-memory sink, whose messages are sent to Kafka with lib/kafka's producer after each step of a transaction.
// Only the envelope's content is made up here (source block, transaction ids), as a Postgres or a MySQL
// connector would fill it. Rows are in the decoded representation (bigint for long, decimal strings).
import type avro from "avsc";
import { partitionFor, type KafkaClient, type Producer } from "../../lib/kafka/index.ts";
import { RegistryClient } from "../../lib/registry-client.ts";
import type { Envelope, TableShape } from "../../protocol/envelope.ts";
import { EventWriter } from "../../protocol/event-writer.ts";
import { TransactionCounter, type TransactionMarker } from "../../protocol/markers.ts";
import { MemorySink } from "../../protocol/sink.ts";
import { keySubject, tableTopic, transactionsTopic, valueSubject } from "../../protocol/topics.ts";
import { encode, type RegisteredSchema, type SchemaRegistrar } from "../../protocol/wire.ts";
import type { AvroSchemaJson, TableInfo } from "../sql/catalog.ts";
import { TEST_ADMIN_TOKEN } from "../../test/support/auth.ts";

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

type Tx = Envelope["transaction"];

export class CdcWriter {
  readonly source: string;
  private readonly kafka: KafkaClient;
  private readonly registryUrl: string;
  private readonly tables: WriterTable[];
  private readonly partitions: number;
  private producer: Producer | null = null;
  private readonly sink = new MemorySink();
  private readonly writer: EventWriter;
  /** Every schema registered, by subject (the writer's codecs; row keys are encoded with them here too). */
  private readonly registered = new Map<string, RegisteredSchema>();
  /** Old-connector markers (no per-partition counts, no version header), written without the EventWriter. */
  private legacy: { key: RegisteredSchema; value: RegisteredSchema } | null = null;
  private xid = 1000;
  private lsn = 1_000_000n;
  /** Writes END markers without per-partition counts, as connectors did before they had them. */
  private readonly legacyMarkers: boolean;
  /** Which connector's event shape to write: a MySQL source has a database, binlog positions and GTIDs. */
  private readonly connector: "postgresql" | "mysql";

  constructor(options: {
    kafka: KafkaClient;
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
    this.writer = new EventWriter({
      source: this.source,
      sink: this.sink,
      registry: this.registrar(),
      partitions: () => this.partitions,
    });
  }

  /** Registers with the registry (lib/registry-client.ts); any refusal fails the test. */
  private registrar(): SchemaRegistrar {
    const client = new RegistryClient({ token: TEST_ADMIN_TOKEN, url: this.registryUrl });
    return {
      register: async (subject, schema) => {
        const registered = await client.register(subject, schema);
        this.registered.set(subject, registered);
        return registered;
      },
    };
  }

  async start(): Promise<void> {
    await this.kafka
      .admin()
      .ensureTopics([
        ...this.tables.map((t) => ({ topic: this.topic(t.table), partitions: this.partitions })),
        { topic: transactionsTopic(this.source), partitions: 1 },
      ]);
    for (const t of this.tables) {
      const shape: TableShape = {
        topic: this.topic(t.table),
        columns: t.columns.map(([name, type]) => ({ name, type: type as avro.Schema })),
        key: t.key,
      };
      if (shape.key.length === 0) throw new Error(`${shape.topic}: the CDC writer needs a primary key`);
      if (!(await this.writer.useShape(shape)))
        throw new Error(`${shape.topic}: ${this.writer.failedTables().get(shape.topic)?.message}`);
    }
    await this.writer.prepareMarkers();
    const markers = transactionsTopic(this.source);
    const [key, value] = [
      this.registered.get(keySubject(markers)),
      this.registered.get(valueSubject(markers)),
    ];
    if (this.legacyMarkers && key && value) this.legacy = { key, value };
    // The client's shared idempotent producer (acks=all); the client's close() closes it.
    this.producer = this.kafka.producer();
  }

  /** `<source>.<schema or database>.<table>` (DESIGN.md): Postgres schema `public`, MySQL database `shop`. */
  topic(table: string): string {
    return tableTopic(this.source, this.connector === "mysql" ? "shop" : "public", table);
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

  private spec(table: string): WriterTable {
    const t = this.tables.find((s) => s.table === table);
    if (!t) throw new Error(`unknown table ${table}`);
    return t;
  }

  private full(
    table: string,
    row: Record<string, unknown> | undefined | null,
  ): Record<string, unknown> | null {
    if (!row) return null;
    return Object.fromEntries(this.spec(table).columns.map(([name]) => [name, row[name] ?? null]));
  }

  private keyOf(table: string, row: Record<string, unknown>): Record<string, unknown> {
    return Object.fromEntries(this.spec(table).key.map((k) => [k, row[k]]));
  }

  private envelope(
    table: string,
    op: Envelope["op"],
    before: Record<string, unknown> | null,
    after: Record<string, unknown> | null,
    tx: Tx,
  ): Envelope {
    const now = BigInt(Date.now());
    return {
      before: this.full(table, before),
      after: this.full(table, after),
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
              table,
              txId: null,
              lsn: null,
              file: "mysql-bin.000003",
              pos: this.lsn,
              gtid: tx ? tx.id : null,
            }
          : {
              db: this.source,
              schema: "public",
              table,
              txId: tx ? BigInt(this.xid) : null,
              lsn: this.lsn,
              file: null,
              pos: null,
              gtid: null,
            }),
      },
      transaction: tx,
    };
  }

  /** The partition of a table's row (by its key columns), where the connector writes its events. */
  partitionOfRow(table: string, row: Record<string, unknown>): number {
    const key = this.registered.get(keySubject(this.topic(table)));
    if (!key) throw new Error(`unknown table ${table} (start() first)`);
    return partitionFor(encode(key, this.keyOf(table, row)), this.partitions);
  }

  /** Snapshot reads (op r, no transaction). */
  async snapshot(table: string, rows: Record<string, unknown>[]): Promise<void> {
    const topic = this.topic(table);
    for (const [i, r] of rows.entries()) {
      this.writer.write(topic, this.keyOf(table, r), this.envelope(table, "r", null, r, null));
      if ((i + 1) % 2000 === 0) await this.flush();
    }
    await this.flush();
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
    const counter = new TransactionCounter(id);
    const now = BigInt(Date.now());
    this.writeMarker(counter.marker("BEGIN", now));
    await this.flush();
    for (const op of ops) {
      const topic = this.topic(op.table);
      const tx = counter.next(topic);
      if (op.op === "t") {
        this.writer.writeTruncate(topic, this.envelope(op.table, "t", null, null, tx));
      } else if (op.op === "d") {
        const key = this.keyOf(op.table, op.before);
        this.writer.write(topic, key, this.envelope(op.table, "d", op.before, null, tx));
      } else {
        const key = this.keyOf(op.table, op.after);
        this.writer.write(topic, key, this.envelope(op.table, op.op, op.before ?? null, op.after, tx));
      }
    }
    await this.flush();
    this.writeMarker(counter.marker("END", now));
    await this.flush();
    return id;
  }

  private writeMarker(marker: TransactionMarker): void {
    if (!this.legacy) {
      this.writer.writeMarker(marker);
      return;
    }
    // As connectors wrote them before protocol version 2: per-topic counts only, no version header.
    this.sink.enqueue({
      topic: transactionsTopic(this.source),
      partition: 0,
      key: encode(this.legacy.key, { id: marker.id }),
      value: encode(this.legacy.value, marker),
    });
  }

  /** A record no schema can decode (wire magic byte wrong), for parking tests. */
  async garbage(table: string, key: Record<string, unknown>): Promise<void> {
    const keySchema = this.registered.get(keySubject(this.topic(table)));
    if (!keySchema) throw new Error(`unknown table ${table} (start() first)`);
    this.sink.enqueue({
      topic: this.topic(table),
      key: encode(keySchema, key),
      value: Buffer.from([9, 9, 9, 9, 9, 9]),
    });
    await this.flush();
  }

  /** Sends what the writer wrote since the last flush, acknowledged by every replica, in write order. */
  private async flush(): Promise<void> {
    const messages = this.sink.take();
    if (messages.length === 0) return;
    if (!this.producer) throw new Error("the CDC writer is not started (or stopped)");
    await this.producer.send(messages);
  }

  /** Stops writing. The producer is the client's shared one (other writers may use it): not closed here. */
  stop(): Promise<void> {
    this.producer = null;
    return Promise.resolve();
  }
}
