// `mesh up --demo` itself, as a user runs it: it comes up, the curl lines it prints work, and Ctrl-C
// (SIGINT) shuts everything down cleanly with exit code 0.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { afterAll, describe, expect, it } from "vitest";
import pg from "pg";
import { stackEnv, uniqueName } from "../../test/support/stack.ts";
import { waitFor } from "../../test/support/wait.ts";
import { authHeaders, TEST_ADMIN_TOKEN } from "../../test/support/auth.ts";

const prefix = `${uniqueName("demo")}_`;
const dataDir = mkdtempSync(join(tmpdir(), "mesh-demo-"));
let child: ChildProcess | null = null;

/**
 * Runs one printed curl line in a shell, as a user pastes it, with $MESH_TOKEN set as `mesh up` says to (SSE
 * lines get a time limit: they never end on their own).
 */
function curl(line: string): Promise<{ code: number; stdout: string }> {
  expect(line).toContain('-H "Authorization: Bearer $MESH_TOKEN"');
  expect(line).not.toContain(TEST_ADMIN_TOKEN);
  const limited = line.replace(/^curl /, "curl --max-time 4 ");
  return new Promise((resolve) => {
    execFile(
      "sh",
      ["-c", limited],
      { timeout: 20_000, env: { ...process.env, MESH_TOKEN: TEST_ADMIN_TOKEN } },
      (err, stdout) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout });
      },
    );
  });
}

afterAll(async () => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
  const c = new pg.Client({ connectionString: stackEnv().MESH_PG_URL });
  await c.connect();
  for (const db of ["customers", "orders"]) {
    await c
      .query(
        `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active`,
        [`${prefix}${db}`],
      )
      .catch(() => undefined);
    await c.query(`DROP DATABASE IF EXISTS "${prefix}${db}" WITH (FORCE)`).catch(() => undefined);
  }
  await c.end();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("mesh up --demo", () => {
  it("comes up, prints curl lines that work, and stops cleanly on SIGINT", async () => {
    child = spawn(
      process.execPath,
      [
        "bin/mesh.js",
        "up",
        "--demo",
        "--json",
        "--api-port",
        "0",
        "--registry-port",
        "0",
        "--catalog-topic",
        `_mesh_catalog_${prefix}`,
        "--demo-prefix",
        prefix,
        "--data-dir",
        dataDir,
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, MESH_ADMIN_TOKEN: TEST_ADMIN_TOKEN } },
    );
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const summary = await waitFor(() => stdout.split("\n").find((l) => l.startsWith('{"api":')), {
      timeoutMs: 150_000,
      intervalMs: 200,
      what: "mesh up's summary line",
      failWhen: () => child?.exitCode != null && `mesh up exited ${child.exitCode}: ${stderr}`,
    });
    const up = JSON.parse(summary) as {
      api: string;
      registry: string;
      demo: { view: string; topic: string; curl: string[] };
    };
    expect(stderr).toContain("registering source");
    // The admin token is taken from MESH_ADMIN_TOKEN, said where it is, and never printed.
    expect(JSON.parse(summary)).toMatchObject({ adminToken: { source: "env", file: null } });
    expect(stdout + stderr).not.toContain(TEST_ADMIN_TOKEN);
    expect((await fetch(`${up.api}/v1/status`)).status).toBe(401);
    expect(up.demo.curl.length).toBeGreaterThanOrEqual(3);

    const status = await (await fetch(`${up.api}/v1/status`, { headers: authHeaders() })).json();
    expect(status).toMatchObject({
      roles: { api: { url: up.api }, registry: { url: up.registry } },
      sources: 2,
      views: 1,
    });

    const [rows, byKey, topicSse, viewSse] = await Promise.all(up.demo.curl.map(curl));
    expect(rows!.code).toBe(0);
    const page = JSON.parse(rows!.stdout) as { rows: { status: string; customer_name: string }[] };
    expect(page.rows.length).toBeGreaterThan(0);
    expect(page.rows.every((r) => r.status === "paid" && r.customer_name.startsWith("Customer "))).toBe(true);
    expect(JSON.parse(byKey!.stdout)).toMatchObject({ id: "1", customer_name: expect.any(String) });
    // SSE lines end by the time limit (curl exit 28) after printing events.
    // A topic event's id is the position on every partition (`0:12,1:-1,2:7`).
    expect(topicSse!.stdout).toMatch(/id: \d+:-?\d+(,\d+:-?\d+)*\nevent: change\ndata: \{/);
    expect(viewSse!.stdout).toMatch(/id: \d+\nevent: change\ndata: \{/);

    // The workload writes: the view keeps moving.
    const viewRows = async (): Promise<number> =>
      (
        (await (await fetch(`${up.api}/v1/views/${up.demo.view}`, { headers: authHeaders() })).json()) as {
          status: { rows: number };
        }
      ).status.rows;
    const before = await viewRows();
    await waitFor(async () => (await viewRows()) > before, 30_000, "the demo view to grow");

    child.kill("SIGINT");
    const [code] = (await Promise.race([
      once(child, "exit"),
      new Promise((_, rej) => setTimeout(() => rej(new Error("no clean exit in 30 s")), 30_000)),
    ])) as [number];
    expect(code).toBe(0);
    await expect(fetch(`${up.api}/healthz`, { headers: authHeaders() })).rejects.toThrow();
  });
});
