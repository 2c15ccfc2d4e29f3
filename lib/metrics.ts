// The one catalogue of datamesh metrics (docs/metrics.md lists every one): a process-wide prom-client
// registry, each metric defined here once with its labels, the Node process metrics, and the Kafka client's
// own metrics (lib/kafka/config.ts hands `kafkaClientMetrics` to every client). Roles increment counters where
// things happen; what is state rather than an event (a source's lag, a view's parked count) is read from the
// roles' status objects when scraped, through `onScrape` collectors, so it cannot drift from what the JSON
// routes say. Names follow Prometheus conventions: `mesh_` prefix, base units (`_seconds`, `_bytes`),
// counters end in `_total`.
import client from "prom-client";
import { SeriesHistogram } from "./series-histogram.ts";

export const metricsRegistry = new client.Registry();
client.collectDefaultMetrics({ register: metricsRegistry });

/** What @platformatic/kafka takes to publish its own metrics (kafka_produced_messages, ...) in ours. */
export const kafkaClientMetrics = { registry: metricsRegistry, client };

/** Latency buckets in seconds, 1 ms to 10 s (HTTP answers, produce requests, view batches). */
const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]): client.Counter<L> =>
  new client.Counter({ name, help, labelNames, registers: [metricsRegistry] });
const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]): client.Gauge<L> =>
  new client.Gauge({ name, help, labelNames, registers: [metricsRegistry] });
const histogram = <L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[],
): client.Histogram<L> =>
  new client.Histogram({ name, help, labelNames, buckets: latencyBuckets, registers: [metricsRegistry] });

/** Gauges set only by scrape collectors: cleared before each scrape, so a removed source or view drops out. */
const scraped: client.Gauge[] = [];
const scrapedGauge = <L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[],
): client.Gauge<L> => {
  const g = gauge(name, help, labelNames);
  scraped.push(g);
  return g;
};

export const metrics = {
  // ---- every HTTP server (lib/http/metrics.ts) ----
  // Observed on every request: counts kept per series, built into buckets when scraped (series-histogram.ts).
  httpDuration: new SeriesHistogram({
    name: "mesh_http_request_duration_seconds",
    help: "HTTP requests by server (api, registry, materializer), method, route template and status, and how long each took to answer",
    labelNames: ["server", "method", "route", "status"],
    buckets: latencyBuckets,
    registry: metricsRegistry,
  }),
  sseSubscribers: gauge(
    "mesh_sse_subscribers",
    "Open server-sent event streams by server and route (topic tails, view change streams)",
    ["server", "route"],
  ),
  errors: counter(
    "mesh_errors_total",
    "Failures by MESH_* code and where they happened: an HTTP server's error answers (api, registry, materializer), a source's connector (source), a view (view)",
    ["where", "code"],
  ),
  // ---- Kafka (lib/kafka) ----
  produceDuration: histogram(
    "mesh_kafka_produce_duration_seconds",
    "Produce requests from sending to Kafka's acknowledgement (acks=all), by client id",
    ["client"],
  ),
  // ---- connectors ----
  sourceEventsWritten: counter(
    "mesh_source_events_written_total",
    "Change events a connector read from its source's log or snapshot and wrote to the table's topic, by source and table",
    ["source", "table"],
  ),
  sourceTransactions: counter(
    "mesh_source_transactions_acked_total",
    "Source transactions whose every event Kafka acknowledged, by source",
    ["source"],
  ),
  sourceState: scrapedGauge(
    "mesh_source_state",
    "1 for the state each source's connector in this process is in (starting, snapshotting, streaming, paused, failed)",
    ["source", "state"],
  ),
  sourceLagBytes: scrapedGauge(
    "mesh_source_lag_bytes",
    "Bytes of the source's log (WAL, binlog) between its current position and the position confirmed to it",
    ["source"],
  ),
  sourceLagSeconds: scrapedGauge(
    "mesh_source_lag_seconds",
    "Seconds since the commit of the last source transaction Kafka acknowledged (0 when the source is idle)",
    ["source"],
  ),
  snapshotRowsDone: scrapedGauge(
    "mesh_source_snapshot_rows",
    "Rows of the running snapshot written so far, by source, table and phase (initial, incremental)",
    ["source", "table", "phase"],
  ),
  snapshotRowsEstimated: scrapedGauge(
    "mesh_source_snapshot_rows_estimated",
    "The catalogue's row estimate of the table being snapshotted, by source, table and phase",
    ["source", "table", "phase"],
  ),
  // ---- readers of the topics (materializer, SSE) ----
  eventsRead: counter(
    "mesh_events_read_total",
    "Change events read from a table's topic, by source, table and reader (view:<name>; sse: sent to the API's SSE subscribers, once per subscriber)",
    ["source", "table", "reader"],
  ),
  // ---- views (materializer) ----
  viewChangesApplied: counter(
    "mesh_view_changes_applied_total",
    "Input changes applied to a view's state (its apply rate), by view",
    ["view"],
  ),
  viewApplyDuration: histogram(
    "mesh_view_apply_duration_seconds",
    "How long one apply batch (whole transactions, with their stored positions) took to write, by view",
    ["view"],
  ),
  viewState: scrapedGauge(
    "mesh_view_state",
    "1 for the state each view in this process is in (waiting, backfilling, ready, failed, stopped)",
    ["view", "state"],
  ),
  viewLagSeconds: scrapedGauge(
    "mesh_view_lag_seconds",
    "Age of the oldest change a view has read but not applied yet (0 when caught up)",
    ["view"],
  ),
  viewParked: scrapedGauge(
    "mesh_view_parked_records",
    "Records a view could not apply and parked (GET /v1/views/{name} lists them)",
    ["view"],
  ),
  viewRows: scrapedGauge("mesh_view_rows", "Rows in a view", ["view"]),
  viewBackfill: scrapedGauge(
    "mesh_view_backfill_progress_ratio",
    "Fraction (0..1) of the input that existed when a view started which it has applied",
    ["view"],
  ),
};

/** Sets scraped gauges from a role's live state; runs before every scrape. */
export type Collector = () => void;
const collectors = new Set<Collector>();

/** Adds a collector; the returned function removes it (a role that stops). */
export function onScrape(collect: Collector): () => void {
  collectors.add(collect);
  return () => collectors.delete(collect);
}

/** The registry's text in the Prometheus exposition format, the scraped gauges fresh. */
export async function scrapeMetrics(): Promise<string> {
  for (const g of scraped) g.reset();
  for (const collect of collectors) collect();
  return metricsRegistry.metrics();
}

export const METRICS_CONTENT_TYPE = metricsRegistry.contentType;

/** Counts a failure of `where` (an HTTP server's name, `source`, `view`) by its MESH code. */
export function countError(where: string, code: string | number): void {
  metrics.errors.inc({ where, code: String(code) });
}
