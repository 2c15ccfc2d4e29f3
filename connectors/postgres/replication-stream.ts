// The replication socket: a `pg` connection in replication mode carrying the copy stream of
// START_REPLICATION, with what a lossless connector needs on top of it: our own pgoutput decoder, keepalives
// delivered in stream order with the data, no automatic acknowledgements (the connector confirms an LSN only
// after Kafka acknowledged everything before it), and socket-level backpressure.
//
// The copy stream is read here rather than through pg-logical-replication's service: that service formats
// every message's LSN as text and emits it through an event emitter (the connector then parsed the text back
// into a bigint), about a microsecond per row of a large transaction; here the LSN is read as a bigint and
// each message is decoded in place.
import pg from "pg";
import { SESSION_OPTIONS } from "./catalog.ts";
import { formatLsn } from "./lsn.ts";
import { PgoutputDecoder, type PgMessage } from "./pgoutput.ts";

export type StreamItem =
  | { kind: "data"; lsn: bigint; msg: PgMessage }
  | { kind: "keepalive"; walEnd: bigint; shouldRespond: boolean };

export interface ReplicationStreamOptions {
  url: string;
  slot: string;
  publication: string;
  /** Items in stream order; called synchronously from the socket. */
  onItem: (item: StreamItem) => void;
  /** The stream ended or failed; not called after stop(). */
  onClose: (err: Error | null) => void;
}

/** The parts of pg's Connection (not in its typings) that carry the copy stream. */
interface CopyConnection {
  stream: { pause(): void; resume(): void };
  on(event: "copyData", listener: (msg: { chunk: Buffer }) => void): void;
  once(event: "replicationStart", listener: () => void): void;
  sendCopyFromChunk(chunk: Buffer): void;
}

/** Byte tags of the copy stream's messages (protocol-replication.html). */
const XLOG_DATA = 0x77; // 'w': start LSN, end LSN, send time, then one pgoutput message
const KEEPALIVE = 0x6b; // 'k': WAL end, send time, reply requested
const XLOG_DATA_HEADER = 25;
/** Milliseconds between the Unix and the Postgres (2000-01-01) epochs. */
const PG_EPOCH_MS = 946_684_800_000;

export class ReplicationStream {
  private readonly options: ReplicationStreamOptions;
  private readonly decoder = new PgoutputDecoder();
  private client: pg.Client | null = null;
  private connection: CopyConnection | null = null;
  private stopping = false;
  /** In copy mode (standby status updates may be sent). */
  private streaming = false;

  constructor(options: ReplicationStreamOptions) {
    this.options = options;
  }

  /**
   * Starts streaming at `from` (or the slot's confirmed position, whichever is later: the server never goes
   * back before it); resolves once the server started sending. The server skips every transaction whose
   * commit record starts before `from`, so a position stored with Kafka (exactly-once) is honoured even when
   * the slot did not hear of it before a crash.
   */
  async start(from = 0n): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.url,
      options: SESSION_OPTIONS,
      replication: "database",
    } as pg.ClientConfig);
    this.client = client;
    client.on("error", (err: Error) => {
      if (!this.stopping) this.options.onClose(err);
    });
    await client.connect();
    const connection = (client as unknown as { connection: CopyConnection }).connection;
    this.connection = connection;
    connection.on("copyData", (msg) => this.onCopyData(msg.chunk));
    const started = new Promise<void>((resolve) =>
      connection.once("replicationStart", () => {
        this.streaming = true;
        resolve();
      }),
    );
    const publication = this.options.publication.replace(/'/g, "''");
    const slot = this.options.slot.replace(/"/g, '""');
    // protocol 1 sends each transaction whole at commit; `messages` carries pg_logical_emit_message.
    const running = client.query(
      `START_REPLICATION SLOT "${slot}" LOGICAL ${formatLsn(from)} (proto_version '1', publication_names '${publication}', messages 'true')`,
    );
    running.then(
      () => {
        if (!this.stopping) this.options.onClose(new Error("the replication stream ended"));
      },
      (err: unknown) => {
        if (!this.stopping) this.options.onClose(err instanceof Error ? err : new Error(String(err)));
      },
    );
    await Promise.race([started, running.then(() => undefined)]);
  }

  private onCopyData(chunk: Buffer): void {
    const tag = chunk[0];
    if (tag === XLOG_DATA) {
      const lsn = chunk.readBigUInt64BE(1);
      this.options.onItem({ kind: "data", lsn, msg: this.decoder.decode(chunk, XLOG_DATA_HEADER) });
    } else if (tag === KEEPALIVE) {
      this.options.onItem({
        kind: "keepalive",
        walEnd: chunk.readBigUInt64BE(1),
        shouldRespond: chunk[17] !== 0,
      });
    }
  }

  /** Tells the server everything before `lsn` is durably handled (a standby status update, flush = lsn). */
  confirm(lsn: bigint, ping = false): Promise<void> {
    const connection = this.connection;
    if (lsn <= 0n || this.stopping || !this.streaming || !connection) return Promise.resolve();
    // Written, flushed and applied all at `lsn`: the server skips a commit whose record starts before the
    // flush position, and another transaction's commit may start exactly at our last commit's end.
    const update = Buffer.alloc(34);
    update[0] = 0x72; // 'r'
    update.writeBigUInt64BE(lsn, 1);
    update.writeBigUInt64BE(lsn, 9);
    update.writeBigUInt64BE(lsn, 17);
    update.writeBigInt64BE(BigInt(Date.now() - PG_EPOCH_MS) * 1000n, 25);
    update[33] = ping ? 1 : 0;
    connection.sendCopyFromChunk(update);
    return Promise.resolve();
  }

  pause(): void {
    this.connection?.stream.pause();
  }

  resume(): void {
    this.connection?.stream.resume();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const client = this.client;
    this.client = null;
    this.connection = null;
    this.streaming = false;
    await client?.end().catch(() => undefined);
  }
}
