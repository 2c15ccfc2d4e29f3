import { describe, expect, it } from "vitest";
import { ManualClock, realClock, waitFor } from "./clock.ts";

describe("ManualClock", () => {
  it("wakes sleeps only when time passes their deadline, in deadline order", async () => {
    const clock = new ManualClock(1_000);
    const woke: string[] = [];
    const long = clock.sleep(500).then(() => woke.push("long"));
    const short = clock.sleep(100).then(() => woke.push("short"));
    clock.advance(99);
    await Promise.resolve();
    expect(woke).toEqual([]);
    expect(clock.sleeping).toBe(2);
    clock.advance(401);
    await Promise.all([long, short]);
    expect(woke).toEqual(["short", "long"]);
    expect(clock.now()).toBe(1_500);
  });

  it("rejects a sleep when its signal aborts, and forgets it", async () => {
    const clock = new ManualClock();
    const ac = new AbortController();
    const slept = clock.sleep(1_000, ac.signal);
    ac.abort(new Error("stopped"));
    await expect(slept).rejects.toThrow("stopped");
    expect(clock.sleeping).toBe(0);
  });

  it("hands each sleep's duration to the test in the order asked", async () => {
    const clock = new ManualClock();
    const next = clock.nextSleep();
    void clock.sleep(7);
    void clock.sleep(9);
    expect(await next).toBe(7);
    expect(await clock.nextSleep()).toBe(9);
  });
});

describe("waitFor", () => {
  it("returns the probe's first truthy value", async () => {
    let n = 0;
    expect(await waitFor(() => (++n >= 3 ? { n } : null), { intervalMs: 1 })).toEqual({ n: 3 });
  });

  it("times out on the clock it is given, naming what it waited for and the probe's last error", async () => {
    const clock = new ManualClock();
    const waiting = waitFor(
      () => {
        throw new Error("connection refused");
      },
      { clock, timeoutMs: 1_000, intervalMs: 250, what: "the server" },
    );
    for (let i = 0; i < 4; i++) {
      expect(await clock.nextSleep()).toBe(250);
      clock.advance(250);
    }
    await expect(waiting).rejects.toThrow("timed out after 1 s waiting for the server: connection refused");
  });

  it("ends with the probe's error when failOnError is set", async () => {
    await expect(
      waitFor(
        () => {
          throw new Error("view failed");
        },
        { failOnError: true },
      ),
    ).rejects.toThrow("view failed");
  });

  it("stops at once when failWhen names a reason", async () => {
    await expect(
      waitFor(() => false, { failWhen: () => "the process exited 1", what: "ready" }),
    ).rejects.toThrow("stopped waiting for ready: the process exited 1");
  });

  it("accepts the timeout and the name positionally", async () => {
    await expect(waitFor(() => false, 30, "streaming")).rejects.toThrow(/waiting for streaming$/);
  });

  it("stops with the signal's reason", async () => {
    const ac = new AbortController();
    const waiting = waitFor(() => false, { signal: ac.signal, intervalMs: 10_000 });
    ac.abort(new Error("test over"));
    await expect(waiting).rejects.toThrow("test over");
  });
});

describe("realClock", () => {
  it("sleeps about as long as asked, and an aborted sleep ends early", async () => {
    const t0 = realClock.now();
    await realClock.sleep(20);
    expect(realClock.now() - t0).toBeGreaterThanOrEqual(19);
    const ac = new AbortController();
    const slept = realClock.sleep(60_000, ac.signal);
    ac.abort();
    await expect(slept).rejects.toMatchObject({ name: "AbortError" });
  });
});
