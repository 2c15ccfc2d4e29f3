// Postgres connector benchmark (issue 11), each figure beside pg_recvlogical (the decoding limit) measured in
// the same run, in both delivery modes, over several runs (MESH_BENCH_RUNS or `--runs N`, default 3; the
// spread is printed, not the best run):
//   (a) one 500k-row insert transaction, (b) 100k single-row update transactions: rows/s to Kafka
//       acknowledgement (exactly-once: to the commit of the Kafka transaction), catching up (the workload is
//       committed while the connector is stopped; both readers stream the same WAL range from slots created
//       at the same point) and live (the connector streams while the workload runs; pg_recvlogical reads the
//       same workload live, one reader at a time so they do not share the 2 cores). (a) live is timed from
//       the commit (protocol 1 sends a transaction at its commit), (b) live from the workload's start.
//   (c) commit → acknowledgement latency p50/p99 at a steady 5k changes/s (100 transactions/s of 50 rows) for
//       18 s after a 2 s warm-up (printed apart: it carries the connector's start-up).
//   (d) a 1M-row initial snapshot by `mesh connect` in a child process: rows/s and its peak RSS (VmHWM).
// MESH_BENCH_PG_ONLY=a,b picks workloads; MESH_BENCH_PG_DELIVERY=exactly-once picks one mode.
import { mkdtemp } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { KafkaClient } from "../../lib/kafka/index.ts";
import { silentLogger } from "../../lib/logger.ts";
import { RegistryClient } from "../../lib/registry-client.ts";
import { startRegistry } from "../../registry/server.ts";
import { registerBuiltInBackends } from "../../connectors/backends.ts";
import {
  createConnector,
  type ConnectorDeps,
  type DeliveryMode,
  type SourceDefinition,
} from "../../connectors/core/change-source.ts";
import { kafkaOffsetStore, type OffsetStore } from "../../connectors/core/offset-store.ts";
import { snapshotStateKey } from "../../protocol/offsets.ts";
import {
  connectChild,
  currentLsn,
  dropDb,
  emitEndMarker,
  freshDb,
  recvCatchUp,
  recvLive,
  sql,
} from "./pg-readers.ts";
import { TEST_ADMIN_TOKEN } from "../support/auth.ts";
import { benchKafka } from "./kafka-connection.ts";

registerBuiltInBackends();
const stamp = Date.now().toString(36);
let seq = 0;
const TABLE = "CREATE TABLE t (id bigint PRIMARY KEY, a int, b text, c numeric(12,2), d timestamptz)";

interface Env {
  baseUrl: string;
  brokers: string[];
  registryUrl: string;
  kafka: KafkaClient;
  offsets: OffsetStore;
  deps: (onAck?: ConnectorDeps["onTransactionAcked"]) => ConnectorDeps;
}

interface Sample {
  ours: number;
  /** CPU time of this process (connector, Kafka client, GC) per row while it streamed, µs. */
  cpuPerRow?: number;
  theirs?: number;
  extra?: string;
}
const results = new Map<string, Sample[]>();
function record(key: string, s: Sample): void {
  results.set(key, [...(results.get(key) ?? []), s]);
  // Each figure as it comes, so a run cut short still leaves its figures.
  const ratio =
    s.theirs === undefined
      ? ""
      : ` pg_recvlogical ${s.theirs.toFixed(0)} ratio ${(s.ours / s.theirs).toFixed(2)}`;
  const cpu = s.cpuPerRow === undefined ? "" : ` cpu ${s.cpuPerRow.toFixed(1)} µs/row`;
  console.log(
    `  ${key}: ${s.ours.toFixed(s.ours >= 1000 ? 0 : 1)}${ratio}${cpu}${s.extra ? ` (${s.extra})` : ""}`,
  );
}

interface Workload {
  label: string;
  rows: number;
  /** Source transactions the connector acknowledges for it. */
  transactions: number;
  setup: (url: string) => Promise<void>;
  run: (url: string) => Promise<void>;
}

const workloadA: Workload = {
  label: "a",
  rows: 500_000,
  transactions: 1,
  setup: () => Promise.resolve(),
  run: (url) =>
    sql(
      url,
      "INSERT INTO t SELECT g, g % 1000, 'row ' || g, g * 0.01, now() FROM generate_series(1, 500000) g",
    ).then(() => undefined),
};

const workloadB: Workload = {
  label: "b",
  rows: 100_000,
  transactions: 100_000,
  setup: (url) =>
    sql(url, "INSERT INTO t SELECT g, 0, 'row ' || g, 0, now() FROM generate_series(1, 1000) g").then(
      () => undefined,
    ),
  run: (url) =>
    sql(
      url,
      "DO $$ BEGIN FOR i IN 1..100000 LOOP UPDATE t SET a = a + 1 WHERE id = (i % 1000) + 1; COMMIT; END LOOP; END $$",
    ).then(() => undefined),
};

function source(name: string, url: string, delivery: DeliveryMode, snapshot: SourceDefinition["snapshot"]) {
  return { name, owner: "bench", kind: "postgres" as const, url, tables: ["public.t"], snapshot, delivery };
}

/** CPU µs this process used since `from` (a process.cpuUsage() reading), per row. */
function cpuPerRow(from: NodeJS.CpuUsage, rows: number): number {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / rows;
}

/** Counts acknowledged source transactions; `at(n)` resolves with the time the n-th one was acknowledged. */
function ackCounter(): {
  deps: ConnectorDeps["onTransactionAcked"];
  at: (n: number) => Promise<number>;
  count: () => number;
} {
  let acked = 0;
  let waiter: { n: number; resolve: (t: number) => void } | null = null;
  return {
    deps: () => {
      acked++;
      if (waiter && acked >= waiter.n) {
        waiter.resolve(performance.now());
        waiter = null;
      }
    },
    at: (n) =>
      acked >= n ? Promise.resolve(performance.now()) : new Promise((resolve) => (waiter = { n, resolve })),
    count: () => acked,
  };
}

async function catchUp(env: Env, w: Workload, mode: DeliveryMode): Promise<void> {
  const db = `bench_pg_${w.label}c_${stamp}_${seq++}`;
  const url = await freshDb(env.baseUrl, db, [TABLE]);
  try {
    await w.setup(url);
    const def = source(db, url, mode, "never");
    const acks = ackCounter();
    let connector = createConnector(def, env.deps(acks.deps));
    await connector.start(); // creates the slot and publication
    await connector.stop();
    const recvSlot = `recv_${db}`;
    await sql(url, "SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [recvSlot]);
    await w.run(url);
    const endLsn = await currentLsn(url);
    const before = acks.count();
    connector = createConnector(def, env.deps(acks.deps));
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await connector.start();
    const t1 = await acks.at(before + w.transactions);
    const cpu = cpuPerRow(cpu0, w.rows);
    await connector.stop();
    const theirs = await recvCatchUp(url, recvSlot, `mesh_${db}`, endLsn);
    record(`${w.label}|catch-up|${mode}`, {
      ours: w.rows / ((t1 - t0) / 1000),
      theirs: w.rows / theirs,
      cpuPerRow: cpu,
    });
  } finally {
    await dropDb(env.baseUrl, db);
  }
}

async function live(env: Env, w: Workload, mode: DeliveryMode): Promise<void> {
  // pg_recvlogical first, alone, on its own copy of the workload.
  const rdb = `bench_pg_${w.label}r_${stamp}_${seq++}`;
  const rurl = await freshDb(env.baseUrl, rdb, [TABLE, "CREATE PUBLICATION p FOR TABLE t"]);
  let theirs: number;
  try {
    await w.setup(rurl);
    await sql(rurl, "SELECT pg_create_logical_replication_slot('recv', 'pgoutput')");
    const reader = recvLive(rurl, "recv", "p");
    await new Promise((r) => setTimeout(r, 500));
    const t0 = performance.now();
    await w.run(rurl);
    const committed = performance.now();
    await emitEndMarker(rurl);
    const t1 = await reader.ended;
    reader.stop();
    theirs = w.rows / ((t1 - (w.transactions === 1 ? committed : t0)) / 1000);
  } finally {
    await dropDb(env.baseUrl, rdb);
  }
  const db = `bench_pg_${w.label}l_${stamp}_${seq++}`;
  const url = await freshDb(env.baseUrl, db, [TABLE]);
  try {
    await w.setup(url);
    const acks = ackCounter();
    const connector = createConnector(source(db, url, mode, "never"), env.deps(acks.deps));
    await connector.start();
    // A warm-up transaction: streaming, schemas registered, producers connected.
    await sql(url, "INSERT INTO t VALUES (-1, 0, 'warm-up', 0, now())");
    await acks.at(1);
    const before = acks.count();
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await w.run(url);
    const committed = performance.now();
    const t1 = await acks.at(before + w.transactions);
    // (b) live: includes this process's workload client (one DO statement: little).
    const cpu = cpuPerRow(cpu0, w.rows);
    await connector.stop();
    const ours = w.rows / ((t1 - (w.transactions === 1 ? committed : t0)) / 1000);
    record(`${w.label}|live|${mode}`, {
      ours,
      theirs,
      cpuPerRow: cpu,
      extra: `workload ${(w.rows / ((committed - t0) / 1000)).toFixed(0)}/s, last ack ${(t1 - committed).toFixed(0)} ms after it`,
    });
  } finally {
    await dropDb(env.baseUrl, db);
  }
}

// The first transactions pay the connector's start-up (the topic's first schema registration, the producer's
// connections, JIT): they are kept apart as the warm-up, and the target is judged on the steady state after it.
const LATENCY_WARMUP_TICKS = 200;
const LATENCY_TICKS = 2000;

async function latency(env: Env, mode: DeliveryMode): Promise<void> {
  const db = `bench_pg_lat_${stamp}_${seq++}`;
  const url = await freshDb(env.baseUrl, db, ["CREATE TABLE t (id bigint PRIMARY KEY, a int, b text)"]);
  const warmup: number[] = [];
  const steady: number[] = [];
  let steadyFromMicros = Number.POSITIVE_INFINITY;
  try {
    const connector = createConnector(
      source(db, url, mode, "never"),
      env.deps((commitMicros, n) => {
        const ms = Date.now() - Number(commitMicros / 1000n);
        const into = Number(commitMicros) >= steadyFromMicros ? steady : warmup;
        for (let i = 0; i < n; i++) into.push(ms);
      }),
    );
    await connector.start();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    // 5,000 changes/s as 100 transactions/s of 50 rows: 2 s of warm-up, then 18 s measured.
    const start = performance.now();
    let id = 0;
    let steadyFromId = 0;
    for (let tick = 0; tick < LATENCY_TICKS; tick++) {
      if (tick === LATENCY_WARMUP_TICKS) {
        const now = await c.query<{ us: string }>(
          "SELECT (extract(epoch from clock_timestamp()) * 1000000)::bigint::text AS us",
        );
        steadyFromMicros = Number(now.rows[0]?.us);
        steadyFromId = id;
      }
      const values = Array.from({ length: 50 }, () => `(${++id}, ${id % 1000}, 'row ${id}')`).join(",");
      await c.query(`INSERT INTO t VALUES ${values}`);
      const wait = start + (tick + 1) * 10 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const rate = id / ((performance.now() - start) / 1000);
    await new Promise((r) => setTimeout(r, 1000));
    await c.end();
    await connector.stop();
    const q = (xs: number[], p: number): number => {
      const s = [...xs].sort((a, b) => a - b);
      return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
    };
    const all = [...warmup, ...steady];
    record(`c|live|${mode}`, {
      ours: q(steady, 0.99),
      extra:
        `p50 ${q(steady, 0.5)} ms, max ${q(steady, 1)} ms over ${steady.length} changes after the warm-up ` +
        `(${id - steadyFromId} written); warm-up (first ${LATENCY_WARMUP_TICKS} transactions) p99 ` +
        `${q(warmup, 0.99)} ms, max ${q(warmup, 1)} ms; whole run p99 ${q(all, 0.99)} ms; ${rate.toFixed(0)} changes/s`,
    });
  } finally {
    await dropDb(env.baseUrl, db);
  }
}

async function snapshot(env: Env, mode: DeliveryMode): Promise<void> {
  const db = `bench_pg_snap_${stamp}_${seq++}`;
  const url = await freshDb(env.baseUrl, db, [
    TABLE,
    "INSERT INTO t SELECT g, g % 1000, 'row ' || g, g * 0.01, now() FROM generate_series(1, 1000000) g",
    "ANALYZE t",
  ]);
  const dir = await mkdtemp(join(tmpdir(), "mesh-bench-"));
  try {
    const t0 = performance.now();
    const child = await connectChild(join(dir, "connect.json"), {
      brokers: env.brokers,
      registryUrl: env.registryUrl,
      logLevel: "warn",
      sources: [source(db, url, mode, "initial")],
    });
    // Done when the snapshot state says so (written after its last row is acknowledged or committed).
    const key = snapshotStateKey(db, "postgres");
    for (;;) {
      const state = (await env.offsets.load(key)) as { snapshotDone?: boolean } | null;
      if (state?.snapshotDone === true) break;
      child.alive();
      await new Promise((r) => setTimeout(r, 100));
    }
    const secs = (performance.now() - t0) / 1000;
    const rss = child.peakRssMb();
    await child.stop();
    record(`d|snapshot|${mode}`, { ours: 1e6 / secs, extra: `peak RSS ${rss.toFixed(0)} MB` });
  } finally {
    await dropDb(env.baseUrl, db);
  }
}

function load(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
}

function spread(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const f = (x: number): string => (x >= 1000 ? x.toFixed(0) : x.toFixed(2));
  const med = s[Math.floor(s.length / 2)] as number;
  return s.length === 1 ? f(med) : `${f(s[0] as number)}–${f(s.at(-1) as number)} (median ${f(med)})`;
}

function spreadCpu(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 1
    ? (s[0] as number).toFixed(1)
    : `${(s[0] as number).toFixed(1)}–${(s.at(-1) as number).toFixed(1)}`;
}

const targets: Record<string, string> = {
  a: "≥ 0.8 ×",
  b: "≥ 0.5 ×",
  c: "p99 < 30 ms",
  d: "≥ 150k rows/s, RSS < 300 MB",
};

function report(): void {
  console.log(
    "\n| workload | phase | delivery | datamesh | pg_recvlogical | ratio | target | notes (each run) |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const [key, samples] of results) {
    const [w = "", phase, mode] = key.split("|");
    const ours = spread(samples.map((s) => s.ours));
    const theirs = samples[0]?.theirs === undefined ? "" : spread(samples.map((s) => s.theirs ?? NaN));
    const ratio =
      samples[0]?.theirs === undefined ? "" : spread(samples.map((s) => s.ours / (s.theirs ?? NaN)));
    const unit = w === "c" ? " ms (p99)" : " rows/s";
    const cpus = samples.flatMap((s) => (s.cpuPerRow === undefined ? [] : [s.cpuPerRow]));
    const cpu = cpus.length === 0 ? [] : [`cpu ${spreadCpu(cpus)} µs/row`];
    const notes = [...cpu, ...samples.map((s) => s.extra ?? "")].filter(Boolean).join("; ");
    console.log(
      `| (${w}) | ${phase} | ${mode} | ${ours}${unit} | ${theirs} | ${ratio} | ${targets[w] ?? ""} | ${notes} |`,
    );
  }
}

function runsWanted(): number {
  const n = Number(process.env.MESH_BENCH_RUNS ?? 3);
  return Number.isInteger(n) && n > 0 ? n : 3;
}

export async function run(): Promise<void> {
  const kafkaAt = benchKafka();
  const brokers = kafkaAt.brokers;
  const baseUrl = process.env.MESH_PG_URL ?? "postgres://mesh:mesh@127.0.0.1:15432/postgres";
  const registry = await startRegistry({
    adminToken: TEST_ADMIN_TOKEN,
    ...kafkaAt,
    port: 0,
    topic: `_schemas_bench_pg_${stamp}`,
    logger: silentLogger(),
  });
  const kafka = new KafkaClient({ ...kafkaAt, clientId: "bench-pg" });
  const offsets = kafkaOffsetStore(kafka);
  const env: Env = {
    baseUrl,
    brokers,
    registryUrl: registry.url,
    kafka,
    offsets,
    deps: (onAck) => ({
      kafka,
      registry: new RegistryClient({ token: TEST_ADMIN_TOKEN, url: registry.url }),
      offsets,
      logger: silentLogger(),
      ...(onAck ? { onTransactionAcked: onAck } : {}),
    }),
  };
  const only = process.env.MESH_BENCH_PG_ONLY?.split(",");
  const want = (k: string): boolean => !only || only.includes(k);
  const modes: DeliveryMode[] = process.env.MESH_BENCH_PG_DELIVERY
    ? [process.env.MESH_BENCH_PG_DELIVERY as DeliveryMode]
    : ["at-least-once", "exactly-once"];
  const runs = runsWanted();
  try {
    for (let r = 1; r <= runs; r++) {
      console.log(`run ${r}/${runs}: load average ${load()}`);
      // Modes alternate inside each run so that a change in the machine's load hits both alike.
      for (const mode of r % 2 === 1 ? modes : [...modes].reverse()) {
        for (const w of [workloadA, workloadB]) {
          if (!want(w.label)) continue;
          await catchUp(env, w, mode);
          await live(env, w, mode);
        }
        if (want("c")) await latency(env, mode);
        if (want("d")) await snapshot(env, mode);
      }
      console.log(`run ${r}/${runs} done: load average ${load()}`);
    }
  } finally {
    report();
    await kafka.close();
    await registry.stop();
  }
}
