// Views freshness (`npm run bench -- views freshness`): commit in Postgres → the change visible through
// `GET /v1/views/{name}/rows/{key}` of the API, end to end: the source registered over HTTP (the real Postgres
// connector, running in the API process), two views declared over HTTP (a replica and a 2-way join). A steady
// 5,000 changes/s (100 transactions/s of 50 rows, half new rows, half updates) for 10 s
// (MESH_BENCH_FRESHNESS_SECONDS); every 4th transaction's last row is polled over HTTP from its commit until the
// API answers it with the transaction's value (or a later one's: the row may be updated again meanwhile), with
// POLL_MS between a poll's answer and the next (the polls per row are printed: a handful, each answer taking
// tens of ms when the process is saturated, so the pollers are not what loads it). The
// source uses the default delivery mode; MESH_BENCH_FRESHNESS_DELIVERY=at-least-once|exactly-once picks one.
// Two layouts (MESH_BENCH_FRESHNESS_LAYOUTS=one,two), each on a fresh database:
// - one process (`mesh up`): the API with its embedded materializer, connector and views sharing one thread;
// - two processes (`mesh api --materializer` + `mesh materialize` as a child): the connector in the API, the
//   views in the materializer, rows read through the API from it (one more HTTP hop).
// Printed per layout and view: p50, p99, max, beside the rate written, the bench process's CPU and event-loop
// delay (the one process is saturated when those are high) and the load average.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import pg from "pg";
import { parseApiConfig } from "../../api/config.ts";
import { startApi, type RunningApi } from "../../api/service.ts";
import { silentLogger } from "../../lib/logger.ts";
import { startMaterializer } from "../../materializer/main.ts";
import { startRegistry } from "../../registry/server.ts";
import { machineCpu } from "./machine-cpu.ts";
import { dropDb, freshDb } from "./pg-readers.ts";
import { TEST_ADMIN_TOKEN } from "../support/auth.ts";
import { authHeaders } from "../support/auth.ts";
import { benchKafka, benchKafkaEnv } from "./kafka-connection.ts";

/** The pause between two polls of one row: the figures' resolution. */
const POLL_MS = 5;

const stamp = Date.now().toString(36);
let seq = 0;
const q = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;

interface Env {
  brokers: string[];
  baseUrl: string;
  registryUrl: string;
  seconds: number;
}

async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${base}${path}`, {
    method,
    ...(body === undefined
      ? { headers: authHeaders() }
      : { body: JSON.stringify(body), headers: { ...authHeaders(), "content-type": "application/json" } }),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

/** The workload tick that wrote a note (`n<tick>-<row>`). */
function tickOf(note: string): number {
  return Number(/^n(\d+)-/.exec(note)?.[1] ?? -1);
}

async function until(what: string, probe: () => Promise<boolean>, ms = 90_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The API (and, for two processes, a `mesh materialize` child it reads views from), and how to stop them. */
async function startLayout(
  env: Env,
  layout: "one" | "two",
): Promise<{ api: RunningApi; stop: () => Promise<void> }> {
  const catalogTopic = `_mesh_catalog_bench_fresh_${stamp}_${seq++}`;
  const dataDir = await mkdtemp(join(tmpdir(), "mesh-bench-fresh-"));
  // No query budget: the bench polls rows as fast as the API answers (the default 1,200 per minute per token
  // would answer 429 after the first seconds).
  const args = [
    ...["--port", "0", "--catalog-topic", catalogTopic, "--registry", env.registryUrl],
    ...["--rate-limit-query", "0"],
  ];
  if (layout === "one") {
    const materializer = await startMaterializer(
      {
        ...benchKafka(),
        brokers: env.brokers,
        registryUrl: env.registryUrl,
        dataDir,
        views: [],
        logLevel: "silent",
        adminToken: TEST_ADMIN_TOKEN,
      },
      silentLogger(),
    );
    const api = await startApi(
      parseApiConfig(args, {
        ...benchKafkaEnv(),
        MESH_KAFKA_BROKERS: env.brokers.join(","),
        MESH_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      }),
      {
        logger: silentLogger(),
        viewEngine: materializer.engine,
      },
    );
    return {
      api,
      stop: async () => {
        await api.stop();
        await materializer.stop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  }
  const port = await freePort();
  const member = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...["materializer/main.ts", "--brokers", env.brokers.join(","), "--registry", env.registryUrl],
      ...["--data-dir", dataDir, "--catalog-topic", catalogTopic, "--listen", `127.0.0.1:${port}`],
      ...["--log-level", "warn"],
    ],
    { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, MESH_ADMIN_TOKEN: TEST_ADMIN_TOKEN } },
  );
  await until(
    "mesh materialize listening",
    async () => (await fetch(`${member}/v1/views`, { headers: authHeaders() })).ok,
  );
  const api = await startApi(
    parseApiConfig([...args, "--materializer", member], {
      ...benchKafkaEnv(),
      MESH_KAFKA_BROKERS: env.brokers.join(","),
      MESH_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    }),
    { logger: silentLogger() },
  );
  return {
    api,
    stop: async () => {
      await api.stop();
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function measure(env: Env, layout: "one" | "two"): Promise<void> {
  const db = `bench_fresh_${stamp}_${seq++}`;
  const url = await freshDb(env.baseUrl, db, [
    "CREATE TABLE items (id bigint PRIMARY KEY, cat int NOT NULL, note text)",
    "CREATE TABLE cats (id int PRIMARY KEY, name text)",
    "INSERT INTO cats SELECT g, 'cat ' || g FROM generate_series(1, 100) g",
  ]);
  const { api, stop } = await startLayout(env, layout);
  const client = new pg.Client({ connectionString: url });
  try {
    const source = `fresh${stamp}${seq}`;
    const registered = await call(api.url, "POST", "/v1/sources", {
      name: source,
      owner: "bench",
      kind: "postgres",
      url,
      tables: ["items", "cats"],
      ...(process.env.MESH_BENCH_FRESHNESS_DELIVERY
        ? { delivery: process.env.MESH_BENCH_FRESHNESS_DELIVERY }
        : {}),
    });
    if (registered.status !== 201)
      throw new Error(`registering the source: ${JSON.stringify(registered.body)}`);
    const views = {
      replica: `CREATE VIEW fresh_r AS SELECT * FROM ${source}.public.items`,
      join: `CREATE VIEW fresh_j AS SELECT i.id, i.note, c.name FROM ${source}.public.items i LEFT JOIN ${source}.public.cats c ON c.id = i.cat`,
    };
    for (const sql of Object.values(views)) {
      const declared = await call(api.url, "POST", "/v1/views", { sql });
      if (declared.status !== 201) throw new Error(`declaring a view: ${JSON.stringify(declared.body)}`);
    }
    let lastViews: unknown = null;
    await until("the views ready", async () => {
      const res = await call(api.url, "GET", "/v1/views");
      lastViews = res.body;
      const list = (res.body as { views: { status: { state: string } }[] }).views;
      return list.length === 2 && list.every((v) => v.status.state === "ready");
    }).catch(async (err: unknown) => {
      const sources = await call(api.url, "GET", "/v1/sources");
      throw new Error(
        `${String(err)}: views ${JSON.stringify(lastViews)} sources ${JSON.stringify(sources.body)}`,
      );
    });
    await client.connect();
    const samples: Record<keyof typeof views, number[]> = { replica: [], join: [] };
    const polls: Promise<void>[] = [];
    let polled = 0;
    let requests = 0;
    /** Polls one row until the API answers it with `note`; records commit → visible. */
    const watch = (kind: keyof typeof views, id: number, note: string, committed: number): void => {
      const view = kind === "replica" ? "fresh_r" : "fresh_j";
      polls.push(
        (async () => {
          for (;;) {
            requests++;
            const res = await fetch(`${api.url}/v1/views/${view}/rows/${id}`, { headers: authHeaders() });
            const row =
              res.status === 200 ? ((await res.json()) as { note?: string }) : (await res.text(), null);
            // A later transaction may update the row again before the poll sees this one: a note of the
            // same or a later tick means this transaction is visible too (a view applies in commit order).
            if (row?.note !== undefined && tickOf(row.note) >= tickOf(note)) break;
            if (performance.now() - committed > 10_000) {
              const status = await call(api.url, "GET", `/v1/views/${view}`);
              throw new Error(
                `row ${id} of ${view} never showed ${note}: ${JSON.stringify(row)} ${JSON.stringify(status.body)}`,
              );
            }
            await new Promise((r) => setTimeout(r, POLL_MS));
          }
          samples[kind].push(performance.now() - committed);
          polled++;
        })(),
      );
    };
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const cpu0 = process.cpuUsage();
    const machine = machineCpu();
    const rowsPerTx = 50;
    const txPerSecond = 100;
    let id = 0;
    const start = performance.now();
    const ticks = env.seconds * txPerSecond;
    for (let tick = 0; tick < ticks; tick++) {
      // Half new rows, half updates of rows written a second or more earlier.
      const rows: string[] = [];
      for (let r = 0; r < rowsPerTx; r++) {
        const update = r % 2 === 1 && id > 10_000;
        const key = update ? id - 5_000 - r : ++id;
        rows.push(`(${key}, ${1 + (key % 100)}, 'n${tick}-${r}')`);
      }
      await client.query(
        `INSERT INTO items VALUES ${rows.join(",")} ON CONFLICT (id) DO UPDATE SET note = excluded.note`,
      );
      const committed = performance.now();
      if (tick % 4 === 0) {
        const last = /^\((\d+), \d+, '([^']+)'\)$/.exec(rows.at(-1)!)!;
        watch(tick % 8 === 0 ? "replica" : "join", Number(last[1]), last[2]!, committed);
      }
      const wait = start + ((tick + 1) * 1000) / txPerSecond - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const elapsed = (performance.now() - start) / 1000;
    await Promise.all(polls);
    loop.disable();
    const machineCores = machine.text();
    const cpu = process.cpuUsage(cpu0);
    const busy = ((cpu.user + cpu.system) / 1e6 / ((performance.now() - start) / 1000)) * 100;
    const name = layout === "one" ? "one process (mesh up)" : "two processes (mesh api + mesh materialize)";
    for (const [kind, list] of Object.entries(samples)) {
      list.sort((a, b) => a - b);
      console.log(
        `freshness, ${name}, ${kind} view: commit → visible through GET /v1/views/{name}/rows/{key}: ` +
          `p50 ${q(list, 0.5).toFixed(1)} ms, p99 ${q(list, 0.99).toFixed(1)} ms, max ${q(list, 1).toFixed(1)} ms ` +
          `(target p99 < 50 ms; ${list.length} transactions sampled; one poll every ${POLL_MS} ms per row)`,
      );
    }
    console.log(
      `  (${Math.round((ticks * rowsPerTx) / elapsed)} changes/s written; bench process ${busy.toFixed(0)}% of a core, ` +
        `event-loop delay p50 ${(loop.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms; ` +
        `load average ${loadavg()[0]?.toFixed(1)})`,
    );
    console.log(`  (${machineCores}, from the first commit until every sampled row was visible)`);
    console.log(
      `  (${requests} polls for ${polled} sampled rows: ${(requests / Math.max(1, polled)).toFixed(1)} each)`,
    );
  } finally {
    await client.end().catch(() => undefined);
    await stop();
    await dropDb(env.baseUrl, db).catch(() => undefined);
  }
}

export async function run(): Promise<void> {
  const kafkaAt = benchKafka();
  const brokers = kafkaAt.brokers;
  const registry = await startRegistry({
    adminToken: TEST_ADMIN_TOKEN,
    ...kafkaAt,
    port: 0,
    topic: `_schemas_bench_fresh_${stamp}`,
    logger: silentLogger(),
  });
  const env: Env = {
    brokers,
    baseUrl: process.env.MESH_PG_URL ?? "postgres://mesh:mesh@127.0.0.1:15432/postgres",
    registryUrl: registry.url,
    seconds: Number(process.env.MESH_BENCH_FRESHNESS_SECONDS ?? 10),
  };
  try {
    const layouts = (process.env.MESH_BENCH_FRESHNESS_LAYOUTS ?? "one,two").split(",");
    for (const layout of ["one", "two"] as const) if (layouts.includes(layout)) await measure(env, layout);
  } finally {
    await registry.stop();
  }
}
