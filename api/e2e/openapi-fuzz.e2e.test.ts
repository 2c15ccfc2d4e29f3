// The OpenAPI document against the server that serves it (issues 17 and 14): schemathesis, driven only by
// the document, runs every one of its checks over every operation, bounded in examples and time, twice.
// As the admin: no 5xx, no request the document allows refused with 400 (test/python/schemathesis.toml says
// which answers a valid request may still get), no status, header or body the document does not declare,
// 405 with Allow for methods a path does not take, and (schemathesis' ignored_auth) an operation that
// declares the bearer token refuses a request without it. Without a token: every operation but the probes
// answers 401, never 5xx. Both runs check that no response holds a secret: the admin token, a service token
// and the password of the source database (a role of its own, so the password is unlike any other text).
// It creates what it needs: its own source on the test Postgres and its own view, so operations on an
// existing source, view and topic are reached too.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authHeaders, createServiceToken, TEST_ADMIN_TOKEN } from "../../test/support/auth.ts";
import { stackEnv, uniqueName } from "../../test/support/stack.ts";
import { api, until } from "./harness.ts";
import { ordersDatabase, python, run, startContractStack, type ContractStack } from "./contract-fixture.ts";

let stack: ContractStack;
let db: Awaited<ReturnType<typeof ordersDatabase>>;
const source = uniqueName("fuzz").replaceAll("_", "-");
const view = `fuzz_${uniqueName("v").slice(2)}`;
// The source connects as a role of its own whose password no response may ever hold.
const role = uniqueName("fuzz_role").replaceAll("-", "_");
const password = `pw-${uniqueName("fz").replaceAll("_", "-")}-never-shown`;
const secrets: string[] = [TEST_ADMIN_TOKEN, password];
const dir = mkdtempSync(join(tmpdir(), "mesh-fuzz-"));
const schemaFile = join(dir, "openapi.json");

async function asAdmin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: stackEnv().MESH_PG_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  stack = await startContractStack();
  db = await ordersDatabase("fuzz");
  await asAdmin(`CREATE ROLE ${role} LOGIN SUPERUSER REPLICATION PASSWORD '${password}'`);
  const url = new URL(db.url);
  url.username = role;
  url.password = password;
  const registered = await api(stack.apiUrl, "POST", "/v1/sources", {
    name: source,
    owner: "fuzz",
    kind: "postgres",
    url: url.toString(),
    tables: ["public.orders"],
  });
  expect(registered.status, JSON.stringify(registered.body)).toBe(201);
  await until("the source streaming", async () => {
    const s = await api(stack.apiUrl, "GET", `/v1/sources/${source}`);
    return (s.body.status as { state?: string } | undefined)?.state === "streaming";
  });
  const declared = await api(stack.apiUrl, "POST", "/v1/views", {
    sql: `CREATE VIEW ${view} AS SELECT o.id, o.status, o.total FROM ${source}.public.orders o`,
  });
  expect(declared.status, JSON.stringify(declared.body)).toBe(201);
  await until("the view ready", async () => {
    const v = await api(stack.apiUrl, "GET", `/v1/views/${view}`);
    return (v.body.status as { state?: string } | undefined)?.state === "ready";
  });
  secrets.push(
    (await createServiceToken(stack.apiUrl, { service: "fuzz", scopes: ["read", "write"] })).token,
  );
  // The document, as the admin reads it (it lists this view's own key path): both runs load it from a file.
  const doc = await fetch(`${stack.apiUrl}/docs/json`, { headers: authHeaders() });
  expect(doc.status).toBe(200);
  writeFileSync(schemaFile, await doc.text());
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await db?.drop();
  await asAdmin(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

const hostPort = (url: string): string => new URL(url).host;

/** The operations of the document the runs load (paths × methods). */
function operations(): number {
  const doc = JSON.parse(readFileSync(schemaFile, "utf8")) as {
    paths: Record<string, Record<string, unknown>>;
  };
  return Object.values(doc.paths).reduce((n, methods) => n + Object.keys(methods).length, 0);
}

interface Checked {
  check: string;
  /** The operation ("GET /v1/views"), and the method actually sent (another one, to test 405). */
  operation: string;
  sent: string;
  status: number;
}

/** What our own checks saw (fuzz_hooks.py writes a line per response). */
function checked(log: string): Checked[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [check = "", method = "", path = "", sent = "", status = "0"] = line.split("\t");
      return { check, operation: `${method} ${path}`, sent, status: Number(status) };
    });
}

/** The distinct operations among `seen`. */
const distinct = (seen: Checked[]): number => new Set(seen.map((c) => c.operation)).size;

async function schemathesis(
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{ code: number | string; out: string }> {
  const started = Date.now();
  const result = await run(
    python(),
    [
      "-m",
      "schemathesis.cli",
      "--config-file",
      "test/python/schemathesis.toml",
      "run",
      schemaFile,
      "--url",
      stack.apiUrl,
      ...args,
      "--request-timeout",
      "10",
      "--seed",
      "17",
      "--no-color",
    ],
    {
      env: {
        ...process.env,
        PYTHONPATH: "test/python",
        SCHEMATHESIS_HOOKS: "fuzz_hooks",
        FUZZ_PG_HOSTPORT: hostPort(stackEnv().MESH_PG_URL),
        FUZZ_MYSQL_HOSTPORT: hostPort(stackEnv().MESH_MYSQL_URL),
        FUZZ_SECRETS: secrets.join("\n"),
        ...env,
      },
      maxBuffer: 64 * 1024 * 1024,
      timeout: timeoutMs,
    },
  ).then(
    (r) => ({ code: 0 as number | string, out: r.stdout + r.stderr }),
    (err: { code?: number; stdout?: string; stderr?: string; killed?: boolean }) => ({
      code: err.killed ? "timeout" : (err.code ?? -1),
      out: `${err.stdout ?? ""}${err.stderr ?? ""}`,
    }),
  );
  const summary = result.out.split("\n").slice(-60).join("\n");
  console.log(
    `schemathesis: exit ${result.code} in ${Math.round((Date.now() - started) / 1000)} s\n${summary}`,
  );
  return result;
}

describe("the OpenAPI document", () => {
  it("passes schemathesis with every check over every operation, as the admin", async () => {
    const result = await schemathesis(
      // Bounded: CI runs this on every submission (fuzzing and stateful testing repeat until the time is up).
      [
        "--checks",
        "all",
        "--max-examples",
        "20",
        "--max-time",
        "70",
        "-H",
        `Authorization: Bearer ${TEST_ADMIN_TOKEN}`,
      ],
      { FUZZ_CHECK_LOG: join(dir, "admin.log") },
      170_000,
    );
    expect(result.code, result.out.slice(-20_000)).toBe(0);
    // Every operation was tested (none skipped for an unusable schema).
    expect(result.out).not.toMatch(/Skipped:\s*[1-9]/);
    // Our own check ran, on every operation (a check that never runs cannot fail).
    const seen = checked(join(dir, "admin.log"));
    expect(distinct(seen.filter((c) => c.check === "no_secret_in_response"))).toBe(operations());
  }, 200_000);

  it("answers 401 on every operation but the probes without a token, never 5xx, holding no secret", async () => {
    const result = await schemathesis(
      [
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,protected_routes_need_a_token,no_secret_in_response",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "5",
        "--max-time",
        "40",
      ],
      { FUZZ_NO_TOKEN: "1", FUZZ_CHECK_LOG: join(dir, "anonymous.log") },
      120_000,
    );
    expect(result.code, result.out.slice(-20_000)).toBe(0);
    expect(result.out).not.toMatch(/Skipped:\s*[1-9]/);
    // Both checks ran on every operation; every protected one answered 401 to its own method.
    const seen = checked(join(dir, "anonymous.log"));
    const guarded = seen.filter((c) => c.check === "protected_routes_need_a_token");
    // Every operation but GET /healthz and GET /readyz was asked with its own method, and answered 401.
    const own = guarded.filter((c) => c.operation.startsWith(`${c.sent} `));
    expect(distinct(own)).toBe(operations() - 2);
    expect(own.every((c) => c.status === 401)).toBe(true);
    expect(distinct(seen.filter((c) => c.check === "no_secret_in_response"))).toBe(operations());
  }, 150_000);
});
