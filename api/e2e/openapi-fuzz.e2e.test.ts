// The OpenAPI document against the server that serves it (issue 17): schemathesis, driven only by
// /docs/json, runs every one of its checks over every operation, bounded in examples and time: no 5xx, no
// request the document allows refused with 400 (test/python/schemathesis.toml says which answers a valid
// request may still get), no status, header or body the document does not declare, 405 with Allow for
// methods a path does not take. It creates what it needs: its own source on the test Postgres and its own
// view, so operations on an existing source, view and topic are reached too.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stackEnv, uniqueName } from "../../test/support/stack.ts";
import { api, until } from "./harness.ts";
import { ordersDatabase, python, run, startContractStack, type ContractStack } from "./contract-fixture.ts";

let stack: ContractStack;
let db: Awaited<ReturnType<typeof ordersDatabase>>;
const source = uniqueName("fuzz").replaceAll("_", "-");
const view = `fuzz_${uniqueName("v").slice(2)}`;

beforeAll(async () => {
  stack = await startContractStack();
  db = await ordersDatabase("fuzz");
  const registered = await api(stack.apiUrl, "POST", "/v1/sources", {
    name: source,
    owner: "fuzz",
    kind: "postgres",
    url: db.url,
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
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await db?.drop();
});

const hostPort = (url: string): string => new URL(url).host;

describe("the OpenAPI document", () => {
  it("passes schemathesis with every check over every operation", async () => {
    const started = Date.now();
    const result = await run(
      python(),
      [
        "-m",
        "schemathesis.cli",
        "--config-file",
        "test/python/schemathesis.toml",
        "run",
        `${stack.apiUrl}/docs/json`,
        "--checks",
        "all",
        // Bounded: CI runs this on every submission (fuzzing and stateful testing repeat until the time is up).
        "--max-examples",
        "20",
        "--max-time",
        "70",
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
        },
        maxBuffer: 64 * 1024 * 1024,
        timeout: 170_000,
      },
    ).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (err: { code?: number; stdout?: string; stderr?: string; killed?: boolean }) => ({
        code: err.killed ? "timeout" : (err.code ?? -1),
        out: `${err.stdout ?? ""}${err.stderr ?? ""}`,
      }),
    );
    const summary = result.out.split("\n").slice(-60).join("\n");
    console.log(
      `schemathesis: exit ${result.code} in ${Math.round((Date.now() - started) / 1000)} s\n${summary}`,
    );
    expect(result.code, result.out.slice(-20_000)).toBe(0);
    // Every operation was tested (none skipped for an unusable schema).
    expect(result.out).not.toMatch(/Skipped:\s*[1-9]/);
  }, 200_000);
});
