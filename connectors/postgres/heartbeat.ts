// A streaming session's heartbeat, every `intervalMs`: a heartbeat event to Kafka, a WAL record of our own
// (so the slot moves while captured tables are idle and the database is busy elsewhere, and retained WAL
// stays small), a status update to the server, and the lag figures of the status.
import type pg from "pg";
import type { Logger } from "../../lib/logger.ts";
import type { EventWriter } from "../../protocol/event-writer.ts";
import type { SourceStatus } from "../core/change-source.ts";
import { slotLag } from "./slot.ts";
import { HEARTBEAT_PREFIX, type StreamProcessor } from "./stream-processor.ts";

export interface HeartbeatOptions {
  /** Its own connection: the main one may be busy with a TOAST fetch or a catalogue query. */
  client: pg.Client;
  slot: string;
  intervalMs: number;
  writer: EventWriter;
  processor: StreamProcessor;
  confirm: (lsn: bigint) => Promise<void>;
  status: SourceStatus;
  logger: Logger;
  source: string;
  /** No beat once the session is ending. */
  ending: () => boolean;
}

/** Starts beating; returns the function that stops it. */
export function startHeartbeat(o: HeartbeatOptions): () => void {
  let beating = false;
  const beat = async (): Promise<void> => {
    if (o.ending() || beating) return;
    beating = true;
    try {
      o.writer.writeHeartbeat(BigInt(Date.now()), o.processor.confirmed || null);
      // A WAL record we will receive: once everything before it is acknowledged, the slot moves past it.
      await o.client.query("SELECT pg_logical_emit_message(false, $1, '')", [HEARTBEAT_PREFIX]);
      await o.confirm(o.processor.confirmed);
      const lag = await slotLag(o.client, o.slot);
      o.status.lagBytes = lag?.lagBytes ?? null;
      const pendingSince = o.processor.oldestPendingCommitMicros;
      o.status.lagSeconds =
        pendingSince === null ? 0 : Math.max(0, Date.now() / 1000 - Number(pendingSince) / 1e6);
    } catch (err) {
      o.logger.warn({ err, source: o.source }, "heartbeat failed");
    } finally {
      beating = false;
    }
  };
  const tick = setInterval(() => void beat(), o.intervalMs);
  return () => clearInterval(tick);
}
