// `mesh up --demo`: two services' databases, both registered as sources (each owned by its service): the
// customers service on MariaDB, the orders service on Postgres; a view joining orders with customers across
// the two servers, a write workload, and the curl lines that query the view and subscribe to a topic.
// Everything goes through the HTTP API, as a user would.
import { waitFor } from "../../lib/clock.ts";
import { createDemoDatabases, startWorkload } from "./demo-data.ts";

export interface DemoOptions {
  apiUrl: string;
  /** The admin token the demo registers with (the curl lines read it from $MESH_TOKEN, never print it). */
  token: string;
  pgAdminUrl: string;
  /** MariaDB (or MySQL) with a user that may create databases: the customers service's server. */
  mysqlAdminUrl: string;
  /** Prefixes database and source names (tests; empty for the real demo). */
  prefix?: string;
  workloadIntervalMs?: number;
  progress?: (line: string) => void;
}

export interface RunningDemo {
  curl: string[];
  view: string;
  topic: string;
  stop(): Promise<void>;
}

/** The API at `apiUrl` called with `token`. */
type Call = (
  method: string,
  path: string,
  body?: unknown,
) => Promise<{ status: number; body: Record<string, unknown> }>;

function caller(apiUrl: string, token: string): Call {
  return async (method, path, body) => {
    const res = await fetch(`${apiUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
}

async function ensure(call: Call, path: string, body: unknown, getPath: string): Promise<void> {
  const res = await call("POST", path, body);
  if (res.status === 201) return;
  // Already there from an earlier `mesh up --demo`: fine if it is ours.
  if (res.status === 409 && (await call("GET", getPath)).status === 200) return;
  throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body)}`);
}

/** Polls until `probe` holds; a probe that throws (a source or view failed) ends the demo with its error. */
const until = (what: string, probe: () => Promise<boolean>): Promise<unknown> =>
  waitFor(probe, { what: `the demo's ${what}`, timeoutMs: 120_000, intervalMs: 300, failOnError: true });

export async function startDemo(options: DemoOptions): Promise<RunningDemo> {
  const prefix = options.prefix ?? "";
  const say = options.progress ?? (() => undefined);
  const { apiUrl } = options;
  const call = caller(apiUrl, options.token);
  say("creating the customers (MariaDB) and orders (Postgres) databases with sample data");
  const dbs = await createDemoDatabases(options.pgAdminUrl, options.mysqlAdminUrl, prefix);
  const customers = `${prefix}customers`;
  const orders = `${prefix}orders`;
  say(`registering source ${customers} (owner customers) and ${orders} (owner orders)`);
  await ensure(
    call,
    "/v1/sources",
    {
      name: customers,
      owner: "customers",
      kind: "mysql",
      url: dbs.customersUrl,
      tables: ["customers"],
    },
    `/v1/sources/${customers}`,
  );
  await ensure(
    call,
    "/v1/sources",
    {
      name: orders,
      owner: "orders",
      kind: "postgres",
      url: dbs.ordersUrl,
      tables: ["public.orders", "public.order_items", "public.products"],
    },
    `/v1/sources/${orders}`,
  );
  for (const source of [customers, orders]) {
    await until(`${source} to stream`, async () => {
      const s = await call("GET", `/v1/sources/${source}`);
      const state = (s.body.status as { state?: string } | undefined)?.state;
      if (state === "failed") throw new Error(`source ${source} failed: ${JSON.stringify(s.body.status)}`);
      return state === "streaming";
    });
  }
  const view = `${prefix}order_details`;
  const customersTopic = `${customers}.${dbs.customersDb}.customers`;
  const sql =
    `CREATE VIEW ${view} AS SELECT o.id, o.status, o.total, o.created_at, c.id AS customer_id, c.name AS customer_name, c.region ` +
    `FROM ${orders}.public.orders o JOIN ${customersTopic} c ON o.customer_id = c.id`;
  say(`creating view ${view} joining ${orders}.public.orders (Postgres) with ${customersTopic} (MariaDB)`);
  await until("the topics' schemas", async () => {
    const t = await call("GET", "/v1/topics");
    const topics = (t.body.topics as { topic: string; latestVersion: number | null }[] | undefined) ?? [];
    return [`${orders}.public.orders`, customersTopic].every((name) =>
      topics.some((x) => x.topic === name && x.latestVersion !== null),
    );
  });
  await ensure(call, "/v1/views", { sql }, `/v1/views/${view}`);
  await until(`${view} to backfill`, async () => {
    const v = await call("GET", `/v1/views/${view}`);
    const status = v.body.status as { state?: string; rows?: number; error?: string } | undefined;
    if (status?.state === "failed") throw new Error(`view ${view} failed: ${status.error ?? ""}`);
    return status?.state === "ready";
  });
  say("starting a write workload in both databases (one step a second)");
  const workload = startWorkload(dbs, options.workloadIntervalMs ?? 1000);
  const topic = `${orders}.public.orders`;
  // The token from the shell ($MESH_TOKEN: `mesh up` says how to set it), so it is never printed.
  const auth = `-H "Authorization: Bearer $MESH_TOKEN"`;
  const curl = [
    `curl -s ${auth} '${apiUrl}/v1/views/${view}/rows?status=paid&limit=5'`,
    `curl -s ${auth} '${apiUrl}/v1/views/${view}/rows/1'`,
    `curl -sN ${auth} '${apiUrl}/v1/topics/${topic}/events?from=earliest'`,
    `curl -sN ${auth} '${apiUrl}/v1/views/${view}/changes?from=earliest'`,
  ];
  return { curl, view, topic, stop: () => workload.stop() };
}
