// `mesh up` on the real stack: a second Ctrl-C (SIGINT) while it is stopping exits at once, saying so, with
// exit code 130 (issue #6 audit item 8: a stop that hangs must never trap the user). The clean single-SIGINT
// stop is covered by api/e2e/demo.e2e.test.ts.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../test/support/names.ts";
import { waitFor } from "../../test/support/wait.ts";
import { TEST_AUTH_ENV } from "../../test/support/auth.ts";

// Node 24 on main.ts itself, not the bin/mesh.js launcher: under an older node the launcher runs main.ts in a
// child (spawnSync) and a signal sent to the launcher's pid alone would not reach it.
const node24 =
  Number(process.versions.node.split(".")[0]) >= 24 ? process.execPath : "node_modules/node/bin/node";
const dataDir = mkdtempSync(join(tmpdir(), "mesh-up-signal-"));
let child: ChildProcess | null = null;

afterAll(() => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
  rmSync(dataDir, { recursive: true, force: true });
});

describe("mesh up signals", () => {
  it("exits at once with code 130 on a second SIGINT while stopping", async () => {
    const proc = spawn(
      node24,
      [
        "api/cli/main.ts",
        "up",
        "--json",
        "--api-port",
        "0",
        "--registry-port",
        "0",
        "--catalog-topic",
        uniqueName("_mesh_catalog_signal"),
        "--data-dir",
        dataDir,
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...TEST_AUTH_ENV } },
    );
    child = proc;
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const until = (what: string, ok: () => boolean, timeoutMs: number): Promise<unknown> =>
      waitFor(ok, {
        what,
        timeoutMs,
        intervalMs: 50,
        failWhen: () => proc.exitCode !== null && `mesh up exited ${proc.exitCode}: ${stderr}`,
      });
    await until("summary", () => stdout.includes('{"api":'), 150_000);
    const summary = JSON.parse(stdout.split("\n").find((l) => l.startsWith('{"api":')) ?? "{}") as {
      stack?: { started: string[]; alreadyRunning: string[] };
    };
    // The test run's stack (test/support/global-setup.ts, in this directory) was up before `mesh up`: not
    // its own, so Ctrl-C leaves it running. With services from the environment, mesh up started its own.
    const sharedStack = !process.env.MESH_KAFKA_BROKERS && !process.env.MESH_STACK_PORT_BASE;
    if (sharedStack)
      expect(summary.stack).toEqual({ started: [], alreadyRunning: ["kafka", "postgres", "mariadb"] });
    else
      expect([...(summary.stack?.started ?? []), ...(summary.stack?.alreadyRunning ?? [])]).toHaveLength(3);
    const exited = once(proc, "exit");
    proc.kill("SIGINT");
    await until("stopping message", () => stderr.includes("stopping..."), 10_000);
    proc.kill("SIGINT");
    const [code] = (await Promise.race([
      exited,
      new Promise((_, rej) => setTimeout(() => rej(new Error(`no exit in 10 s: ${stderr}`)), 10_000)),
    ])) as [number | null];
    expect(code).toBe(130);
    expect(stderr).toContain("SIGINT again: exiting without waiting for the roles to stop");
  }, 200_000);
});
