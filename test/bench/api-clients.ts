// The client side of `npm run bench -- api`, run in child processes so it does not share the server's event
// loop: HTTP load through autocannon, and SSE subscribers that check every event arrived in order and record
// the delay from the event's Kafka CreateTime (set by the connector's producer when it sends) to the moment
// the bytes reached the client (taken once per socket read, before any parsing, so parsing cost is not
// counted as delivery delay, and the client's own CPU time is reported beside it).
import { spawn } from "node:child_process";
import http from "node:http";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { tailFetchWaitMs } from "../../api/topics/shared-tail.ts";
import { KafkaClient, kafkaSaslFromEnv } from "../../lib/kafka/index.ts";
import { authHeaders } from "../support/auth.ts";

export interface LoadJob {
  kind: "load";
  base: string;
  paths: string[];
  seconds: number;
  connections: number;
}
export interface SseJob {
  kind: "sse";
  url: string;
  subscribers: number;
  expected: number;
  timeoutMs: number;
}
/** A plain lib/kafka reader on the same topic: the delay Kafka and the client alone add (the floor for SSE). */
export interface KafkaJob {
  kind: "kafka";
  brokers: string[];
  topic: string;
  expected: number;
  timeoutMs: number;
}
export interface LoadResult {
  rps: number;
  p99Ms: number;
  errors: number;
}
export interface SseResult {
  complete: number;
  inOrder: number;
  received: number;
  /** Delay histogram: milliseconds → count. */
  delays: Record<string, number>;
  errors: string[];
  /** CPU time this client process used (user + system), ms. */
  cpuMs: number;
  wallMs: number;
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
    headers: authHeaders(),
    connections: job.connections,
    duration: job.seconds,
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

// Only the three fields measured, found by one regex pass over each read (no JSON.parse of the envelope).
const headRe = /"partition":(\d+),"offset":"(\d+)","timestamp":"([^"]+)"/g;

/** `subscribers` SSE clients on one URL; each checks it got every event in offset order per partition. */
async function sseJob(job: SseJob): Promise<SseResult> {
  const delays = new Map<number, number>();
  const errors: string[] = [];
  let complete = 0;
  let inOrder = 0;
  let received = 0;
  let lastStamp = "";
  let lastMs = 0;
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
        let connected = false;
        let buf = "";
        const finish = (): void => {
          clearTimeout(timer);
          req.destroy();
          resolve();
        };
        const timer = setTimeout(finish, job.timeoutMs);
        const req = http.get(job.url, { headers: authHeaders() }, (res) => {
          res.setEncoding("utf8");
          if (res.statusCode !== 200) {
            errors.push(`HTTP ${res.statusCode}`);
            opened();
          }
          res.on("data", (chunk: string) => {
            const now = Date.now();
            // Positioned: every event written from now on reaches this client (docs/api.md).
            if (!connected && chunk.includes(": subscribed")) {
              connected = true;
              opened();
            }
            if (chunk.includes("event: error")) errors.push(chunk.slice(0, 300));
            // Parse complete events only; a frame split across reads waits for its end.
            buf += chunk;
            const end = buf.lastIndexOf("\n\n");
            if (end < 0) return;
            const whole = buf.slice(0, end);
            buf = buf.slice(end + 2);
            headRe.lastIndex = 0;
            for (let m = headRe.exec(whole); m; m = headRe.exec(whole)) {
              const stamp = m[3]!;
              if (stamp !== lastStamp) {
                lastStamp = stamp;
                lastMs = Date.parse(stamp);
              }
              const delay = now - lastMs;
              delays.set(delay, (delays.get(delay) ?? 0) + 1);
              const partition = Number(m[1]);
              const offset = Number(m[2]);
              const prev = last.get(partition);
              if (prev !== undefined && offset !== prev + 1) ordered = false;
              last.set(partition, offset);
              count++;
              received++;
              if (count === job.expected) {
                complete++;
                if (ordered) inOrder++;
                finish();
                return;
              }
            }
          });
        });
        req.on("error", (err) => {
          if (count < job.expected) errors.push(err.message);
          opened();
          resolve();
        });
      }),
    );
  }
  await Promise.all(ready);
  process.stdout.write("ready\n");
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  await Promise.all(done);
  const cpu = process.cpuUsage(cpu0);
  return {
    complete,
    inOrder,
    received,
    delays: Object.fromEntries(delays),
    errors: errors.slice(0, 5),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    wallMs: Date.now() - t0,
  };
}

async function kafkaJob(job: KafkaJob): Promise<SseResult> {
  // The login comes from the environment the bench passed down (never in the job's argv).
  const sasl = kafkaSaslFromEnv(process.env);
  const kafka = new KafkaClient({
    brokers: job.brokers,
    ...(sasl ? { sasl } : {}),
    clientId: "bench-baseline",
  });
  // The shared tail's settings (api/topics/shared-tail.ts), so the two differ only by the API's own work.
  const reader = kafka.reader({ maxWaitMs: tailFetchWaitMs });
  const delays = new Map<number, number>();
  let received = 0;
  const reading = new AbortController();
  const timer = setTimeout(() => reading.abort(), job.timeoutMs);
  const partitions = (await kafka.admin().partitionCounts([job.topic])).get(job.topic) ?? 0;
  await reader.assign(
    Array.from({ length: partitions }, (_, partition) => ({
      topic: job.topic,
      partition,
      offset: "latest" as const,
    })),
  );
  process.stdout.write("ready\n");
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  for await (const batch of reader.batches(reading.signal)) {
    const now = Date.now();
    for (const r of batch.records) {
      const delay = now - r.timestamp;
      delays.set(delay, (delays.get(delay) ?? 0) + 1);
      if (++received === job.expected) reading.abort();
    }
  }
  clearTimeout(timer);
  const cpu = process.cpuUsage(cpu0);
  await kafka.close();
  const complete = received === job.expected ? 1 : 0;
  return {
    complete,
    inOrder: complete,
    received,
    delays: Object.fromEntries(delays),
    errors: [],
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    wallMs: Date.now() - t0,
  };
}

/** Runs a job in a child process; `onReady` fires when an SSE child has every subscriber connected. */
export function child<T>(job: LoadJob | SseJob | KafkaJob, onReady?: () => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), JSON.stringify(job)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    proc.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.startsWith("ready\n")) {
        out = out.slice(6);
        onReady?.();
        onReady = undefined;
      }
    });
    proc.once("error", reject);
    proc.once("exit", (code) =>
      code === 0 ? resolve(JSON.parse(out) as T) : reject(new Error(`bench child exited ${code}`)),
    );
  });
}

/** Merged delay histograms → percentile in ms. */
export function percentile(histograms: Record<string, number>[], p: number): number {
  const merged = new Map<number, number>();
  let total = 0;
  for (const h of histograms) {
    for (const [k, n] of Object.entries(h)) {
      merged.set(Number(k), (merged.get(Number(k)) ?? 0) + n);
      total += n;
    }
  }
  const sorted = [...merged.entries()].sort((a, b) => a[0] - b[0]);
  const rank = Math.min(total - 1, Math.floor(total * p));
  let seen = 0;
  for (const [ms, n] of sorted) {
    seen += n;
    if (seen > rank) return ms;
  }
  return NaN;
}

if (import.meta.main) {
  const job = JSON.parse(process.argv[2] ?? "{}") as LoadJob | SseJob | KafkaJob;
  const out =
    job.kind === "load" ? await loadJob(job) : job.kind === "sse" ? await sseJob(job) : await kafkaJob(job);
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
}
