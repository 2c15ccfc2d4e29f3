// A streaming session's heartbeat, every `intervalMs`: a heartbeat event to Kafka (with the confirmed
// position), a record of the backend's own in the log (so the position moves while captured tables are
// idle and the database is busy elsewhere, and retained log stays small), the confirmed position to the
// server again, and the lag figures of the status.
import type { Clock } from "../../lib/clock.ts";
import type { Logger } from "../../lib/logger.ts";
import type { EventWriter } from "../../protocol/event-writer.ts";
import type { BackendSession, PositionCodec } from "./backend.ts";
import type { ChangeWriter } from "./change-writer.ts";
import type { SourceStatus } from "./contract.ts";

export interface HeartbeatOptions<P> {
  session: Pick<BackendSession<P>, "heartbeat" | "lag">;
  positions: PositionCodec<P>;
  intervalMs: number;
  writer: EventWriter;
  changes: ChangeWriter<P>;
  confirm: (position: P) => Promise<void>;
  status: SourceStatus;
  logger: Logger;
  source: string;
  clock: Clock;
  /** No beat once the session is ending. */
  ending: () => boolean;
}

/** Starts beating; returns the function that stops it. */
export function startHeartbeat<P>(o: HeartbeatOptions<P>): () => void {
  let beating = false;
  const beat = async (): Promise<void> => {
    if (o.ending() || beating) return;
    beating = true;
    try {
      const confirmed = o.changes.confirmed;
      const lsn = confirmed === null ? null : o.positions.coordinates(confirmed).lsn;
      o.writer.writeHeartbeat(BigInt(o.clock.now()), lsn);
      // A log record we will receive: once everything before it is acknowledged, the position moves past it.
      await o.session.heartbeat();
      if (confirmed !== null) await o.confirm(confirmed);
      await measureLag();
    } catch (err) {
      o.logger.warn({ err, source: o.source }, "heartbeat failed");
    } finally {
      beating = false;
    }
  };
  const measureLag = async (): Promise<void> => {
    o.status.lagBytes = await o.session.lag(o.changes.confirmed);
    const pendingSince = o.changes.oldestPendingCommitMicros;
    o.status.lagSeconds =
      pendingSince === null ? 0 : Math.max(0, o.clock.now() / 1000 - Number(pendingSince) / 1e6);
  };
  // Lag is known from the start of streaming, not only after the first beat (an interval away).
  void measureLag().catch((err: unknown) =>
    o.logger.warn({ err, source: o.source }, "lag measurement failed"),
  );
  const tick = setInterval(() => void beat(), o.intervalMs);
  return () => clearInterval(tick);
}
