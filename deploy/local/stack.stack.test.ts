// Tests of the stack itself run on a second Kafka (own folder, own ports), so killing it never
// disturbs the stack the other integration tests use.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KafkaService } from "./kafka.ts";
import { stackLayout } from "./layout.ts";
import { isAlive, readPid } from "./processes.ts";

describe("local stack lifecycle (a private Kafka on other ports)", () => {
  const dir = mkdtempSync(join(tmpdir(), "mesh-stack-"));
  const layout = stackLayout(dir, 29000);
  const kafka = new KafkaService(layout.kafka);

  afterAll(async () => {
    await kafka.down();
    rmSync(dir, { recursive: true, force: true });
  });

  it("starts from cold, then `up` again is a fast no-op", async () => {
    expect(await kafka.up()).toBe("started");
    const status = await kafka.status();
    expect(status).toMatchObject({ name: "kafka", port: 29092, healthy: true, managed: true });
    const pid = status.pid;

    expect(await kafka.up()).toBe("already-up");
    expect((await kafka.status()).pid).toBe(pid);
  });

  it("recovers after the Kafka process is killed with SIGKILL", async () => {
    const pid = readPid(join(layout.kafka.dir, "kafka.pid"));
    expect(pid).not.toBeNull();
    process.kill(pid!, "SIGKILL");
    while (isAlive(pid!)) await new Promise((r) => setTimeout(r, 50));
    expect((await kafka.status()).healthy).toBe(false);

    expect(await kafka.up()).toBe("started");
    const after = await kafka.status();
    expect(after.healthy).toBe(true);
    expect(after.pid).not.toBe(pid);
  });

  it("`down` stops what it started and reports nothing to stop the second time", async () => {
    expect(await kafka.down()).toBe(true);
    expect((await kafka.status()).healthy).toBe(false);
    expect(await kafka.down()).toBe(false);
  });
});

describe("the shared local stack", () => {
  it("stays under 1.5 GB resident for Kafka, Postgres and MariaDB together", async () => {
    const { LocalStack } = await import("./stack.ts");
    const statuses = await new LocalStack().status();
    const managed = statuses.filter((s) => s.managed);
    // When the services come from MESH_* variables (not started by us) there is nothing of ours to measure.
    if (managed.length === 0) return;
    const total = managed.reduce((sum, s) => sum + s.rssBytes, 0);
    expect(total).toBeGreaterThan(0);
    expect(total).toBeLessThan(1.5 * 2 ** 30);
  });
});
