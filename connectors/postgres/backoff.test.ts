// The runtime's retry backoff on a manual clock, over the Postgres backend: a source that cannot be reached is retried after 1 s,
// doubling up to 30 s, without the test waiting; stop() ends a wait at once.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../lib/clock.ts";
import { silentLogger } from "../../lib/logger.ts";
import { ConnectorRuntime } from "../core/runtime.ts";
import type { ConnectorDeps } from "../core/change-source.ts";
import { postgresBackend } from "./backend.ts";

// Nothing listens on port 9 (discard), so every attempt fails at its first step, before any Kafka call.
const unreachable = "postgres://mesh:pw@127.0.0.1:9/none";

function connectorOn(clock: ManualClock) {
  const deps: ConnectorDeps = {
    kafka: {} as ConnectorDeps["kafka"],
    registry: {} as ConnectorDeps["registry"],
    offsets: {} as ConnectorDeps["offsets"],
    logger: silentLogger(),
    retryDelayMs: 1000,
    clock,
  };
  return new ConnectorRuntime(
    postgresBackend,
    {
      name: "unreachable",
      owner: "svc",
      kind: "postgres",
      url: unreachable,
      tables: ["public.t"],
      snapshot: "initial",
    },
    deps,
  );
}

describe("postgres connector backoff", () => {
  it("waits 1 s after a retryable failure, doubling to a 30 s cap", async () => {
    const clock = new ManualClock();
    const connector = connectorOn(clock);
    await connector.start();
    expect(connector.status()).toMatchObject({ state: "failed", error: { code: "MESH_SOURCE_UNREACHABLE" } });
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      const ms = await clock.nextSleep();
      waits.push(ms);
      clock.advance(ms);
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16000, 30_000, 30_000, 30_000]);
    await connector.stop();
    expect(connector.status().state).toBe("failed");
  });

  it("stops during a wait without the clock moving", async () => {
    const clock = new ManualClock();
    const connector = connectorOn(clock);
    await connector.start();
    expect(await clock.nextSleep()).toBe(1000);
    await connector.stop();
    expect(clock.sleeping).toBe(0);
  });
});
