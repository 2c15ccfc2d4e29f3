// The Postgres bench's readers and databases: pg_recvlogical as the decoding limit (catching up to an end
// LSN, or live until a marker message arrives), a fresh database per measurement, and `mesh connect` as a
// child process (for the snapshot's memory: its own peak RSS, not the bench's).
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import pg from "pg";
import { TEST_ADMIN_TOKEN } from "../support/auth.ts";

export async function sql(url: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text, values);
  } finally {
    await c.end();
  }
}

export async function freshDb(baseUrl: string, name: string, ddl: string[]): Promise<string> {
  await sql(baseUrl, `CREATE DATABASE ${name}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  for (const d of ddl) await sql(url.toString(), d);
  return url.toString();
}

export async function dropDb(baseUrl: string, name: string): Promise<void> {
  await sql(
    baseUrl,
    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active",
    [name],
  );
  await sql(baseUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

export async function currentLsn(url: string): Promise<string> {
  return (await sql(url, "SELECT pg_current_wal_lsn()::text AS l")).rows[0].l as string;
}

function recvArgs(url: string, slot: string, publication: string): string[] {
  return [
    "-d",
    url,
    "--slot",
    slot,
    "--start",
    "--no-loop",
    "-o",
    "proto_version=1",
    "-o",
    `publication_names=${publication}`,
    "-o",
    "messages=true",
  ];
}

/** Seconds pg_recvlogical takes to stream the slot up to `endLsn` (catching up: the WAL is all there). */
export async function recvCatchUp(
  url: string,
  slot: string,
  publication: string,
  endLsn: string,
): Promise<number> {
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const p = spawn(
      "pg_recvlogical",
      [...recvArgs(url, slot, publication), "--endpos", endLsn, "-f", "/dev/null"],
      {
        stdio: ["ignore", "ignore", "inherit"],
      },
    );
    p.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`pg_recvlogical exited with ${code}`)),
    );
  });
  return (performance.now() - started) / 1000;
}

/** The marker a live run emits after its workload (a non-transactional logical message). */
export const END_MARKER = "datamesh-bench-end";

/**
 * pg_recvlogical streaming the slot live; `ended` resolves with the time (performance.now()) it received the
 * end marker.
 */
export function recvLive(
  url: string,
  slot: string,
  publication: string,
): { ended: Promise<number>; stop: () => void } {
  const p: ChildProcess = spawn("pg_recvlogical", [...recvArgs(url, slot, publication), "-f", "-"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const marker = Buffer.from(END_MARKER);
  let tail = Buffer.alloc(0);
  const ended = new Promise<number>((resolve, reject) => {
    p.stdout?.on("data", (chunk: Buffer) => {
      const at = performance.now();
      const window = Buffer.concat([tail, chunk]);
      if (window.includes(marker)) resolve(at);
      tail = window.subarray(Math.max(0, window.length - marker.length));
    });
    p.once("exit", (code) => reject(new Error(`pg_recvlogical exited with ${code} before the end marker`)));
  });
  ended.catch(() => undefined);
  return { ended, stop: () => void p.kill("SIGTERM") };
}

export async function emitEndMarker(url: string): Promise<void> {
  await sql(url, "SELECT pg_logical_emit_message(false, $1, 'x')", [END_MARKER]);
}

/**
 * `mesh connect` in a child process with one source; `peakRssMb()` reads its VmHWM, `alive()` throws once the
 * child exited (a bench waiting on its progress must not wait for a process that is gone).
 */
export async function connectChild(
  configPath: string,
  config: Record<string, unknown>,
): Promise<{ pid: number; peakRssMb: () => number; alive: () => void; stop: () => Promise<void> }> {
  await writeFile(configPath, JSON.stringify(config));
  const child = spawn(process.execPath, ["connectors/main.ts", "--config", configPath], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, MESH_ADMIN_TOKEN: TEST_ADMIN_TOKEN },
  });
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((r) =>
    child.once("exit", (code) => {
      exitCode = code;
      r();
    }),
  );
  return {
    pid: child.pid ?? 0,
    alive: () => {
      if (exitCode !== undefined)
        throw new Error(`mesh connect exited (code ${exitCode}) before the bench ended`);
    },
    peakRssMb: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      return kb / 1024;
    },
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}
