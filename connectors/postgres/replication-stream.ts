// The replication socket: pg-logical-replication's LogicalReplicationService carries the copy stream;
// this file adds what a lossless connector needs on top of it: our own pgoutput decoder, keepalives
// delivered in stream order with the data, no automatic acknowledgements (the connector confirms an LSN
// only after Kafka acknowledged everything before it), and socket-level backpressure.
import { LogicalReplicationService } from "pg-logical-replication";
import type pg from "pg";
import { SESSION_OPTIONS } from "./catalog.ts";
import { formatLsn, parseLsn } from "./lsn.ts";
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

/** The subset of LogicalReplicationService internals used for backpressure (it pauses the same way). */
interface Internals {
  _connection?: { stream?: { pause?: () => void; resume?: () => void } } | null;
}

export class ReplicationStream {
  private readonly service: LogicalReplicationService;
  private readonly options: ReplicationStreamOptions;
  private readonly decoder = new PgoutputDecoder();
  private stopping = false;

  constructor(options: ReplicationStreamOptions) {
    this.options = options;
    const config: pg.ClientConfig = { connectionString: options.url, options: SESSION_OPTIONS };
    // timeoutSeconds 0: the library would otherwise acknowledge the last *received* LSN every 10 s.
    this.service = new LogicalReplicationService(config, { acknowledge: { auto: false, timeoutSeconds: 0 } });
    this.service.on("data", (lsn: string, msg: PgMessage) =>
      options.onItem({ kind: "data", lsn: parseLsn(lsn), msg }),
    );
    this.service.on("heartbeat", (lsn: string, _ts: number, shouldRespond: boolean) =>
      options.onItem({ kind: "keepalive", walEnd: parseLsn(lsn), shouldRespond }),
    );
    this.service.on("error", (err: Error) => {
      if (!this.stopping) options.onClose(err);
    });
  }

  /**
   * Starts streaming at `from` (or the slot's confirmed position, whichever is later: the server never goes
   * back before it); resolves once the server started sending. The server skips every transaction whose
   * commit record starts before `from`, so a position stored with Kafka (exactly-once) is honoured even when
   * the slot did not hear of it before a crash.
   */
  async start(from = 0n): Promise<void> {
    const decoder = this.decoder;
    const publication = this.options.publication.replace(/'/g, "''");
    const plugin = {
      options: {},
      name: "pgoutput",
      parse: (buf: Buffer) => decoder.decode(buf),
      // protocol 1 sends each transaction whole at commit; `messages` carries pg_logical_emit_message.
      start: (client: pg.Client, slot: string) =>
        client.query(
          `START_REPLICATION SLOT "${slot}" LOGICAL ${formatLsn(from)} (proto_version '1', publication_names '${publication}', messages 'true')`,
        ),
    };
    const started = new Promise<void>((resolve) => this.service.once("start", () => resolve()));
    const running = this.service.subscribe(plugin, this.options.slot);
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

  /** Tells the server everything before `lsn` is durably handled (a standby status update, flush = lsn). */
  async confirm(lsn: bigint, ping = false): Promise<void> {
    if (lsn <= 0n || this.stopping) return;
    // The library reports lsn + 1; the server skips a commit whose record starts before the flush position,
    // and another transaction's commit may start exactly at our last commit's end, so report exactly `lsn`.
    await this.service.acknowledge(formatLsn(lsn - 1n), ping);
  }

  pause(): void {
    (this.service as unknown as Internals)._connection?.stream?.pause?.();
  }

  resume(): void {
    (this.service as unknown as Internals)._connection?.stream?.resume?.();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.service.destroy().catch(() => undefined);
  }
}
