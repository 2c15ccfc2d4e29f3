// A child-process entry for measuring the initial snapshot's memory (snapshot-memory.pg.test.ts and by
// hand): runs one connector with a private registry over an existing table until the snapshot is done,
// sampling process.memoryUsage() every 20 ms, and prints one JSON line {rows, secs, peakRss, peakHeap,
// baseRss, baseHeap}. A separate process, so the test runner's own heap does not blur the figures.
//   node --expose-gc connectors/postgres/snapshot-memory-probe.ts <pg-url> <brokers> <schema.table> [chunkRows]
// Kafka's SASL login comes from MESH_KAFKA_SASL_* in the environment.
// (--expose-gc adds peakLiveHeap: heapUsed right after a forced full GC every 0.2 s, i.e. what is retained.)
import { kafkaSaslFromEnv, type KafkaSasl } from "../../lib/kafka/index.ts";
import { createConnector, shortId, sourceDef, startHarness } from "./test-harness.ts";

export interface ProbeResult {
  /** The source name (its table topic is `<source>.<schema>.<table>`). */
  source: string;
  rows: number;
  secs: number;
  peakRss: number;
  peakHeap: number;
  peakExternal: number;
  /** Peak heapUsed right after a forced full GC (only with --expose-gc): the live set, not lazy garbage. */
  peakLiveHeap: number | null;
  /** Peak `external` (Buffers' memory outside the heap) right after the same forced GCs: what is retained. */
  peakLiveExternal: number | null;
  baseRss: number;
  baseHeap: number;
}

async function probe(
  url: string,
  kafkaAt: { brokers: string[]; sasl?: KafkaSasl },
  table: string,
  chunkRows: number,
): Promise<ProbeResult> {
  const harness = await startHarness(kafkaAt);
  const source = shortId("memprobe");
  const connector = createConnector(
    sourceDef(source, url, [table]),
    harness.deps({ snapshotChunkRows: chunkRows }),
  );
  // The baseline is taken with Kafka, the registry and the pg driver loaded, so the peak above it is what
  // the snapshot itself costs.
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakHeap = base.heapUsed;
  let peakExternal = base.external;
  let peakLiveHeap: number | null = null;
  let peakLiveExternal: number | null = null;
  let ticks = 0;
  const gc = (globalThis as { gc?: () => void }).gc;
  const sample = (): void => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakExternal = Math.max(peakExternal, m.external);
    if (gc && ++ticks % 10 === 0) {
      gc();
      const live = process.memoryUsage();
      peakLiveHeap = Math.max(peakLiveHeap ?? 0, live.heapUsed);
      peakLiveExternal = Math.max(peakLiveExternal ?? 0, live.external);
    }
  };
  const sampler = setInterval(sample, 20);
  const t0 = performance.now();
  try {
    await connector.start();
    while (connector.status().state !== "streaming") {
      const s = connector.status();
      if (s.state === "failed") throw new Error(`connector failed: ${JSON.stringify(s.error)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    sample();
    const secs = (performance.now() - t0) / 1000;
    const rows = connector.status().events[table] ?? 0;
    return {
      source,
      rows,
      secs,
      peakRss,
      peakHeap,
      peakExternal,
      peakLiveHeap,
      peakLiveExternal,
      baseRss: base.rss,
      baseHeap: base.heapUsed,
    };
  } finally {
    clearInterval(sampler);
    await connector.stop();
    await harness.stop();
  }
}

if (import.meta.main) {
  const [url, brokers, table, chunk] = process.argv.slice(2);
  if (!url || !brokers || !table) {
    console.error("usage: snapshot-memory-probe.ts <pg-url> <brokers> <schema.table> [chunkRows]");
    process.exit(2);
  }
  const sasl = kafkaSaslFromEnv(process.env);
  const result = await probe(
    url,
    { brokers: brokers.split(","), ...(sasl ? { sasl } : {}) },
    table,
    Number(chunk ?? 10_000),
  );
  console.log(JSON.stringify(result));
  // pg may keep timers alive after a clean stop.
  process.exit(0);
}
