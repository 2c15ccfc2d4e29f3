// `npm run bench -- api`: the HTTP API over the real stack. View point lookups and 100-row pages per
// second and p99, beside a trivial fastify route served by the same process in the same run; and SSE
// fan-out of one topic to 100 subscribers at about 1k events/s (every event received, in order, and the
// p99 delay from the event's Kafka CreateTime to its arrival at the subscriber). Load generators and
// subscribers run in child processes (api-clients.ts) so they do not share the server's event loop.
// BENCH_API=http or BENCH_API=sse runs one part only.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import fastify from "fastify";
import pg from "pg";
import { LocalStack } from "../../deploy/local/stack.ts";
import { waitFor } from "../../lib/clock.ts";
import { silentLogger } from "../../lib/logger.ts";
import { startMaterializer } from "../../materializer/main.ts";
import { startRegistry } from "../../registry/server.ts";
import { parseApiConfig } from "../../api/config.ts";
import { startApi } from "../../api/service.ts";
import { child, percentile, type LoadResult, type SseResult } from "./api-clients.ts";
import { TEST_ADMIN_TOKEN } from "../support/auth.ts";
import { authHeaders } from "../support/auth.ts";
import { benchKafka, benchKafkaEnv } from "./kafka-connection.ts";

const seconds = 5;
const connections = 10;
const subscribers = 100;
/** Subscribers are spread over this many client processes, so parsing 100k events/s is not one core's job. */
const clientProcesses = 4;
const eventsPerSecond = 1000;
const fanoutSeconds = 5;
const parts = new Set((process.env.BENCH_API ?? "http,sse").split(","));

const until = (what: string, probe: () => Promise<boolean>): Promise<unknown> =>
  waitFor(probe, { what: `the bench's ${what}`, timeoutMs: 120_000, intervalMs: 250 });

export async function run(): Promise<void> {
  const env = (await new LocalStack().up(), new LocalStack().env());
  // This stack's Kafka and login, also in process.env for the SSE client processes.
  const kafkaAt = benchKafka();
  const brokers = kafkaAt.brokers;
  const tag = `b${Date.now().toString(36)}`;
  const dataDir = mkdtempSync(join(tmpdir(), "mesh-bench-"));
  const admin = new pg.Client({ connectionString: env.MESH_PG_URL });
  await admin.connect();
  const dbs = [`${tag}_customers`, `${tag}_orders`];
  for (const db of dbs) await admin.query(`CREATE DATABASE ${db}`);
  const dbUrl = (db: string): string =>
    Object.assign(new URL(env.MESH_PG_URL), { pathname: `/${db}` }).toString();
  const customers = new pg.Client({ connectionString: dbUrl(dbs[0]!) });
  const orders = new pg.Client({ connectionString: dbUrl(dbs[1]!) });
  await customers.connect();
  await orders.connect();
  await customers.query(`CREATE TABLE customers (id bigint PRIMARY KEY, name text, region text);
    INSERT INTO customers SELECT i, 'c' || i, (ARRAY['eu','us','apac'])[1 + i % 3] FROM generate_series(1, 1000) i`);
  await orders.query(`CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, status text, total numeric(12,2));
    INSERT INTO orders SELECT i, 1 + i % 1000, 'new', i * 1.25 FROM generate_series(1, 10000) i;
    CREATE TABLE ticks (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())`);

  const registry = await startRegistry({
    adminToken: TEST_ADMIN_TOKEN,
    ...kafkaAt,
    port: 0,
    topic: `_schemas_${tag}`,
    logger: silentLogger(),
  });
  const materializer = await startMaterializer(
    {
      ...kafkaAt,
      registryUrl: registry.url,
      dataDir,
      views: [],
      logLevel: "silent",
      adminToken: TEST_ADMIN_TOKEN,
    },
    silentLogger(),
  );
  const config = parseApiConfig(
    [
      "--port",
      "0",
      "--catalog-topic",
      `_mesh_catalog_${tag}`,
      "--registry",
      registry.url,
      "--brokers",
      brokers.join(","),
    ],
    { ...benchKafkaEnv(), MESH_ADMIN_TOKEN: TEST_ADMIN_TOKEN },
  );
  const api = await startApi(config, { logger: silentLogger(), viewEngine: materializer.engine });
  const trivial = fastify();
  trivial.get("/ping", () => ({ ok: true }));
  // The same bytes as one 100-row page, sent as a ready string: how much of a page's cost is the payload.
  let pageBody = "";
  trivial.get("/page", (_request, reply) => reply.type("application/json").send(pageBody));
  await trivial.listen({ host: "127.0.0.1", port: 0 });
  const trivialUrl = `http://127.0.0.1:${(trivial.server.address() as AddressInfo).port}`;
  const post = async (path: string, body: unknown): Promise<void> => {
    const res = await fetch(`${api.url}${path}`, {
      method: "POST",
      headers: { ...authHeaders(), "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (res.status !== 201) throw new Error(`bench: POST ${path} → ${res.status} ${await res.text()}`);
  };
  try {
    await post("/v1/sources", {
      name: `${tag}_c`,
      owner: "customers",
      kind: "postgres",
      url: dbUrl(dbs[0]!),
      tables: ["customers"],
    });
    await post("/v1/sources", {
      name: `${tag}_o`,
      owner: "orders",
      kind: "postgres",
      url: dbUrl(dbs[1]!),
      tables: ["orders", "ticks"],
    });
    // One tick first, so the ticks topic and its schema exist before anyone subscribes to it.
    await orders.query("INSERT INTO ticks (id) VALUES (0)");
    await until("schemas", async () => {
      const t = (await (await fetch(`${api.url}/v1/topics`, { headers: authHeaders() })).json()) as {
        topics: { topic: string; latestVersion: number | null }[];
      };
      return [`${tag}_c.public.customers`, `${tag}_o.public.orders`, `${tag}_o.public.ticks`].every((n) =>
        t.topics.some((x) => x.topic === n && x.latestVersion !== null),
      );
    });
    const view = `${tag}_od`;
    await post("/v1/views", {
      sql: `CREATE VIEW ${view} AS SELECT o.id, o.status, o.total, c.name, c.region FROM ${tag}_o.public.orders o JOIN ${tag}_c.public.customers c ON o.customer_id = c.id`,
    });
    await until("view backfill", async () => {
      const v = (await (await fetch(`${api.url}/v1/views/${view}`, { headers: authHeaders() })).json()) as {
        status: { state: string; rows: number };
      };
      return v.status.state === "ready" && v.status.rows === 10_000;
    });

    const ids = Array.from({ length: 1000 }, (_, i) => 1 + ((i * 7919) % 10_000));
    pageBody = await (
      await fetch(`${api.url}/v1/views/${view}/rows?id[gte]=5000&limit=100`, { headers: authHeaders() })
    ).text();
    if (parts.has("http")) await httpPart(api.url, trivialUrl, view, ids);
    if (parts.has("sse")) await ssePart(api.url, brokers, `${tag}_o.public.ticks`, orders);
  } finally {
    await trivial.close();
    await api.stop();
    await materializer.stop();
    await registry.stop();
    await customers.end();
    await orders.end();
    for (const db of dbs) {
      await admin
        .query(
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active",
          [db],
        )
        .catch(() => undefined);
      await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => undefined);
    }
    await admin.end();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Rounds of (trivial route, point lookups, pages), interleaved so that load from others hits all alike. */
const lookupRounds = 3;

async function httpPart(apiUrl: string, trivialUrl: string, view: string, ids: number[]): Promise<void> {
  const load = (base: string, paths: string[]): Promise<LoadResult> =>
    child<LoadResult>({ kind: "load", base, paths, seconds, connections });
  const row = (name: string, r: LoadResult, base?: LoadResult): string =>
    `${name.padEnd(34)} ${String(r.rps).padStart(7)} req/s  p99 ${String(r.p99Ms).padStart(4)} ms  errors ${r.errors}${base ? `  (${((r.rps / base.rps) * 100).toFixed(0)}% of trivial)` : ""}`;
  console.log(
    `HTTP, ${connections} connections x ${seconds} s each, server and client on this machine's 2 cores`,
  );
  const lookupRatios: number[] = [];
  const pageRatios: number[] = [];
  const payloadRatios: number[] = [];
  for (let round = 0; round < lookupRounds; round++) {
    const ping = await load(trivialUrl, ["/ping"]);
    const lookups = await load(
      apiUrl,
      ids.map((id) => `/v1/views/${view}/rows/${id}`),
    );
    const pages = await load(
      apiUrl,
      ids.map((id) => `/v1/views/${view}/rows?id[gte]=${id}&limit=100`),
    );
    const samePayload = await load(trivialUrl, ["/page"]);
    console.log(row("trivial fastify route", ping));
    console.log(row("view point lookup /rows/{key}", lookups, ping));
    console.log(row("view page /rows?limit=100", pages, ping));
    console.log(
      `${row("trivial route, one page's bytes", samePayload)}  (page: ${((pages.rps / samePayload.rps) * 100).toFixed(0)}% of it)`,
    );
    lookupRatios.push(lookups.rps / ping.rps);
    pageRatios.push(pages.rps / ping.rps);
    payloadRatios.push(pages.rps / samePayload.rps);
  }
  const summary = (what: string, ratios: number[], target: string): string => {
    ratios.sort((a, b) => a - b);
    return (
      `${what} / trivial route over ${lookupRounds} rounds: median ${(ratios[lookupRounds >> 1]! * 100).toFixed(0)}%, ` +
      `range ${(ratios[0]! * 100).toFixed(0)}-${(ratios.at(-1)! * 100).toFixed(0)}%${target}`
    );
  };
  console.log(summary("point lookups", lookupRatios, " (target >= 50%)"));
  console.log(summary("100-row pages", pageRatios, ""));
  console.log(
    summary("100-row pages / trivial route sending the same bytes", payloadRatios, "").replace(
      " / trivial route over",
      " over",
    ),
  );
}

/** 100 subscribers on the ticks topic, ~1k rows/s inserted in 100-row transactions. */
async function ssePart(apiUrl: string, brokers: string[], topic: string, orders: pg.Client): Promise<void> {
  const expected = eventsPerSecond * fanoutSeconds;
  const opened: Promise<void>[] = [];
  let baselineReady!: () => void;
  opened.push(new Promise<void>((r) => (baselineReady = r)));
  const baseline = child<SseResult>(
    { kind: "kafka", brokers, topic, expected, timeoutMs: (fanoutSeconds + 60) * 1000 },
    baselineReady,
  );
  const results = Array.from({ length: clientProcesses }, (_, i) => {
    let ready!: () => void;
    opened.push(new Promise<void>((r) => (ready = r)));
    const share = Math.floor(subscribers / clientProcesses) + (i < subscribers % clientProcesses ? 1 : 0);
    return child<SseResult>(
      {
        kind: "sse",
        url: `${apiUrl}/v1/topics/${topic}/events?from=latest`,
        subscribers: share,
        expected,
        timeoutMs: (fanoutSeconds + 60) * 1000,
      },
      ready,
    );
  });
  await Promise.all(opened);
  // SSE clients are ready once `: subscribed`; the Kafka baseline once its group joined, and then positioned.
  await new Promise((r) => setTimeout(r, 2000));
  const cpu0 = process.cpuUsage();
  const started = Date.now();
  for (let batch = 0; batch < expected / 100; batch++) {
    await orders.query("INSERT INTO ticks (id) SELECT g FROM generate_series($1::bigint, $2::bigint) g", [
      batch * 100 + 1,
      batch * 100 + 100,
    ]);
    const due = started + ((batch + 1) * 100 * 1000) / eventsPerSecond;
    await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
  }
  const sse = await Promise.all(results);
  const raw = await baseline;
  const cpu = process.cpuUsage(cpu0);
  const wall = Date.now() - started;
  const sum = (f: (r: SseResult) => number): number => sse.reduce((n, r) => n + f(r), 0);
  const hist = sse.map((r) => r.delays);
  for (const r of sse) if (r.errors.length > 0) console.log(`SSE client errors: ${r.errors.join(" | ")}`);
  console.log(
    `SSE fan-out: ${subscribers} subscribers (${clientProcesses} client processes) x ${expected} events at ~${eventsPerSecond}/s: ` +
      `${sum((r) => r.complete)}/${subscribers} got every event, ${sum((r) => r.inOrder)}/${subscribers} in order; ` +
      `Kafka CreateTime → subscriber p50 ${percentile(hist, 0.5)} ms, p99 ${percentile(hist, 0.99)} ms, max ${percentile(hist, 1)} ms ` +
      `(target: all, in order, p99 < 100 ms)`,
  );
  console.log(
    `  baseline, one plain lib/kafka reader (same fetch settings, own process): ${raw.received}/${expected} events, ` +
      `CreateTime → consumer p50 ${percentile([raw.delays], 0.5)} ms, p99 ${percentile([raw.delays], 0.99)} ms, max ${percentile([raw.delays], 1)} ms`,
  );
  console.log(
    `  CPU during fan-out: server process (API + connector + registry + materializer) ${Math.round((cpu.user + cpu.system) / 1000)} ms, ` +
      `clients ${sum((r) => r.cpuMs)} ms, over ${wall} ms wall`,
  );
}
