// Several registry processes on one Kafka; kill -9 the leader while a client registers in a loop.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { kafka, kafkaEnv, stackEnv, uniqueName } from "../test/support/stack.ts";
import { waitFor } from "../test/support/wait.ts";
import { authHeaders, TEST_AUTH_ENV } from "../test/support/auth.ts";

const topic = uniqueName("_schemas_failover");
const groupId = uniqueName("registry_failover");
const children: ChildProcess[] = [];

function startProcess(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      "registry/main.ts",
      "--brokers",
      stackEnv().MESH_KAFKA_BROKERS,
      "--port",
      "0",
      "--topic",
      topic,
      "--group-id",
      groupId,
      "--log-level",
      "warn",
    ],
    { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...TEST_AUTH_ENV, ...kafkaEnv() } },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      const parsed = JSON.parse(line) as { registry?: string };
      if (parsed.registry) resolve({ url: parsed.registry, child });
    });
    child.once("exit", (code) => reject(new Error(`registry process exited with ${code} before listening`)));
  });
}

const status = (url: string) =>
  fetch(`${url}/v1/registry/status`, { headers: authHeaders() }).then(
    (r) => r.json() as Promise<{ role: string; leaderUrl: string | null }>,
  );

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  await kafka()
    .admin()
    .deleteTopics([topic, `${topic}_leader`]);
});

describe("registry failover", () => {
  it("a follower takes over after kill -9 of the leader; no id reused, nothing acknowledged lost", async () => {
    const a = await startProcess();
    await waitFor(async () => (await status(a.url)).role === "leader", 20_000);
    const [b, c] = await Promise.all([startProcess(), startProcess()]);
    await waitFor(
      async () => (await status(b.url)).leaderUrl === a.url && (await status(c.url)).leaderUrl === a.url,
      20_000,
    );

    const acked = new Map<string, number>();
    let failures = 0;
    let killedAt = 0;
    let i = 0;
    const targets = [b.url, c.url, a.url];
    const deadline = Date.now() + 45_000;
    while (Date.now() < deadline) {
      if (acked.size === 30 && !killedAt) {
        a.child.kill("SIGKILL");
        killedAt = acked.size;
      }
      if (killedAt && acked.size >= killedAt + 30) break;
      const subject = `f${i}`;
      const schema = JSON.stringify({ type: "record", name: `R${i}`, fields: [{ name: "x", type: "int" }] });
      const target = targets[i % (killedAt ? 2 : 3)]!;
      try {
        const res = await fetch(`${target}/subjects/${subject}/versions`, {
          method: "POST",
          headers: { ...authHeaders(), "content-type": "application/vnd.schemaregistry.v1+json" },
          body: JSON.stringify({ schema }),
          signal: AbortSignal.timeout(30_000),
        });
        const body = (await res.json()) as { id?: number };
        if (res.status === 200 && body.id) {
          acked.set(subject, body.id);
          i++;
        } else failures++;
      } catch {
        failures++;
      }
      if (failures > 0 && failures % 10 === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(killedAt).toBe(30);
    expect(acked.size).toBeGreaterThanOrEqual(60);
    const ids = [...acked.values()];
    expect(new Set(ids).size).toBe(ids.length);

    await waitFor(
      async () => (await status(b.url)).role === "leader" || (await status(c.url)).role === "leader",
      20_000,
    );
    for (const url of [b.url, c.url]) {
      for (const [subject, id] of acked) {
        const v = (await fetch(`${url}/subjects/${subject}/versions/latest`, { headers: authHeaders() }).then(
          (r) => r.json(),
        )) as {
          id: number;
        };
        expect(v.id, `${subject} on ${url}`).toBe(id);
      }
    }
    // A later registration gets a new, higher id.
    const next = await fetch(`${c.url}/subjects/after/versions`, {
      method: "POST",
      headers: { ...authHeaders(), "content-type": "application/json" },
      body: JSON.stringify({ schema: `{"type":"record","name":"After","fields":[]}` }),
    }).then((r) => r.json() as Promise<{ id: number }>);
    expect(next.id).toBeGreaterThan(Math.max(...ids));
  });
});
