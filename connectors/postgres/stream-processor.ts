// Turns the decoded replication stream into events, in commit order: BEGIN/END markers with per-table
// counts, the `transaction` block, deletes' tombstones, truncates, TOAST handling, outbox routing, and the
// bookkeeping that makes the slot's confirmed LSN advance only past transactions Kafka fully acknowledged.
import type { OrderedProducer } from "../../lib/kafka/index.ts";
import type { SourceDefinition } from "../core/change-source.ts";
import type { Envelope, Op } from "../../protocol/envelope.ts";
import { TransactionCounter } from "../../protocol/markers.ts";
import type { EventWriter } from "../../protocol/event-writer.ts";
import { WATERMARK_PREFIX, type WatermarkWindow } from "./incremental-snapshot.ts";
import { routeOutboxMessage, routeOutboxRow, type OutboxEvent } from "./outbox.ts";
import type { PgMessage, Relation, Tuple } from "./pgoutput.ts";
import type { StreamItem } from "./replication-stream.ts";
import {
  envelope,
  keyOf,
  transactionId,
  tupleToRow,
  type EventContext,
  type TableMapping,
} from "./row-mapping.ts";

export const HEARTBEAT_PREFIX = "datamesh.heartbeat";

export interface StreamProcessorDeps {
  def: SourceDefinition;
  db: string;
  writer: EventWriter;
  /** The writer's sink: its acknowledged prefix (`ackedSeq`, `onAck`) is what moves the confirmed LSN. */
  sink: OrderedProducer;
  /** Builds the mapping of a relation and registers its schemas; null when the table is failed. */
  mapRelation: (relation: Relation) => Promise<TableMapping | null>;
  /** Current values of `columns` (positions) of the row with this key (text by position), or null if gone. */
  fetchColumns: (
    mapping: TableMapping,
    keyText: (string | null)[],
    columns: number[],
  ) => Promise<(string | null)[] | null>;
  /** Sends the confirmed position to the server. */
  confirm: (lsn: bigint) => void;
  onEvents: (table: string, n: number) => void;
  outboxTables: Set<string>;
  /** Observability hook: a source transaction's events are all acknowledged (benchmarks, metrics). */
  onTransactionAcked?: ((commitMicros: bigint, events: number) => void) | undefined;
  /** Creates an outbox topic the first time an event goes to it. */
  ensureTopic: (topic: string) => Promise<void>;
  /** The incremental snapshot's watermark window (streamed keys supersede chunk rows). */
  window: WatermarkWindow;
}

interface Checkpoint {
  /** The seq of its last message (an END marker, or the last message written before it). */
  seq: number;
  lsn: bigint;
  commitMicros: bigint;
  events: number;
}

interface OpenTxn {
  xid: number;
  finalLsn: bigint;
  commitMicros: bigint;
  counter: TransactionCounter;
  begun: boolean;
}

export class StreamProcessor {
  private readonly deps: StreamProcessorDeps;
  private readonly mappings = new Map<number, TableMapping | null>();
  private txn: OpenTxn | null = null;
  /** Transactions (and lone messages) waiting for their last seq to be acknowledged, from `head` on. */
  private checkpoints: Checkpoint[] = [];
  private head = 0;
  confirmed = 0n;

  constructor(deps: StreamProcessorDeps) {
    this.deps = deps;
    deps.sink.onAck((seq) => this.acked(seq));
  }

  /** While a table is stopped, nothing is confirmed: its unwritten changes stay in the slot for a restart. */
  get frozen(): boolean {
    return this.deps.writer.failedTables().size > 0;
  }

  /**
   * Commit time (micros) of the oldest source transaction received but not yet all acknowledged by Kafka
   * (null when none): the source's lag is now minus this, so an idle source shows 0 however long ago its
   * last change was.
   */
  get oldestPendingCommitMicros(): bigint | null {
    for (let i = this.head; i < this.checkpoints.length; i++) {
      const micros = (this.checkpoints[i] as Checkpoint).commitMicros;
      if (micros > 0n) return micros;
    }
    return this.txn?.commitMicros ?? null;
  }

  get idle(): boolean {
    return (
      this.txn === null &&
      this.head === this.checkpoints.length &&
      this.deps.sink.ackedSeq === this.deps.sink.lastSeq
    );
  }

  async handle(item: StreamItem): Promise<void> {
    if (item.kind === "keepalive") {
      // Everything before walEnd has been sent to us; if all of it is acknowledged, the slot may move there.
      this.confirmIfIdle(item.walEnd);
      if (item.shouldRespond) this.deps.confirm(this.confirmed);
      return;
    }
    await this.message(item.lsn, item.msg);
  }

  private async message(lsn: bigint, msg: PgMessage): Promise<void> {
    switch (msg.tag) {
      case "begin":
        this.txn = {
          xid: msg.xid,
          finalLsn: msg.finalLsn,
          commitMicros: msg.commitTime,
          counter: new TransactionCounter(transactionId(msg.xid, msg.finalLsn)),
          begun: false,
        };
        return;
      case "commit":
        return this.commit(msg.endLsn);
      case "relation":
        this.mappings.set(msg.relation.oid, await this.deps.mapRelation(msg.relation));
        return;
      case "insert":
        return this.change(lsn, msg.relation, "c", null, false, msg.after);
      case "update":
        return this.change(lsn, msg.relation, "u", msg.before, msg.beforeIsKey, msg.after);
      case "delete":
        return this.change(lsn, msg.relation, "d", msg.before, msg.beforeIsKey, null);
      case "truncate":
        return this.truncate(lsn, msg.relations);
      case "message":
        return this.logicalMessage(lsn, msg);
      default:
        return;
    }
  }

  private context(lsn: bigint, topic: string | null): EventContext {
    const t = this.txn;
    return {
      source: this.deps.def.name,
      db: this.deps.db,
      snapshot: "false",
      tsMicros: t?.commitMicros ?? 0n,
      xid: t?.xid ?? null,
      lsn,
      transaction: t && topic ? t.counter.next(topic) : null,
    };
  }

  private beginIfNeeded(): void {
    const t = this.txn;
    if (!t || t.begun) return;
    t.begun = true;
    this.deps.writer.writeMarker(t.counter.marker("BEGIN", t.commitMicros / 1000n));
  }

  private async change(
    lsn: bigint,
    relation: Relation,
    op: Op,
    beforeTuple: Tuple | null,
    beforeIsKey: boolean,
    afterTuple: Tuple | null,
  ): Promise<void> {
    const m = this.mappings.get(relation.oid);
    const qualified = `${relation.schema}.${relation.name}`;
    if (this.deps.outboxTables.has(qualified)) {
      if (op === "c" && m && afterTuple)
        await this.outbox(routeOutboxRow(this.deps.def.owner, tupleToRow(m, afterTuple).row));
      return;
    }
    if (!m || this.deps.writer.isFailed(m.shape.topic)) return;
    const before = beforeTuple ? tupleToRow(m, beforeTuple).row : null;
    let after: Record<string, unknown> | null = null;
    if (afterTuple) {
      // Unchanged TOAST: REPLICA IDENTITY FULL gives the old value in the before tuple; otherwise read it.
      const res = tupleToRow(m, afterTuple, beforeIsKey ? null : beforeTuple);
      after = res.row;
      if (res.missing.length > 0) await this.fillToast(m, afterTuple, res.missing, after);
    }
    const topic = m.shape.topic;
    this.beginIfNeeded();
    let written = 0;
    const emit = (
      o: Op,
      b: Envelope["before"],
      a: Envelope["after"],
      keyRow: Record<string, unknown>,
    ): void => {
      const key = keyOf(m, keyRow);
      this.deps.window.observe(topic, key);
      this.deps.writer.write(topic, key, envelope(m, o, b, a, this.context(lsn, topic)));
      written++;
    };
    if (op === "u" && before && after && m.keyIndexes.length > 0 && !sameKey(m, before, after)) {
      // A primary-key change is a delete of the old key (with its tombstone) and a create of the new one,
      // so compaction and per-key consumers never keep the old row alive.
      emit("d", before, null, before);
      emit("c", null, after, after);
    } else if (op === "d") emit("d", before, null, before ?? {});
    else if (op === "u")
      emit("u", beforeIsKey || m.replicaIdentity === "full" ? before : null, after, after ?? {});
    else emit("c", null, after, after ?? {});
    this.deps.onEvents(m.qualified, written);
    await this.deps.sink.waitForCapacity();
  }

  private async fillToast(
    m: TableMapping,
    tuple: Tuple,
    missing: number[],
    row: Record<string, unknown>,
  ): Promise<void> {
    const keyText = m.keyIndexes.map((i) => (typeof tuple[i] === "string" ? tuple[i] : null));
    const values = m.keyIndexes.length > 0 ? await this.deps.fetchColumns(m, keyText, missing) : null;
    missing.forEach((col, j) => {
      const v = values?.[j];
      const field = m.fields[col] as string;
      row[field] =
        v === null || v === undefined
          ? null
          : (m.types[col] as { fromText: (t: string) => unknown }).fromText(v);
    });
  }

  private async truncate(lsn: bigint, relations: Relation[]): Promise<void> {
    for (const rel of relations) {
      const m = this.mappings.get(rel.oid);
      if (!m || this.deps.writer.isFailed(m.shape.topic) || this.deps.outboxTables.has(m.qualified)) continue;
      this.beginIfNeeded();
      this.deps.window.truncate(m.shape.topic);
      this.deps.writer.writeTruncate(
        m.shape.topic,
        envelope(m, "t", null, null, this.context(lsn, m.shape.topic)),
      );
      this.deps.onEvents(m.qualified, 1);
    }
    await this.deps.sink.waitForCapacity();
  }

  private async logicalMessage(lsn: bigint, msg: Extract<PgMessage, { tag: "message" }>): Promise<void> {
    if (msg.prefix === HEARTBEAT_PREFIX && !msg.transactional) {
      this.confirmIfIdle(msg.lsn);
      return;
    }
    if (msg.prefix === WATERMARK_PREFIX && !msg.transactional) {
      const chunk = this.deps.window.watermark(msg.content.toString("utf8"));
      if (chunk) {
        const { mapping } = chunk;
        const ctx = {
          ...this.context(msg.lsn, null),
          snapshot: "incremental" as const,
          tsMicros: BigInt(Date.now()) * 1000n,
          xid: null,
        };
        for (const row of chunk.rows)
          this.deps.writer.write(
            mapping.shape.topic,
            keyOf(mapping, row),
            envelope(mapping, "r", null, row, ctx),
          );
        this.deps.onEvents(mapping.qualified, chunk.rows.length);
        if (this.txn === null) this.checkpoint(this.deps.sink.lastSeq, msg.lsn, 0n, 0);
        await this.deps.sink.waitForCapacity();
      } else this.confirmIfIdle(msg.lsn);
      return;
    }
    const prefix = this.deps.def.outbox?.messagePrefix;
    if (prefix && msg.prefix === prefix) {
      const event = routeOutboxMessage(this.deps.def.owner, msg.content);
      await this.outbox(event);
      // A non-transactional message is confirmed on its own once acknowledged.
      if (!msg.transactional && this.txn === null) this.checkpoint(this.deps.sink.lastSeq, lsn, 0n, 0);
      await this.deps.sink.waitForCapacity();
    }
  }

  private async outbox(event: OutboxEvent | null): Promise<void> {
    if (!event) return;
    await this.deps.ensureTopic(event.topic);
    this.beginIfNeeded();
    this.deps.writer.writeRaw(event.topic, event.key, event.value, event.headers);
  }

  private commit(endLsn: bigint): void {
    const t = this.txn;
    this.txn = null;
    if (!t) return;
    let seq = this.deps.sink.lastSeq;
    if (t.begun) seq = this.deps.writer.writeMarker(t.counter.marker("END", t.commitMicros / 1000n));
    this.checkpoint(seq, endLsn, t.commitMicros, Number(t.counter.eventCount));
  }

  private checkpoint(seq: number, lsn: bigint, commitMicros: bigint, events: number): void {
    this.checkpoints.push({ seq, lsn, commitMicros, events });
    this.acked(this.deps.sink.ackedSeq);
  }

  private acked(seq: number): void {
    let advanced = false;
    // An index instead of shift(): while catching up, tens of thousands of small transactions can wait here.
    while (this.head < this.checkpoints.length && (this.checkpoints[this.head] as Checkpoint).seq <= seq) {
      const cp = this.checkpoints[this.head++] as Checkpoint;
      if (cp.lsn > this.confirmed && !this.frozen) {
        this.confirmed = cp.lsn;
        advanced = true;
      }
      if (cp.commitMicros > 0n) this.deps.onTransactionAcked?.(cp.commitMicros, cp.events);
    }
    if (this.head > 0 && this.head === this.checkpoints.length) {
      this.checkpoints = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.checkpoints.length) {
      this.checkpoints = this.checkpoints.slice(this.head);
      this.head = 0;
    }
    if (advanced) this.deps.confirm(this.confirmed);
  }

  private confirmIfIdle(lsn: bigint): void {
    if (this.idle && !this.frozen && lsn > this.confirmed) {
      this.confirmed = lsn;
      this.deps.confirm(lsn);
    }
  }
}

function sameKey(m: TableMapping, a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  for (const i of m.keyIndexes) {
    const f = m.fields[i] as string;
    const x = a[f];
    const y = b[f];
    if (Buffer.isBuffer(x) && Buffer.isBuffer(y) ? !x.equals(y) : x !== y) return false;
  }
  return true;
}
