// `npm run bench -- api`: the HTTP API over the real stack. View point lookups and 100-row pages per
// second and p99, beside a trivial fastify route served by the same process in the same run; and SSE
// fan-out of one topic to 100 subscribers at about 1k events/s (every event received, in order, and the
// p99 delay from the Kafka append to the subscriber). Load generators and subscribers run in child
// processes (this file, re-run with a job argument) so they do not share the server's event loop.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { AddressInfo } from "node:net";
import fastify from "fastify";
import pg from "pg";
import { LocalStack } from "../../deploy/local/stack.ts";
import { silentLogger } from "../../lib/logger.ts";
import { startMaterializer } from "../../materializer/main.ts";
import { startRegistry } from "../../registry/server.ts";
import { parseApiConfig } from "../../api/config.ts";
import { startApi } from "../../api/service.ts";

const seconds = 5;
const connections = 10;
const subscribers = 100;
const eventsPerSecond = 1000;
const fanoutSeconds = 5;

interface LoadJob {
  kind: "load";
  base: string;
  paths: string[];
}
interface SseJob {
  kind: "sse";
  url: string;
  subscribers: number;
  expected: number;
  timeoutMs: number;
}
interface LoadResult {
  rps: number;
  p99Ms: number;
  errors: number;
}
interface SseResult {
  complete: number;
  inOrder: number;
  received: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

type Autocannon = (opts: Record<string, unknown>) => Promise<{
  requests: { average: number };
  latency: { p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}>;

async function loadJob(job: LoadJob): Promise<LoadResult> {
  const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;
  let i = 0;
  const r = await autocannon({
    url: job.base,
    connections,
    duration: seconds,
    requests: [
      {
        setupRequest: (req: Record<string, unknown>) => ({ ...req, path: job.paths[i++ % job.paths.length] }),
      },
    ],
  });
  return {
    rps: Math.round(r.requests.average),
    p99Ms: r.latency.p99,
    errors: r.non2xx + r.errors + r.timeouts,
  };
}

const headRe = /"partition":(\d+),"offset":"(\d+)","timestamp":"([^"]+)"/;

function envelopeHead(line: string): { partition: number; offset: string; timestamp: string } {
  const m = headRe.exec(line);
  if (!m) throw new Error(`unexpected event ${line.slice(0, 200)}`);
  return { partition: Number(m[1]), offset: m[2]!, timestamp: m[3]! };
}

/** 100 SSE clients on one URL; each checks it got every event in offset order per partition. */
async function sseJob(job: SseJob): Promise<SseResult> {
  const delays: number[] = [];
  const errors: string[] = [];
  let complete = 0;
  let inOrder = 0;
  let received = 0;
  const ready: Promise<void>[] = [];
  const done: Promise<void>[] = [];
  for (let s = 0; s < job.subscribers; s++) {
    let opened!: () => void;
    ready.push(new Promise((r) => (opened = r)));
    done.push(
      new Promise<void>((resolve) => {
        const last = new Map<number, number>();
        let count = 0;
        let ordered = true;
        let buf = "";
        const timer = setTimeout(() => {
          req.destroy();
          resolve();
        }, job.timeoutMs);
        const req = http.get(job.url, (res) => {
          res.setEncoding("utf8");
          if (res.statusCode !== 200) {
            errors.push(`HTTP ${res.statusCode}`);
            opened();
          }
          res.on("data", (chunk: string) => {
            if (chunk.includes(": connected")) opened();
            if (chunk.includes("event: error")) errors.push(chunk);
            buf += chunk;
            let end;
            while ((end = buf.indexOf("\n\n")) >= 0) {
              const block = buf.slice(0, end);
              buf = buf.slice(end + 2);
              const data = block.split("\n").find((l) => l.startsWith("data: "));
              if (!data) continue;
              // Only the three fields measured, without JSON.parse: 100 clients in one process parse a lot.
              const e = envelopeHead(data);
              delays.push(Date.now() - Date.parse(e.timestamp));
              const offset = Number(e.offset);
              const prev = last.get(e.partition);
              if (prev !== undefined && offset !== prev + 1) ordered = false;
              last.set(e.partition, offset);
              count++;
              received++;
              if (count === job.expected) {
                complete++;
                if (ordered) inOrder++;
                clearTimeout(timer);
                req.destroy();
                resolve();
              }
            }
          });
        });
        req.on("error", (err) => {
          errors.push(err.message);
          opened();
          resolve();
        });
      }),
    );
  }
  await Promise.all(ready);
  process.stdout.write("ready\n");
  await Promise.all(done);
  delays.sort((a, b) => a - b);
  const pct = (p: number): number =>
    delays[Math.min(delays.length - 1, Math.floor(delays.length * p))] ?? NaN;
  if (errors.length > 0) process.stderr.write(`SSE errors (${errors.length}), first: ${errors[0]}\n`);
  return { complete, inOrder, received, p50Ms: pct(0.5), p99Ms: pct(0.99), maxMs: delays.at(-1) ?? NaN };
}

function child<T>(job: LoadJob | SseJob, onReady?: () => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), JSON.stringify(job)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    proc.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.startsWith("ready\n") && onReady) {
        out = out.slice(6);
        const cb = onReady;
        onReady = undefined;
        cb();
      }
    });
    proc.once("error", reject);
    proc.once("exit", (code) =>
      code === 0 ? resolve(JSON.parse(out) as T) : reject(new Error(`bench child exited ${code}`)),
    );
  });
}

async function until(what: string, probe: () => Promise<boolean>, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function run(): Promise<void> {
  const env = (await new LocalStack().up(), new LocalStack().env());
  const brokers = env.MESH_KAFKA_BROKERS.split(",");
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
    brokers,
    port: 0,
    topic: `_schemas_${tag}`,
    logger: silentLogger(),
  });
  const materializer = await startMaterializer(
    { brokers, registryUrl: registry.url, dataDir, views: [], logLevel: "silent" },
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
    {},
  );
  const api = await startApi(config, { logger: silentLogger(), viewEngine: materializer.engine });
  const trivial = fastify();
  trivial.get("/ping", () => ({ ok: true }));
  await trivial.listen({ host: "127.0.0.1", port: 0 });
  const trivialUrl = `http://127.0.0.1:${(trivial.server.address() as AddressInfo).port}`;
  const post = async (path: string, body: unknown): Promise<void> => {
    const res = await fetch(`${api.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
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
      const t = (await (await fetch(`${api.url}/v1/topics`)).json()) as {
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
      const v = (await (await fetch(`${api.url}/v1/views/${view}`)).json()) as {
        status: { state: string; rows: number };
      };
      return v.status.state === "ready" && v.status.rows === 10_000;
    });

    const ids = Array.from({ length: 1000 }, (_, i) => 1 + ((i * 7919) % 10_000));
    const ping = await child<LoadResult>({ kind: "load", base: trivialUrl, paths: ["/ping"] });
    const lookups = await child<LoadResult>({
      kind: "load",
      base: api.url,
      paths: ids.map((id) => `/v1/views/${view}/rows/${id}`),
    });
    const pages = await child<LoadResult>({
      kind: "load",
      base: api.url,
      paths: ids.map((id) => `/v1/views/${view}/rows?id[gte]=${id}&limit=100`),
    });
    const row = (name: string, r: LoadResult, base?: LoadResult): string =>
      `${name.padEnd(34)} ${String(r.rps).padStart(7)} req/s  p99 ${String(r.p99Ms).padStart(4)} ms  errors ${r.errors}${base ? `  (${((r.rps / base.rps) * 100).toFixed(0)}% of trivial)` : ""}`;
    console.log(
      `HTTP, ${connections} connections x ${seconds} s each, server and client on this machine's 2 cores`,
    );
    console.log(row("trivial fastify route", ping));
    console.log(row("view point lookup /rows/{key}", lookups, ping));
    console.log(row("view page /rows?limit=100", pages, ping));

    // SSE fan-out: 100 subscribers on the ticks topic, ~1k rows/s inserted in 100-row transactions.
    const topic = `${tag}_o.public.ticks`;
    const expected = eventsPerSecond * fanoutSeconds;
    let subscribed!: () => void;
    const subscribedP = new Promise<void>((r) => (subscribed = r));
    const result = child<SseResult>(
      {
        kind: "sse",
        url: `${api.url}/v1/topics/${topic}/events?from=latest`,
        subscribers,
        expected,
        timeoutMs: (fanoutSeconds + 60) * 1000,
      },
      subscribed,
    );
    await subscribedP;
    await new Promise((r) => setTimeout(r, 2000)); // every consumer joined and positioned
    const started = Date.now();
    for (let batch = 0; batch < expected / 100; batch++) {
      await orders.query("INSERT INTO ticks (id) SELECT g FROM generate_series($1::bigint, $2::bigint) g", [
        batch * 100 + 1,
        batch * 100 + 100,
      ]);
      const due = started + ((batch + 1) * 100 * 1000) / eventsPerSecond;
      await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
    }
    const sse = await result;
    console.log(
      `SSE fan-out: ${subscribers} subscribers x ${expected} events at ~${eventsPerSecond}/s: ${sse.complete}/${subscribers} got every event, ` +
        `${sse.inOrder}/${subscribers} in order; Kafka append → subscriber p50 ${sse.p50Ms} ms, p99 ${sse.p99Ms} ms, max ${sse.maxMs} ms ` +
        `(target: all, in order, p99 < 100 ms)`,
    );
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

if (import.meta.main) {
  const job = JSON.parse(process.argv[2] ?? "{}") as LoadJob | SseJob;
  const out = job.kind === "load" ? await loadJob(job) : await sseJob(job);
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
}
