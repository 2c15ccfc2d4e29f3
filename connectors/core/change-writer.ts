// Turns a backend's change stream into events, in log order: BEGIN/END markers with per-table counts, the
// `transaction` block, a key change as delete + create, deletes' tombstones, truncates, outbox routing
// (outbox tables' inserts and logical messages with the outbox prefix), re-snapshot chunks at their high
// watermark, and the checkpoints that let the confirmed position advance only past what Kafka acknowledged.
// Most events are handled synchronously (no promise per event); `handle` returns a promise only when it must
// wait (a new table version to register, an outbox topic to create).
import type { OrderedProducer, OutMessage } from "../../lib/kafka/index.ts";
import type { Op } from "../../protocol/envelope.ts";
import type { EventWriter } from "../../protocol/event-writer.ts";
import { TransactionCounter } from "../../protocol/markers.ts";
import type { PositionCodec, Row, SourceTable, StreamEvent } from "./backend.ts";
import { Checkpoints } from "./checkpoints.ts";
import { envelope, keyOf, sameKey, type EventContext, type SourceIdentity } from "./events.ts";
import { routeOutboxMessage, routeOutboxRow, type OutboxEvent } from "./outbox.ts";
import type { OutboxRouting, PreparedEvent } from "./outbox-router.ts";
import type { WatermarkWindow } from "./watermark-window.ts";

export interface ChangeWriterDeps<P> {
  source: SourceIdentity;
  /** The owning service: outbox events go to `<owner>.<aggregatetype>`. */
  owner: string;
  positions: PositionCodec<P>;
  writer: EventWriter;
  /** The writer's sink: its acknowledged prefix (`ackedSeq`, `onAck`) is what moves the confirmed position. */
  sink: OrderedProducer;
  /** Registers a table version's schemas (false: the table is stopped, its changes are dropped). */
  useTable: (table: SourceTable) => Promise<boolean>;
  outboxTables: ReadonlySet<string>;
  /** Logical messages with this prefix are outbox events. */
  messagePrefix: string | undefined;
  /** Creates an outbox topic the first time an event goes to it. */
  ensureTopic: (topic: string) => Promise<void>;
  /** Publishes outbox events under their schemas or parks them (outbox-router.ts); without it they go raw. */
  outbox?: OutboxRouting | undefined;
  window: WatermarkWindow;
  /** The confirmed position moved: tell the server. */
  confirm: (position: P) => void;
  onEvents: (table: string, n: number) => void;
  onTransactionAcked?: ((commitMicros: bigint, events: number) => void) | undefined;
  /** Micros since the epoch, for re-snapshot rows. */
  nowMicros: () => bigint;
  /** Where the server resumes (the start of this session's stream), if known. */
  confirmed: P | null;
  /**
   * Exactly-once delivery: the record that stores a position (in `_mesh_offsets`). Every checkpoint is then a
   * boundary of the sink's Kafka transactions, which commit with the record of the position they end at.
   */
  positionRecord?: ((position: P) => OutMessage) | undefined;
}

interface OpenTxn<P> {
  txId: bigint | null;
  commitMicros: bigint;
  counter: TransactionCounter;
  begun: boolean;
  position: P;
}

export class ChangeWriter<P> {
  readonly #d: ChangeWriterDeps<P>;
  readonly #checkpoints: Checkpoints<P>;
  /** Table versions already registered (false: stopped). */
  readonly #tables = new Map<SourceTable, boolean>();
  #txn: OpenTxn<P> | null = null;
  /** Events written to `#countTable` not yet reported to `onEvents`. */
  #countTable: string | null = null;
  #count = 0;

  constructor(deps: ChangeWriterDeps<P>) {
    this.#d = deps;
    this.#checkpoints = new Checkpoints(
      {
        positions: deps.positions,
        confirm: deps.confirm,
        frozen: () => this.frozen,
        onTransactionAcked: deps.onTransactionAcked,
      },
      deps.confirmed,
    );
    deps.sink.onAck((seq) => this.#checkpoints.acked(seq));
  }

  /** The last position whose events are all acknowledged (null before the first). */
  get confirmed(): P | null {
    return this.#checkpoints.confirmed;
  }

  /** While a table is stopped, nothing is confirmed: its unwritten changes stay on the server for a restart. */
  get frozen(): boolean {
    return this.#d.writer.failedTables().size > 0;
  }

  /** Commit time (micros) of the oldest source transaction received but not all acknowledged (null: none). */
  get oldestPendingCommitMicros(): bigint | null {
    return this.#checkpoints.oldestPendingCommitMicros ?? this.#txn?.commitMicros ?? null;
  }

  /** No transaction open, nothing waiting for Kafka. */
  get idle(): boolean {
    return this.#txn === null && this.#checkpoints.empty && this.#d.sink.ackedSeq === this.#d.sink.lastSeq;
  }

  /** Handles one event; returns a promise only when it has to wait. */
  handle(ev: StreamEvent<P>): Promise<void> | undefined {
    switch (ev.kind) {
      case "begin":
        this.#txn = {
          txId: ev.txId,
          commitMicros: ev.commitMicros,
          counter: new TransactionCounter(ev.id),
          begun: false,
          position: ev.position,
        };
        return undefined;
      case "change":
        return this.#change(ev.table, ev.op, ev.before, ev.after, ev.position);
      case "truncate":
        return this.#truncate(ev.tables, ev.position);
      case "commit":
        this.#commit(ev.position);
        return undefined;
      case "schema":
        return this.#schema(ev.table);
      case "message":
        return this.#message(ev.prefix, ev.content, ev.transactional, ev.position);
      case "watermark":
        this.#watermark(ev.chunk, ev.edge, ev.position);
        return undefined;
      case "progress":
        // Everything before it was handed to us: if all of it is acknowledged, the server may move there.
        // Exactly-once: also what was written meanwhile (heartbeats) commits, with the position.
        if (this.#d.positionRecord && this.#txn === null) this.#lone(ev.position);
        else if (this.idle) this.#checkpoints.advance(ev.position);
        return undefined;
    }
  }

  async #schema(table: SourceTable): Promise<void> {
    if (this.#tables.has(table)) return;
    this.#tables.set(table, this.#d.outboxTables.has(table.qualified) || (await this.#d.useTable(table)));
  }

  /** A table version seen without its schema event (a backend may skip it for an unchanged version). */
  #usable(table: SourceTable): Promise<boolean> | boolean {
    const known = this.#tables.get(table);
    if (known !== undefined) return known;
    return this.#schema(table).then(() => this.#tables.get(table) === true);
  }

  #context(position: P, topic: string | null): EventContext {
    const t = this.#txn;
    return {
      snapshot: "false",
      tsMicros: t?.commitMicros ?? 0n,
      txId: t?.txId ?? null,
      coordinates: this.#d.positions.coordinates(position),
      transaction: t && topic ? t.counter.next(topic) : null,
    };
  }

  #beginIfNeeded(): void {
    const t = this.#txn;
    if (!t || t.begun) return;
    t.begun = true;
    this.#d.writer.writeMarker(t.counter.marker("BEGIN", t.commitMicros / 1000n));
  }

  #change(
    table: SourceTable,
    op: Op,
    before: Row | null,
    after: Row | null,
    position: P,
  ): Promise<void> | undefined {
    const usable = this.#usable(table);
    if (usable !== true && usable !== false)
      return usable.then(() => this.#change(table, op, before, after, position));
    if (this.#d.outboxTables.has(table.qualified)) {
      if (op === "c" && after)
        return this.#d.outbox
          ? this.#routed(this.#d.outbox.row(after, this.#d.positions.serialize(position)))
          : this.#outbox(routeOutboxRow(this.#d.owner, after));
      return undefined;
    }
    if (!usable || this.#d.writer.isFailed(table.shape.topic)) return undefined;
    this.#beginIfNeeded();
    if (op === "u" && before && after && table.shape.key.length > 0 && !sameKey(table, before, after)) {
      // A primary-key change is a delete of the old key (with its tombstone) and a create of the new one,
      // so compaction and per-key consumers never keep the old row alive.
      this.#emit(table, "d", before, null, before, position);
      this.#emit(table, "c", null, after, after, position);
    } else if (op === "d") this.#emit(table, "d", before, null, before ?? {}, position);
    else if (op === "u") this.#emit(table, "u", before, after, after ?? {}, position);
    else this.#emit(table, "c", null, after, after ?? {}, position);
    return undefined;
  }

  #emit(table: SourceTable, op: Op, before: Row | null, after: Row | null, keyRow: Row, position: P): void {
    const topic = table.shape.topic;
    const key = keyOf(table, keyRow);
    this.#d.window.observe(topic, key, this.#txn?.txId ?? null);
    this.#d.writer.write(
      topic,
      key,
      envelope(this.#d.source, table, op, before, after, this.#context(position, topic)),
    );
    this.#counted(table.qualified, 1);
  }

  /**
   * Events written per table, reported in sums (at each commit, on a change of table, every 1,024 events):
   * the metrics counter hashes its labels on every call, which cost a microsecond per event.
   */
  #counted(table: string, n: number): void {
    if (this.#countTable !== table) {
      this.#flushCounts();
      this.#countTable = table;
    }
    this.#count += n;
    if (this.#count >= 1024) this.#flushCounts();
  }

  #flushCounts(): void {
    if (this.#countTable !== null && this.#count > 0) this.#d.onEvents(this.#countTable, this.#count);
    this.#count = 0;
  }

  #truncate(tables: SourceTable[], position: P): Promise<void> | undefined {
    for (const table of tables) {
      const usable = this.#usable(table);
      if (usable !== true && usable !== false) return usable.then(() => this.#truncate(tables, position));
    }
    for (const table of tables) {
      if (this.#tables.get(table) !== true) continue;
      if (this.#d.outboxTables.has(table.qualified) || this.#d.writer.isFailed(table.shape.topic)) continue;
      const topic = table.shape.topic;
      this.#beginIfNeeded();
      this.#d.window.truncate(topic, this.#txn?.txId ?? null);
      this.#d.writer.writeTruncate(
        topic,
        envelope(this.#d.source, table, "t", null, null, this.#context(position, topic)),
      );
      this.#counted(table.qualified, 1);
    }
    return undefined;
  }

  async #message(prefix: string, content: Buffer, transactional: boolean, position: P): Promise<void> {
    if (!this.#d.messagePrefix || prefix !== this.#d.messagePrefix) {
      if (!transactional && this.idle) this.#checkpoints.advance(position);
      return;
    }
    if (this.#d.outbox)
      await this.#routed(this.#d.outbox.message(content, this.#d.positions.serialize(position)));
    else await this.#outbox(routeOutboxMessage(this.#d.owner, content));
    // A non-transactional message is confirmed on its own once acknowledged.
    if (!transactional && this.#txn === null) this.#lone(position);
  }

  /** An outbox event publishes or parks once the router has what it needs, in stream order. */
  #routed(prepared: PreparedEvent | Promise<PreparedEvent>): Promise<void> | undefined {
    const write = (w: PreparedEvent): void => {
      this.#beginIfNeeded();
      w();
    };
    if (typeof prepared === "function") {
      write(prepared);
      return undefined;
    }
    return prepared.then(write);
  }

  async #outbox(event: OutboxEvent | null): Promise<void> {
    if (!event) return;
    await this.#d.ensureTopic(event.topic);
    this.#beginIfNeeded();
    this.#d.writer.writeRaw(event.topic, event.key, event.value, event.headers);
  }

  #watermark(chunk: string, edge: "low" | "high", position: P): void {
    const out = this.#d.window.watermark(chunk, edge);
    if (!out) {
      if (this.idle) this.#checkpoints.advance(position);
      return;
    }
    const { table, rows } = out;
    const ctx: EventContext = {
      snapshot: "incremental",
      tsMicros: this.#d.nowMicros(),
      txId: null,
      coordinates: this.#d.positions.coordinates(position),
      transaction: null,
    };
    for (const row of rows)
      this.#d.writer.write(
        table.shape.topic,
        keyOf(table, row),
        envelope(this.#d.source, table, "r", null, row, ctx),
      );
    this.#counted(table.qualified, rows.length);
    this.#flushCounts();
    if (this.#txn === null) this.#lone(position);
  }

  #commit(position: P): void {
    this.#flushCounts();
    const t = this.#txn;
    this.#txn = null;
    if (!t) return;
    let seq = this.#d.sink.lastSeq;
    if (t.begun) seq = this.#d.writer.writeMarker(t.counter.marker("END", t.commitMicros / 1000n));
    this.#boundary(position);
    this.#checkpoints.add(seq, position, t.commitMicros, Number(t.counter.eventCount), this.#d.sink.ackedSeq);
  }

  /** Messages written outside a transaction: resume after `position` once they are acknowledged. */
  #lone(position: P): void {
    this.#boundary(position);
    this.#checkpoints.add(this.#d.sink.lastSeq, position, 0n, 0, this.#d.sink.ackedSeq);
  }

  /**
   * A whole unit ends here (a no-op for the at-least-once producer). While a table is stopped the position
   * is not stored: its unwritten changes must be read again after a restart.
   */
  #boundary(position: P): void {
    const record = this.#d.positionRecord;
    this.#d.sink.boundary(record && !this.frozen ? record(position) : undefined);
  }
}
