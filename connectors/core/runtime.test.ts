// The runtime's lifecycle over a backend whose prerequisites fail (no database, no Kafka needed: every
// attempt fails at its first step): a transient problem is retried with backoff on the injected clock, a
// lasting one stops the connector and fails start(), and aborting start()'s signal stops it like stop().
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../lib/clock.ts";
import { silentLogger } from "../../lib/logger.ts";
import type { SourceBackend } from "./backend.ts";
import type { ConnectorDeps, Problem, SourceDefinition } from "./contract.ts";
import { ConnectorRuntime } from "./runtime.ts";

function backend(problems: () => Problem[]): SourceBackend<number> {
  const refuse = (): never => {
    throw new Error("not reached: the prerequisites fail first");
  };
  return {
    kind: "postgres",
    connector: "postgresql",
    positions: {
      compare: (a, b) => a - b,
      serialize: String,
      parse: Number,
      coordinates: () => ({ lsn: null, file: null, pos: null, gtid: null }),
    },
    checkPrerequisites: () => Promise.resolve(problems()),
    open: refuse,
    teardown: refuse,
  };
}

const def: SourceDefinition = {
  name: "s",
  owner: "svc",
  kind: "postgres",
  url: "postgres://x/y",
  tables: ["public.t"],
  snapshot: "initial",
};

function deps(clock: ManualClock): ConnectorDeps {
  return {
    kafka: {} as ConnectorDeps["kafka"],
    registry: {} as ConnectorDeps["registry"],
    offsets: {} as ConnectorDeps["offsets"],
    logger: silentLogger(),
    retryDelayMs: 1000,
    clock,
  };
}

const busy: Problem = { code: "slot_in_use", message: "slot busy", fix: "wait", transient: true };
const walLevel: Problem = { code: "wal_level", message: "wal_level is replica", fix: "ALTER SYSTEM ..." };

describe("connector runtime lifecycle", () => {
  it("retries a transient problem with backoff, then stops for good on a lasting one", async () => {
    const clock = new ManualClock();
    let attempts = 0;
    const c = new ConnectorRuntime(
      backend(() => (++attempts < 4 ? [busy] : [walLevel])),
      def,
      deps(clock),
    );
    await c.start();
    expect(c.status()).toMatchObject({ state: "failed", error: { code: "MESH_SOURCE_UNREACHABLE" } });
    for (const expected of [1000, 2000, 4000]) {
      expect(await clock.nextSleep()).toBe(expected);
      clock.advance(expected);
    }
    await new Promise((r) => setTimeout(r, 10));
    expect(c.status()).toMatchObject({ state: "failed", error: { code: "MESH_SOURCE_PREREQUISITE" } });
    expect(c.status().error?.message).toContain("ALTER SYSTEM");
    expect(clock.sleeping).toBe(0);
    await c.stop();
  });

  it("fails start() when the first attempt fails for good", async () => {
    const c = new ConnectorRuntime(
      backend(() => [walLevel]),
      def,
      deps(new ManualClock()),
    );
    await expect(c.start()).rejects.toMatchObject({ code: "MESH_SOURCE_PREREQUISITE" });
    expect(c.status().state).toBe("failed");
  });

  it("stops when start()'s signal aborts, also during a backoff wait", async () => {
    const clock = new ManualClock();
    const c = new ConnectorRuntime(
      backend(() => [busy]),
      def,
      deps(clock),
    );
    const abort = new AbortController();
    await c.start(abort.signal);
    expect(await clock.nextSleep()).toBe(1000);
    abort.abort();
    await new Promise((r) => setTimeout(r, 10));
    expect(clock.sleeping).toBe(0);
    await c.stop();
    expect(c.status().state).toBe("failed");
  });
});
