// MySQL/MariaDB connector benchmark (issue 12), each throughput beside `mariadb-binlog
// --read-from-remote-server` reading the same binlog range in the same run (plain: the server's bytes to
// base64 text; and with --verbose, which decodes every row as we do), in both delivery modes:
//   (a) one 500k-row insert transaction, (b) 100k single-row update transactions: rows/s to Kafka
//       acknowledgement (exactly-once: to the commit of the Kafka transaction), catching up (the workload
//       is committed while the connector is stopped; it then reads from its stored position).
//   (c) commit → acknowledgement latency p50/p99 at a steady 5k changes/s (100 transactions/s of 50 rows) for
//       18 s after a 2 s warm-up (printed apart).
//   (d) a 1M-row initial snapshot by `mesh connect` in a child process: rows/s and its peak RSS (VmHWM).
// MESH_BENCH_MYSQL_ONLY=a,b picks workloads; MESH_BENCH_MYSQL_DELIVERY=exactly-once picks one mode;
// MESH_BENCH_RUNS (or `--runs N`, default 1) repeats them.
import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import mysql from "mysql2/promise";
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
import { connectChild } from "./pg-readers.ts";
import { TEST_ADMIN_TOKEN } from "../support/auth.ts";
import { benchKafka } from "./kafka-connection.ts";

registerBuiltInBackends();
const stamp = Date.now().toString(36);
let seq = 0;
const TABLE =
  "CREATE TABLE t (id BIGINT PRIMARY KEY, a INT, b VARCHAR(40), c DECIMAL(12,2), d TIMESTAMP(6) NULL)";

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
  plain?: number;
  verbose?: number;
  extra?: string;
}
const results = new Map<string, Sample[]>();
function record(key: string, s: Sample): void {
  results.set(key, [...(results.get(key) ?? []), s]);
}

async function sql(url: string, ...statements: string[]): Promise<mysql.RowDataPacket[]> {
  const c = await mysql.createConnection({ uri: url, multipleStatements: false });
  c.on("error", () => undefined);
  try {
    let last: mysql.RowDataPacket[] = [];
    for (const s of statements) last = (await c.query(s))[0] as mysql.RowDataPacket[];
    return last;
  } finally {
    await c.end();
  }
}

function dbUrl(baseUrl: string, db: string): string {
  const u = new URL(baseUrl);
  u.pathname = `/${db}`;
  return u.toString();
}

async function freshDb(baseUrl: string, name: string, ddl: string[]): Promise<string> {
  await sql(baseUrl, `CREATE DATABASE ${name}`);
  const url = dbUrl(baseUrl, name);
  await sql(url, ...ddl);
  return url;
}

async function dropDb(baseUrl: string, name: string): Promise<void> {
  await sql(baseUrl, `DROP DATABASE IF EXISTS ${name}`);
}

async function head(url: string): Promise<{ file: string; pos: number }> {
  const [r] = await sql(url, "SHOW MASTER STATUS");
  return { file: String(r?.File as string), pos: Number(r?.Position as number) };
}

/** Seconds `mariadb-binlog --read-from-remote-server` takes over [from, to) (with --verbose: rows decoded). */
async function binlogReader(
  url: string,
  from: { file: string; pos: number },
  to: { file: string; pos: number },
  verbose: boolean,
): Promise<number> {
  const u = new URL(url);
  const logs = (await sql(url, "SHOW BINARY LOGS")).map((r) => String(r.Log_name as string));
  const files = logs.slice(logs.indexOf(from.file), logs.indexOf(to.file) + 1);
  const args = [
    "--read-from-remote-server",
    `--host=${u.hostname}`,
    `--port=${u.port}`,
    `--user=${decodeURIComponent(u.username)}`,
    `--password=${decodeURIComponent(u.password)}`,
    `--start-position=${from.pos}`,
    `--stop-position=${to.pos}`,
    ...(verbose ? ["--verbose"] : []),
    ...files,
  ];
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const p = spawn("mariadb-binlog", args, { stdio: ["ignore", "ignore", "inherit"] });
    p.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`mariadb-binlog exited with ${code}`)),
    );
  });
  return (performance.now() - started) / 1000;
}

interface Workload {
  label: string;
  rows: number;
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
      "INSERT INTO t SELECT seq, seq % 1000, CONCAT('row ', seq), seq * 0.01, NOW(6) FROM seq_1_to_500000",
    ).then(() => undefined),
};

const workloadB: Workload = {
  label: "b",
  rows: 100_000,
  transactions: 100_000,
  setup: (url) =>
    sql(
      url,
      "INSERT INTO t SELECT seq, 0, CONCAT('row ', seq), 0, NOW(6) FROM seq_1_to_1000",
      // With autocommit each statement of a procedure commits on its own: 100k transactions.
      `CREATE PROCEDURE updates() BEGIN
         DECLARE i INT DEFAULT 0;
         WHILE i < 100000 DO UPDATE t SET a = a + 1 WHERE id = (i % 1000) + 1; SET i = i + 1; END WHILE;
       END`,
    ).then(() => undefined),
  run: (url) => sql(url, "CALL updates()").then(() => undefined),
};

function source(name: string, url: string, delivery: DeliveryMode, snapshot: SourceDefinition["snapshot"]) {
  return { name, owner: "bench", kind: "mysql" as const, url, tables: [`${name}.t`], snapshot, delivery };
}

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
  const db = `bench_my_${w.label}_${stamp}_${seq++}`;
  const url = await freshDb(env.baseUrl, db, [TABLE]);
  try {
    await w.setup(url);
    const def = source(db, url, mode, "never");
    const acks = ackCounter();
    let connector = createConnector(def, env.deps(acks.deps));
    await connector.start(); // stores its position: the end of the binlog now
    await connector.stop();
    const from = await head(url);
    const w0 = performance.now();
    await w.run(url);
    const workloadSecs = (performance.now() - w0) / 1000;
    const to = await head(url);
    const before = acks.count();
    connector = createConnector(def, env.deps(acks.deps));
    const t0 = performance.now();
    await connector.start();
    const t1 = await acks.at(before + w.transactions);
    await connector.stop();
    const plain = await binlogReader(url, from, to, false);
    const verbose = await binlogReader(url, from, to, true);
    record(`${w.label}|catch-up|${mode}`, {
      ours: w.rows / ((t1 - t0) / 1000),
      plain: w.rows / plain,
      verbose: w.rows / verbose,
      extra: `workload ${(w.rows / workloadSecs).toFixed(0)}/s, ${((to.pos - from.pos) / 1e6).toFixed(1)} MB of binlog`,
    });
  } finally {
    await dropDb(env.baseUrl, db);
  }
}

const LATENCY_WARMUP_TICKS = 200;
const LATENCY_TICKS = 2000;

async function latency(env: Env, mode: DeliveryMode): Promise<void> {
  const db = `bench_my_lat_${stamp}_${seq++}`;
  const url = await freshDb(env.baseUrl, db, [
    "CREATE TABLE t (id BIGINT PRIMARY KEY, a INT, b VARCHAR(40))",
  ]);
  // The binlog's event times have whole seconds: too coarse for milliseconds. Transactions are acknowledged
  // in commit order, so the n-th acknowledgement is the n-th commit, whose time the client knows.
  const committed: number[] = [];
  const acked: number[] = [];
  try {
    const connector = createConnector(
      source(db, url, mode, "never"),
      env.deps(() => void acked.push(performance.now())),
    );
    await connector.start();
    const c = await mysql.createConnection(url);
    await c.query("INSERT INTO t VALUES (0, 0, 'warm-up')");
    while (acked.length < 1) await new Promise((r) => setTimeout(r, 10));
    acked.length = 0;
    // 5,000 changes/s as 100 transactions/s of 50 rows: 2 s of warm-up (printed apart, as in the pg bench),
    // then 18 s measured.
    const start = performance.now();
    let id = 0;
    for (let tick = 0; tick < LATENCY_TICKS; tick++) {
      const values = Array.from({ length: 50 }, () => `(${++id}, ${id % 1000}, 'row ${id}')`).join(",");
      await c.query(`INSERT INTO t VALUES ${values}`);
      committed.push(performance.now());
      const wait = start + (tick + 1) * 10 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const rate = id / ((performance.now() - start) / 1000);
    const deadline = performance.now() + 30_000;
    while (acked.length < committed.length && performance.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    await c.end();
    await connector.stop();
    const latencies = committed.map((t, i) => (acked[i] ?? NaN) - t);
    const q = (xs: number[], p: number): number => {
      const s = [...xs].sort((a, b) => a - b);
      return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
    };
    const steady = latencies.slice(LATENCY_WARMUP_TICKS);
    const warmup = latencies.slice(0, LATENCY_WARMUP_TICKS);
    const f = (x: number): string => x.toFixed(1);
    record(`c|live|${mode}`, {
      ours: q(steady, 0.99),
      extra:
        `p50 ${f(q(steady, 0.5))} ms, max ${f(q(steady, 1))} ms over ${steady.length} transactions after the ` +
        `warm-up; warm-up (first ${LATENCY_WARMUP_TICKS}) p99 ${f(q(warmup, 0.99))} ms; whole run p99 ` +
        `${f(q(latencies, 0.99))} ms; ${rate.toFixed(0)} changes/s (${acked.length}/${committed.length} acknowledged)`,
    });
  } finally {
    await dropDb(env.baseUrl, db);
  }
}

async function snapshot(env: Env, mode: DeliveryMode): Promise<void> {
  const db = `bench_my_snap_${stamp}_${seq++}`;
  const url = await freshDb(env.baseUrl, db, [
    TABLE,
    "INSERT INTO t SELECT seq, seq % 1000, CONCAT('row ', seq), seq * 0.01, NOW(6) FROM seq_1_to_1000000",
    "ANALYZE TABLE t",
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
    const key = snapshotStateKey(db, "mysql");
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

const targets: Record<string, string> = {
  a: "≥ 0.8 ×",
  b: "≥ 0.5 ×",
  c: "p99 < 30 ms",
  d: "≥ 150k rows/s, RSS < 300 MB",
};

function report(): void {
  console.log(
    "\n| workload | phase | delivery | datamesh | mariadb-binlog | ratio | mariadb-binlog -v | ratio | target | notes |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const [key, samples] of results) {
    const [w = "", phase, mode] = key.split("|");
    const ours = spread(samples.map((s) => s.ours));
    const col = (pick: (s: Sample) => number | undefined): [string, string] =>
      samples[0] && pick(samples[0]) !== undefined
        ? [spread(samples.map((s) => pick(s) ?? NaN)), spread(samples.map((s) => s.ours / (pick(s) ?? NaN)))]
        : ["", ""];
    const [plain, plainRatio] = col((s) => s.plain);
    const [verbose, verboseRatio] = col((s) => s.verbose);
    const unit = w === "c" ? " ms (p99)" : " rows/s";
    const notes = samples
      .map((s) => s.extra ?? "")
      .filter(Boolean)
      .join("; ");
    console.log(
      `| (${w}) | ${phase} | ${mode} | ${ours}${unit} | ${plain} | ${plainRatio} | ${verbose} | ${verboseRatio} | ${targets[w] ?? ""} | ${notes} |`,
    );
  }
}

function runsWanted(): number {
  const n = Number(process.env.MESH_BENCH_RUNS ?? 1);
  return Number.isInteger(n) && n > 0 ? n : 1;
}

export async function run(): Promise<void> {
  const kafkaAt = benchKafka();
  const brokers = kafkaAt.brokers;
  const baseUrl = process.env.MESH_MYSQL_URL ?? "mysql://mesh:mesh@127.0.0.1:13306/mysql";
  const registry = await startRegistry({
    adminToken: TEST_ADMIN_TOKEN,
    ...kafkaAt,
    port: 0,
    topic: `_schemas_bench_my_${stamp}`,
    logger: silentLogger(),
  });
  const kafka = new KafkaClient({ ...kafkaAt, clientId: "bench-mysql" });
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
  const only = process.env.MESH_BENCH_MYSQL_ONLY?.split(",");
  const want = (k: string): boolean => !only || only.includes(k);
  const modes: DeliveryMode[] = process.env.MESH_BENCH_MYSQL_DELIVERY
    ? [process.env.MESH_BENCH_MYSQL_DELIVERY as DeliveryMode]
    : ["at-least-once", "exactly-once"];
  const runs = runsWanted();
  try {
    for (let r = 1; r <= runs; r++) {
      console.log(`run ${r}/${runs}: load average ${load()}`);
      for (const mode of r % 2 === 1 ? modes : [...modes].reverse()) {
        for (const w of [workloadA, workloadB]) if (want(w.label)) await catchUp(env, w, mode);
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
