// Test harness for end-to-end tests: a registry and API processes (in this test process) on the real stack,
// each API on port 0 with its own catalog topic, plus HTTP/SSE helpers. Not a test file.
import { execFile } from "node:child_process";
import http from "node:http";
import { promisify } from "node:util";
import type { InRecord, KafkaClient } from "../../lib/kafka/index.ts";
import { silentLogger } from "../../lib/logger.ts";
import type { ViewEngine } from "../../materializer/contract.ts";
import { startRegistry, type RunningRegistry } from "../../registry/server.ts";
import { authHeaders, TEST_ADMIN_TOKEN, TEST_AUTH_ENV } from "../../test/support/auth.ts";
import { kafkaConnection, kafkaEnv, uniqueName } from "../../test/support/stack.ts";
import { waitFor } from "../../test/support/wait.ts";
import { parseApiConfig } from "../config.ts";
import { startApi, type RunningApi } from "../service.ts";

/** `catalogTopic`: whose service tokens it accepts (default `_mesh_catalog`; the admin token always works). */
export async function startTestRegistry(catalogTopic?: string): Promise<RunningRegistry> {
  return startRegistry({
    ...kafkaConnection(),
    port: 0,
    topic: uniqueName("_schemas_e2e"),
    logger: silentLogger(),
    adminToken: TEST_ADMIN_TOKEN,
    ...(catalogTopic ? { catalogTopic } : {}),
  });
}

/**
 * Every committed record of `topic` from the start of each partition to its end now (the last stable offset:
 * a transaction still open is not waited for), in offset order per partition.
 */
export async function readTopicToEnd(kafka: KafkaClient, topic: string): Promise<InRecord[]> {
  const ends = new Map(
    [...(await kafka.admin().offsets(topic, { isolation: "read_committed" }))]
      .filter(([, o]) => o.high > o.low)
      .map(([p, o]) => [p, o.high]),
  );
  const records: InRecord[] = [];
  if (ends.size === 0) return records;
  const reader = kafka.reader();
  try {
    await reader.assign([...ends.keys()].map((partition) => ({ topic, partition, offset: "earliest" })));
    for await (const batch of reader.batches(AbortSignal.timeout(60_000))) {
      records.push(...batch.records);
      // nextOffset moves past transaction markers, so a partition ending in one is done too.
      if (batch.nextOffset >= (ends.get(batch.partition) ?? 0n)) {
        ends.delete(batch.partition);
        reader.unassign([{ topic, partition: batch.partition }]);
      }
      if (ends.size === 0) break;
    }
  } finally {
    await reader.close();
  }
  if (ends.size > 0)
    throw new Error(`${topic}: partitions ${[...ends.keys()].join(", ")} not read to the end`);
  return records;
}

export function testCatalogTopic(): string {
  return uniqueName("_mesh_catalog_e2e");
}

export async function startTestApi(
  registryUrl: string,
  catalogTopic: string,
  viewEngine?: ViewEngine,
): Promise<RunningApi> {
  const config = parseApiConfig(["--port", "0", "--catalog-topic", catalogTopic, "--registry", registryUrl], {
    ...kafkaEnv(),
    MESH_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
  });
  return startApi(config, {
    logger: silentLogger(),
    connector: { heartbeatIntervalMs: 1000, retryDelayMs: 200 },
    ...(viewEngine ? { viewEngine } : {}),
  });
}

export interface JsonResponse {
  status: number;
  body: Record<string, unknown> & { code?: string; message?: string; details?: Record<string, unknown> };
}

/** A call to the API with the admin token, or `token` (null: none). */
export async function api(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token: string | null = TEST_ADMIN_TOKEN,
): Promise<JsonResponse> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token === null ? {} : authHeaders(token)),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as JsonResponse["body"] };
}

/** test/support/wait.ts's waitFor with the name first, as these tests read: the probe's first truthy value. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  ms = 60_000,
): Promise<T> {
  return waitFor(probe, { what, timeoutMs: ms, intervalMs: 200 });
}

export interface SseEvent {
  id: string;
  event: string;
  data: Record<string, unknown>;
}

/**
 * An open SSE subscription collecting events (with the admin token unless `headers` has an authorization);
 * close() ends it. `opened` resolves with the response headers;
 * `subscribed` on a topic stream's `: subscribed` comment, after which every event written is delivered (a
 * view's change stream is positioned once opened).
 */
export function subscribe(
  url: string,
  headers: Record<string, string> = {},
): {
  events: SseEvent[];
  opened: Promise<void>;
  subscribed: Promise<void>;
  /** The server ended the stream (or it failed). */
  ended: Promise<void>;
  close: () => void;
} {
  const events: SseEvent[] = [];
  let ended!: () => void;
  const endedP = new Promise<void>((r) => (ended = r));
  let opened!: () => void;
  const openedP = new Promise<void>((r) => (opened = r));
  let subscribed!: () => void;
  const subscribedP = new Promise<void>((r) => (subscribed = r));
  const req = http.get(url, { headers: { ...authHeaders(), ...headers } }, (res) => {
    opened();
    res.setEncoding("utf8");
    let buf = "";
    res.on("data", (chunk: string) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (block.split("\n").includes(": subscribed")) subscribed();
        const fields = Object.fromEntries(
          block
            .split("\n")
            .filter((l) => !l.startsWith(":"))
            .map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 2)]),
        );
        if (fields.data)
          events.push({
            id: fields.id!,
            event: fields.event!,
            data: JSON.parse(fields.data) as Record<string, unknown>,
          });
      }
    });
    res.on("error", () => ended());
    res.on("close", () => ended());
  });
  req.on("error", () => ended());
  return { events, opened: openedP, subscribed: subscribedP, ended: endedP, close: () => req.destroy() };
}

const run = promisify(execFile);

/** Runs the real `mesh` CLI (bin/mesh.js) with the test's tokens (TEST_AUTH_ENV) and returns its exit code and output. */
export async function mesh(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["bin/mesh.js", ...args], {
      env: { ...process.env, ...TEST_AUTH_ENV, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}
