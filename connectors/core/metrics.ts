// Owns what the connectors publish to the process's metrics (lib/metrics.ts): each connector made in this
// process (`mesh connect`, the API's placed connectors) is tracked by source name, and its status — state,
// lag, snapshot progress — is read when the metrics are scraped, so the figures are the ones
// GET /v1/sources/{name} shows. Counters (events written, transactions acknowledged) are incremented where
// they happen (session.ts).
import { metrics, onScrape } from "../../lib/metrics.ts";
import type { Connector } from "./contract.ts";

/** The latest connector made for each source name (a re-created source replaces its predecessor). */
const tracked = new Map<string, Connector>();

onScrape(() => {
  for (const [source, connector] of tracked) {
    const status = connector.status();
    // A stopped connector (its source removed, moved to another process, or this one draining) is not ours.
    if (status.state === "stopped") continue;
    metrics.sourceState.set({ source, state: status.state }, 1);
    if (status.lagBytes !== null) metrics.sourceLagBytes.set({ source }, status.lagBytes);
    if (status.lagSeconds !== null) metrics.sourceLagSeconds.set({ source }, status.lagSeconds);
    const p = status.progress;
    if (p) {
      const labels = { source, table: p.table ?? "", phase: p.phase };
      metrics.snapshotRowsDone.set(labels, p.rowsDone);
      metrics.snapshotRowsEstimated.set(labels, p.rowsEstimated);
    }
  }
});

export function trackConnector(source: string, connector: Connector): Connector {
  tracked.set(source, connector);
  return connector;
}

export function countEventsWritten(source: string, table: string, n: number): void {
  metrics.sourceEventsWritten.inc({ source, table }, n);
}

export function countTransactionAcked(source: string): void {
  metrics.sourceTransactions.inc({ source });
}
