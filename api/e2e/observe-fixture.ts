// What the observability and console tests share: a registry, an API with an embedded view engine on a
// catalog of its own, and a fresh Postgres database with an `items` table (5 rows) — everything in this test
// process on the real stack — plus scraping /metrics. Not a test file.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { silentLogger } from "../../lib/logger.ts";
import { parseMetrics, metricValue, type Sample } from "../../lib/metrics-text.ts";
import { startMaterializer } from "../../materializer/main.ts";
import type { RunningRegistry } from "../../registry/server.ts";
import { createPgDatabase, kafkaConnection } from "../../test/support/stack.ts";
import type { RunningApi } from "../service.ts";
import { startTestApi, startTestRegistry, testCatalogTopic } from "./harness.ts";
import { authHeaders, TEST_ADMIN_TOKEN } from "../../test/support/auth.ts";

export interface ObserveFixture {
  registry: RunningRegistry;
  api: RunningApi;
  db: { url: string; sql: (text: string) => Promise<pg.QueryResult> };
  stop(): Promise<void>;
}

export async function startObserveFixture(prefix: string): Promise<ObserveFixture> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const registry = await startTestRegistry();
    stops.push(() => registry.stop());
    const dataDir = mkdtempSync(join(tmpdir(), `mesh-${prefix}-`));
    const materializer = await startMaterializer(
      {
        adminToken: TEST_ADMIN_TOKEN,
        ...kafkaConnection(),
        registryUrl: registry.url,
        dataDir,
        views: [],
        logLevel: "silent",
      },
      silentLogger(),
    );
    stops.push(async () => {
      await materializer.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });
    const api = await startTestApi(registry.url, testCatalogTopic(), materializer.engine);
    // Stopped before the materializer (stops run in reverse).
    stops.push(() => api.stop());
    const created = await createPgDatabase(prefix);
    const client = new pg.Client({ connectionString: created.url });
    await client.connect();
    stops.splice(0, 0, async () => {
      await client.end();
      await created.drop();
    });
    await client.query(
      `CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, price numeric(10,2) NOT NULL);
       INSERT INTO items SELECT g, 'item ' || g, g * 1.25 FROM generate_series(1, 5) g`,
    );
    return { registry, api, db: { url: created.url, sql: (text) => client.query(text) }, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** GET <base>/metrics, parsed. */
export async function scrape(base: string): Promise<Sample[]> {
  const res = await fetch(`${base}/metrics`, { headers: authHeaders() });
  if (res.status !== 200) throw new Error(`${base}/metrics answered ${res.status}`);
  return parseMetrics(await res.text());
}

/** How much a metric (summed over the series under `labels`) moved between two scrapes. */
export function moved(
  before: Sample[],
  after: Sample[],
  name: string,
  labels: Record<string, string>,
): number {
  return (metricValue(after, name, labels) ?? 0) - (metricValue(before, name, labels) ?? 0);
}
