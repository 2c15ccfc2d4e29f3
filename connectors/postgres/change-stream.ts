// The Postgres change stream (core/backend.ts `ChangeStream<bigint>`): items from the replication socket
// (replication-stream.ts) are queued in stream order and turned into the runtime's events in batches:
// relations into table versions (types and the real primary key from the catalogue), tuples into rows (with
// unchanged TOAST values read back), our heartbeat and watermark messages into `progress` and `watermark`.
// The socket is paused while too many items wait and resumed once the queue is short again, so memory stays
// bounded however fast the server sends.
import type { ChangeStream, Row, SourceTable, StreamEvent } from "../core/backend.ts";
import type { PgMessage, Relation, Tuple } from "./pgoutput.ts";
import { ReplicationStream, type StreamItem } from "./replication-stream.ts";
import { connectionLost } from "./session-connections.ts";
import { rowOfTuple, transactionId, tupleToRow, type TableMapping } from "./row-mapping.ts";

export const HEARTBEAT_PREFIX = "datamesh.heartbeat";
export const WATERMARK_PREFIX = "datamesh.watermark";

const QUEUE_HIGH = 20_000;
const QUEUE_LOW = 2_000;
/** Items turned into one batch at most (the runtime waits for the producer's capacity once per batch). */
const BATCH_ITEMS = 2_000;

export interface PgChangeStreamOptions {
  url: string;
  slot: string;
  publication: string;
  /** The slot's confirmed position: keepalive replies carry it until the runtime confirms another. */
  confirmed: bigint;
  /** Where to start (the runtime's stored position; the server starts at the slot's if that is later). */
  from: bigint;
  /** A relation's table version (registers nothing: the runtime does, on the `schema` event). */
  mapRelation: (relation: Relation) => Promise<TableMapping>;
  /** Current values (text) of `columns` (positions) of the row with this key, or null if gone. */
  fetchColumns: (
    mapping: TableMapping,
    keyText: (string | null)[],
    columns: number[],
  ) => Promise<(string | null)[] | null>;
}

type Item = StreamItem;

export class PgChangeStream implements ChangeStream<bigint> {
  readonly #o: PgChangeStreamOptions;
  readonly #stream: ReplicationStream;
  readonly #mappings = new Map<number, TableMapping>();
  #queue: Item[] = [];
  #head = 0;
  #socketPaused = false;
  #failure: Error | null = null;
  #closed = false;
  #wake: (() => void) | null = null;
  #confirmed: bigint;

  constructor(options: PgChangeStreamOptions) {
    this.#o = options;
    this.#confirmed = options.confirmed;
    this.#stream = new ReplicationStream({
      url: options.url,
      slot: options.slot,
      publication: options.publication,
      onItem: (item) => {
        this.#queue.push(item);
        if (!this.#socketPaused && this.#queue.length - this.#head > QUEUE_HIGH) {
          this.#socketPaused = true;
          this.#stream.pause();
        }
        this.#notify();
      },
      onClose: (err) => {
        // The server ended the replication connection (restart, pg_terminate_backend): retryable.
        this.#failure ??= connectionLost(err ?? new Error("the replication stream closed"));
        this.#notify();
      },
    });
  }

  /** Starts streaming from the slot's confirmed position; resolves once the server started sending. */
  start(): Promise<void> {
    return this.#stream.start(this.#o.from);
  }

  async confirm(position: bigint): Promise<void> {
    if (position > this.#confirmed) this.#confirmed = position;
    await this.#stream.confirm(position);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#notify();
    await this.#stream.stop();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<readonly StreamEvent<bigint>[]> {
    for (;;) {
      while (this.#head === this.#queue.length && !this.#failure && !this.#closed)
        await new Promise<void>((r) => (this.#wake = r));
      if (this.#closed) return;
      if (this.#head === this.#queue.length && this.#failure) throw this.#failure;
      const batch: StreamEvent<bigint>[] = [];
      const end = Math.min(this.#queue.length, this.#head + BATCH_ITEMS);
      while (this.#head < end) {
        const item = this.#queue[this.#head++] as Item;
        if (item.kind === "keepalive") {
          batch.push({ kind: "progress", position: item.walEnd });
          if (item.shouldRespond) void this.#stream.confirm(this.#confirmed).catch(() => undefined);
          continue;
        }
        const ev = this.#convert(item.lsn, item.msg);
        if (ev === null) continue;
        if (ev instanceof Promise) batch.push(...(await ev));
        else batch.push(ev);
      }
      this.#compact();
      yield batch;
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /** Drops handled items now and then (one long transaction would otherwise keep every item alive). */
  #compact(): void {
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head >= 4096 && this.#head * 2 >= this.#queue.length) {
      this.#queue.splice(0, this.#head);
      this.#head = 0;
    }
    if (this.#socketPaused && this.#queue.length - this.#head < QUEUE_LOW) {
      this.#socketPaused = false;
      this.#stream.resume();
    }
  }

  #convert(lsn: bigint, msg: PgMessage): StreamEvent<bigint> | Promise<StreamEvent<bigint>[]> | null {
    switch (msg.tag) {
      case "begin":
        return {
          kind: "begin",
          id: transactionId(msg.xid, msg.finalLsn),
          txId: BigInt(msg.xid),
          commitMicros: msg.commitTime,
          position: lsn,
        };
      case "commit":
        return { kind: "commit", position: msg.endLsn };
      case "relation":
        return this.#o.mapRelation(msg.relation).then((table) => {
          this.#mappings.set(msg.relation.oid, table);
          return [{ kind: "schema", table }];
        });
      case "insert":
        return this.#change(lsn, msg.relation, "c", null, false, msg.after);
      case "update":
        return this.#change(lsn, msg.relation, "u", msg.before, msg.beforeIsKey, msg.after);
      case "delete":
        return this.#change(lsn, msg.relation, "d", msg.before, msg.beforeIsKey, null);
      case "truncate": {
        const tables: SourceTable[] = [];
        for (const rel of msg.relations) {
          const m = this.#mappings.get(rel.oid);
          if (m) tables.push(m);
        }
        return { kind: "truncate", tables, position: lsn };
      }
      case "message":
        if (!msg.transactional && msg.prefix === HEARTBEAT_PREFIX)
          return { kind: "progress", position: msg.lsn };
        if (!msg.transactional && msg.prefix === WATERMARK_PREFIX) {
          const [chunk = "", edge] = msg.content.toString("utf8").split("|");
          return { kind: "watermark", chunk, edge: edge === "low" ? "low" : "high", position: msg.lsn };
        }
        return {
          kind: "message",
          prefix: msg.prefix,
          content: msg.content,
          transactional: msg.transactional,
          position: msg.lsn,
        };
      default:
        return null;
    }
  }

  #change(
    lsn: bigint,
    relation: Relation,
    op: "c" | "u" | "d",
    beforeTuple: Tuple | null,
    beforeIsKey: boolean,
    afterTuple: Tuple | null,
  ): StreamEvent<bigint> | Promise<StreamEvent<bigint>[]> {
    const m = this.#mappings.get(relation.oid);
    // pgoutput sends a Relation before a table's first change on every connection: this is a protocol error.
    if (!m) throw new RangeError(`pgoutput: change for relation ${relation.oid} before its Relation message`);
    const before = beforeTuple ? (rowOfTuple(m, beforeTuple) ?? tupleToRow(m, beforeTuple).row) : null;
    if (!afterTuple) return { kind: "change", table: m, op, before, after: null, position: lsn };
    const whole = rowOfTuple(m, afterTuple);
    if (whole) return { kind: "change", table: m, op, before, after: whole, position: lsn };
    // Unchanged TOAST: REPLICA IDENTITY FULL gives the old value in the before tuple; otherwise read it.
    const res = tupleToRow(m, afterTuple, beforeIsKey ? null : beforeTuple);
    const event = { kind: "change", table: m, op, before, after: res.row, position: lsn } as const;
    if (res.missing.length === 0) return event;
    return this.#fillToast(m, afterTuple, res.missing, res.row).then(() => [event]);
  }

  async #fillToast(m: TableMapping, tuple: Tuple, missing: number[], row: Row): Promise<void> {
    const keyText = m.keyIndexes.map((i) => (typeof tuple[i] === "string" ? tuple[i] : null));
    const values = m.keyIndexes.length > 0 ? await this.#o.fetchColumns(m, keyText, missing) : null;
    missing.forEach((col, j) => {
      const v = values?.[j];
      const field = m.fields[col] as string;
      row[field] =
        v === null || v === undefined
          ? null
          : (m.types[col] as { fromText: (t: string) => unknown }).fromText(v);
    });
  }
}
