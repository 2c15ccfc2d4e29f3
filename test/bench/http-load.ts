// HTTP load for the benchmarks: autocannon in a child process, so the client does not share the server's event
// loop: `connections` keep-alive connections for `seconds`, requests chosen by `kind`.
import { createRequire } from "node:module";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { authHeaders } from "../support/auth.ts";

export type LoadKind = "ping" | "root" | "by-id" | "latest" | "register";

export interface LoadJob {
  base: string;
  seconds: number;
  connections: number;
  kind: LoadKind;
  /** Number of seeded schemas (ids idBase..idBase+n-1, subjects <prefix>-0-value..<prefix>-(n-1)-value). */
  seeded: number;
  /** Schema type of the seeded and registered schemas (AVRO when absent). */
  format?: BenchFormat;
  idBase?: number;
  subjectPrefix?: string;
  /** Registrations: bench schema numbers (and subjects) start at 1,000,000 + this (a round of its own). */
  registerBase?: number;
}

export type BenchFormat = "AVRO" | "PROTOBUF" | "JSON";

export interface LoadResult {
  rps: number;
  p99Ms: number;
  errors: number;
}

export function schemaText(i: number): string {
  return JSON.stringify({
    type: "record",
    name: `Bench${i}`,
    namespace: "bench",
    fields: [
      { name: "id", type: "long" },
      { name: `f${i}`, type: "string" },
    ],
  });
}

/** The registration body of bench schema `i` in `format`: a record (Avro), a message (Protobuf), an object (JSON). */
export function schemaBody(format: BenchFormat, i: number): { schema: string; schemaType?: string } {
  switch (format) {
    case "AVRO":
      return { schema: schemaText(i) };
    case "PROTOBUF":
      return {
        schemaType: format,
        schema: `syntax = "proto3";\npackage bench;\n\nmessage Bench${i} {\n  int64 id = 1;\n  string f${i} = 2;\n}\n`,
      };
    case "JSON":
      return {
        schemaType: format,
        schema: JSON.stringify({
          title: `Bench${i}`,
          type: "object",
          properties: { id: { type: "integer" }, [`f${i}`]: { type: "string" } },
          required: ["id"],
        }),
      };
  }
}

function nextRequest(job: LoadJob, i: number): { method: string; path: string; body?: string } {
  const prefix = job.subjectPrefix ?? "bench";
  switch (job.kind) {
    case "ping":
      return { method: "GET", path: "/ping" };
    case "root":
      return { method: "GET", path: "/" };
    case "by-id":
      return { method: "GET", path: `/schemas/ids/${(i % job.seeded) + (job.idBase ?? 1)}` };
    case "latest":
      return { method: "GET", path: `/subjects/${prefix}-${i % job.seeded}-value/versions/latest` };
    case "register":
      return {
        method: "POST",
        path: `/subjects/${prefix}-reg-${(job.registerBase ?? 0) + i}-value/versions`,
        body: JSON.stringify(schemaBody(job.format ?? "AVRO", 1_000_000 + (job.registerBase ?? 0) + i)),
      };
  }
}

interface AutocannonResult {
  requests: { average: number };
  latency: { p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;
// autocannon ships no types; this is the slice used here.
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

async function runJob(job: LoadJob): Promise<LoadResult> {
  let i = 0;
  const result = await autocannon({
    url: job.base,
    connections: job.connections,
    duration: job.seconds,
    requests: [
      {
        setupRequest: (req: Record<string, unknown>) => {
          const next = nextRequest(job, i++);
          return {
            ...req,
            method: next.method,
            path: next.path,
            headers: { ...authHeaders(), ...(next.body ? { "content-type": "application/json" } : {}) },
            ...(next.body ? { body: next.body } : {}),
          };
        },
      },
    ],
  });
  return {
    rps: Math.round(result.requests.average),
    p99Ms: result.latency.p99,
    errors: result.non2xx + result.errors + result.timeouts,
  };
}

/** Runs one load job in a child process (autocannon inside a worker thread reports partial results). */
export function load(job: LoadJob): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), JSON.stringify(job)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code === 0) resolve(JSON.parse(out) as LoadResult);
      else reject(new Error(`load generator exited with ${code}`));
    });
  });
}

if (import.meta.main) {
  const job = JSON.parse(process.argv[2] ?? "{}") as LoadJob;
  process.stdout.write(JSON.stringify(await runJob(job)));
}
