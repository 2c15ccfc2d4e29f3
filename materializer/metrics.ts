// Owns what the materializer publishes to the process's metrics (lib/metrics.ts): per view, the input events
// it read by source and table, the changes it applied and how long each apply batch took (counted where they
// happen: kafka/view-apply.ts), and — read from the engine's status when scraped, so the figures are the ones
// GET /v1/views/{name} shows — its state, lag, parked records, rows and backfill progress.
import { countError, metrics, onScrape } from "../lib/metrics.ts";
import { parseTableTopic } from "../protocol/topics.ts";
import type { ViewInfo } from "./contract.ts";

/** Publishes the status of every view of `engine` on each scrape; the returned function stops it. */
export function trackViews(engine: { listViews(): ViewInfo[] }): () => void {
  return onScrape(() => {
    for (const { name: view, status } of engine.listViews()) {
      metrics.viewState.set({ view, state: status.state }, 1);
      metrics.viewLagSeconds.set({ view }, status.lagMs / 1000);
      metrics.viewParked.set({ view }, status.parked.length);
      metrics.viewRows.set({ view }, status.rows);
      metrics.viewBackfill.set({ view }, status.progress);
    }
  });
}

/** Input events of one apply call, counted per topic (the topic names source and table). */
export function countEventsRead(view: string, topics: Iterable<string>): void {
  const counts = new Map<string, number>();
  for (const topic of topics) counts.set(topic, (counts.get(topic) ?? 0) + 1);
  for (const [topic, n] of counts) {
    const t = parseTableTopic(topic);
    const labels = t
      ? { source: t.source, table: `${t.schema}.${t.table}`, reader: `view:${view}` }
      : { source: "", table: topic, reader: `view:${view}` };
    metrics.eventsRead.inc(labels, n);
  }
}

/** Times one apply batch of `view` and counts the changes it applied. */
export async function timedApply<T>(view: string, changes: number, apply: () => Promise<T>): Promise<T> {
  const end = metrics.viewApplyDuration.startTimer({ view });
  const out = await apply();
  end();
  if (changes > 0) metrics.viewChangesApplied.inc({ view }, changes);
  return out;
}

export function countViewFailure(code: string): void {
  countError("view", code);
}
