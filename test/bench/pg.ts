// Postgres connector benchmark (issue 4). Each throughput is measured as catch-up over a range of committed
// WAL: the connector streams it from its slot to Kafka acknowledgement, and pg_recvlogical streams the same
// range from a second slot created at the same point (the decoding limit), printed as a ratio:
//   (a) one 500k-row insert transaction, (b) 100k single-row update transactions,
//   (c) commit→ack latency p50/p99 at a steady 5k changes/s, (d) a 1M-row initial snapshot: rows/s and peak RSS.
import { spawn } from "node:child_process";
import pg from "pg";
import { KafkaClient } from "../../lib/kafka/index.ts";
import { silentLogger } from "../../lib/logger.ts";
import { startRegistry } from "../../registry/server.ts";
import {
  createConnector,
  type Connector,
  type ConnectorDeps,
  type SourceDefinition,
} from "../../connectors/core/change-source.ts";
import { registerBuiltInBackends } from "../../connectors/backends.ts";
import { memoryOffsetStore } from "../../connectors/core/offset-store.ts";
import { RegistryClient } from "../../lib/registry-client.ts";

registerBuiltInBackends();
const stamp = Date.now().toString(36);

async function sql(url: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text, values);
  } finally {
    await c.end();
  }
}

async function recvlogical(url: string, slot: string, publication: string, endLsn: string): Promise<number> {
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const p = spawn(
      "pg_recvlogical",
      [
        "-d",
        url,
        "--slot",
        slot,
        "--start",
        "--endpos",
        endLsn,
        "--no-loop",
        "-o",
        "proto_version=1",
        "-o",
        `publication_names=${publication}`,
        "-f",
        "/dev/null",
      ],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    p.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`pg_recvlogical exited with ${code}`)),
    );
  });
  return (performance.now() - started) / 1000;
}

interface Env {
  baseUrl: string;
  deps: (onAck?: ConnectorDeps["onTransactionAcked"]) => ConnectorDeps;
}

async function freshDb(env: Env, name: string, ddl: string[]): Promise<string> {
  await sql(env.baseUrl, `CREATE DATABASE ${name}`);
  const url = new URL(env.baseUrl);
  url.pathname = `/${name}`;
  for (const d of ddl) await sql(url.toString(), d);
  return url.toString();
}

async function dropDb(env: Env, name: string): Promise<void> {
  await sql(
    env.baseUrl,
    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active",
    [name],
  );
  await sql(env.baseUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

/** Commits `workload` while the connector is stopped, then times both readers over the same WAL range. */
async function catchUp(
  env: Env,
  label: string,
  rows: number,
  workload: (url: string) => Promise<void>,
  transactions: number,
): Promise<void> {
  const db = `bench_pg_${label}_${stamp}`;
  const url = await freshDb(env, db, [
    "CREATE TABLE t (id bigint PRIMARY KEY, a int, b text, c numeric(12,2), d timestamptz)",
  ]);
  const def: SourceDefinition = {
    name: `bench_${label}_${stamp}`,
    owner: "bench",
    kind: "postgres",
    url,
    tables: ["public.t"],
    snapshot: "never",
  };
  let acked = 0;
  let events = 0;
  const deps = env.deps((_c, n) => {
    acked++;
    events += n;
  });
  let connector: Connector = createConnector(def, deps);
  await connector.start(); // creates the slot and publication
  await connector.stop();
  const publication = `mesh_${def.name}`;
  await sql(url, "SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [`recv_${label}_${stamp}`]);
  await workload(url);
  const endLsn = (await sql(url, "SELECT pg_current_wal_lsn()::text AS l")).rows[0].l as string;
  connector = createConnector(def, deps);
  await connector.start();
  const t0 = performance.now();
  while (acked < transactions) await new Promise((r) => setTimeout(r, 5));
  const ours = (performance.now() - t0) / 1000;
  await connector.stop();
  const theirs = await recvlogical(url, `recv_${label}_${stamp}`, publication, endLsn);
  console.log(
    `${label}: ${rows} changes — connector ${(rows / ours).toFixed(0)} changes/s (${ours.toFixed(2)} s, ${events} events acked), ` +
      `pg_recvlogical ${(rows / theirs).toFixed(0)} changes/s (${theirs.toFixed(2)} s); ratio ${(theirs / ours).toFixed(2)}`,
  );
  await dropDb(env, db);
}

async function latency(env: Env): Promise<void> {
  const db = `bench_pg_lat_${stamp}`;
  const url = await freshDb(env, db, ["CREATE TABLE t (id bigint PRIMARY KEY, a int, b text)"]);
  const samples: number[] = [];
  const connector = createConnector(
    {
      name: `bench_lat_${stamp}`,
      owner: "bench",
      kind: "postgres",
      url,
      tables: ["public.t"],
      snapshot: "never",
    },
    env.deps((commitMicros, n) => {
      const ms = Date.now() - Number(commitMicros / 1000n);
      for (let i = 0; i < n; i++) samples.push(ms);
    }),
  );
  await connector.start();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  // 5,000 changes/s as 100 transactions/s of 50 rows, for 10 s.
  const start = performance.now();
  let id = 0;
  for (let tick = 0; tick < 1000; tick++) {
    const values = Array.from({ length: 50 }, () => `(${++id}, ${id % 1000}, 'row ${id}')`).join(",");
    await c.query(`INSERT INTO t VALUES ${values}`);
    const wait = start + (tick + 1) * 10 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const rate = id / ((performance.now() - start) / 1000);
  await new Promise((r) => setTimeout(r, 1000));
  await c.end();
  await connector.stop();
  samples.sort((a, b) => a - b);
  const q = (p: number): number =>
    samples[Math.min(samples.length - 1, Math.floor(p * samples.length))] ?? NaN;
  console.log(
    `latency at ${rate.toFixed(0)} changes/s: commit→ack p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms (${samples.length} changes)`,
  );
  await dropDb(env, db);
}

async function snapshot(env: Env): Promise<void> {
  const db = `bench_pg_snap_${stamp}`;
  const url = await freshDb(env, db, [
    "CREATE TABLE t (id bigint PRIMARY KEY, a int, b text, c numeric(12,2), d timestamptz)",
    "INSERT INTO t SELECT g, g % 1000, 'row ' || g, g * 0.01, now() FROM generate_series(1, 1000000) g",
    "ANALYZE t",
  ]);
  const connector = createConnector(
    {
      name: `bench_snap_${stamp}`,
      owner: "bench",
      kind: "postgres",
      url,
      tables: ["public.t"],
      snapshot: "initial",
    },
    env.deps(),
  );
  let peak = process.memoryUsage().rss;
  const rssBefore = peak;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  const t0 = performance.now();
  await connector.start();
  while (connector.status().state !== "streaming") await new Promise((r) => setTimeout(r, 20));
  const secs = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  await connector.stop();
  console.log(
    `snapshot: 1,000,000 rows in ${secs.toFixed(1)} s = ${(1e6 / secs).toFixed(0)} rows/s to Kafka ack; ` +
      `peak RSS ${(peak / 2 ** 20).toFixed(0)} MB (${(rssBefore / 2 ** 20).toFixed(0)} MB before)`,
  );
  await dropDb(env, db);
}

export async function run(): Promise<void> {
  const brokers = (process.env.MESH_KAFKA_BROKERS ?? "127.0.0.1:19092").split(",");
  const baseUrl = process.env.MESH_PG_URL ?? "postgres://mesh:mesh@127.0.0.1:15432/postgres";
  const registry = await startRegistry({
    brokers,
    port: 0,
    topic: `_schemas_bench_pg_${stamp}`,
    logger: silentLogger(),
  });
  const kafka = new KafkaClient({ brokers, clientId: "bench-pg" });
  const env: Env = {
    baseUrl,
    deps: (onAck) => ({
      kafka,
      registry: new RegistryClient({ url: registry.url }),
      offsets: memoryOffsetStore(),
      logger: silentLogger(),
      ...(onAck ? { onTransactionAcked: onAck } : {}),
    }),
  };
  try {
    const only = process.env.MESH_BENCH_PG_ONLY?.split(",");
    const want = (k: string): boolean => !only || only.includes(k);
    if (want("a"))
      await catchUp(
        env,
        "a_one_500k_txn",
        500_000,
        (url) =>
          sql(
            url,
            "INSERT INTO t SELECT g, g % 1000, 'row ' || g, g * 0.01, now() FROM generate_series(1, 500000) g",
          ).then(() => undefined),
        1,
      );
    if (want("b")) {
      await catchUp(
        env,
        "b_100k_update_txns",
        100_000,
        async (url) => {
          await sql(url, "INSERT INTO t SELECT g, 0, 'row ' || g, 0, now() FROM generate_series(1, 1000) g");
          await sql(
            url,
            "DO $$ BEGIN FOR i IN 1..100000 LOOP UPDATE t SET a = a + 1 WHERE id = (i % 1000) + 1; COMMIT; END LOOP; END $$",
          );
        },
        100_001,
      );
    }
    if (want("c")) await latency(env);
    if (want("d")) await snapshot(env);
  } finally {
    await kafka.close();
    await registry.stop();
  }
}
