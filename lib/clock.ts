// Time, passed in: `Clock` is what code that decides by time (retry backoff, stale leases, feed stamps) reads
// and sleeps on, so a test drives it with `ManualClock` instead of waiting. Also owns `waitFor`, the one
// "poll until a fact holds" loop (tests, the demo, the local stack), which sleeps on a Clock too.

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function aborted(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const err = new Error("This operation was aborted", { cause: reason });
  err.name = "AbortError";
  return err;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(aborted(signal));
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(aborted(signal!));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
};

interface Sleeper {
  until: number;
  resolve: () => void;
}

/**
 * A clock that moves only when told: `advance(ms)` wakes the sleeps it passes, in deadline order.
 * `nextSleep()` hands each sleep's duration to the test in the order they were asked for, so a test waits
 * on the fact "the code is now sleeping" rather than on time.
 */
export class ManualClock implements Clock {
  #now: number;
  readonly #sleepers: Sleeper[] = [];
  /** Durations asked for and not yet taken by nextSleep(). */
  readonly #asked: number[] = [];
  readonly #onAsk: (() => void)[] = [];

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.#asked.push(ms);
    for (const wake of this.#onAsk.splice(0)) wake();
    if (signal?.aborted) return Promise.reject(aborted(signal));
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const sleeper: Sleeper = {
        until: this.#now + ms,
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        const i = this.#sleepers.indexOf(sleeper);
        if (i >= 0) this.#sleepers.splice(i, 1);
        reject(aborted(signal!));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#sleepers.push(sleeper);
    });
  }

  /** Moves time forward and wakes every sleep whose deadline it reached. */
  advance(ms: number): void {
    this.#now += ms;
    const due = this.#sleepers.filter((s) => s.until <= this.#now).sort((a, b) => a.until - b.until);
    for (const s of due) {
      this.#sleepers.splice(this.#sleepers.indexOf(s), 1);
      s.resolve();
    }
  }

  /** Sleeps now waiting. */
  get sleeping(): number {
    return this.#sleepers.length;
  }

  /** The duration of the next sleep asked for (already asked or still to come). */
  async nextSleep(): Promise<number> {
    while (this.#asked.length === 0) await new Promise<void>((r) => this.#onAsk.push(r));
    return this.#asked.shift()!;
  }
}

export interface WaitOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** Between two probes (default 100 ms). */
  intervalMs?: number;
  /** What is waited for, named in the timeout error. */
  what?: string;
  /** Stop at once with this message when it returns one (e.g. the process waited on has exited). */
  failWhen?: () => string | false | null | undefined;
  /** A probe that throws ends the wait with its error (default: it counts as "not yet"). */
  failOnError?: boolean;
  signal?: AbortSignal;
  clock?: Clock;
}

type Truthy<T> = Exclude<T, false | 0 | "" | null | undefined>;

/**
 * Probes until `probe` returns a truthy value, and returns it. A probe that throws counts as "not yet"
 * (a server still starting refuses connections; `failOnError` changes that); the last error is named if time
 * runs out.
 * `options` may be just the timeout; `what` may also come third, as in `waitFor(check, 60_000, "streaming")`.
 */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  options: WaitOptions | number = {},
  what?: string,
): Promise<Truthy<T>> {
  const o: WaitOptions = typeof options === "number" ? { timeoutMs: options } : options;
  const clock = o.clock ?? realClock;
  const timeoutMs = o.timeoutMs ?? 30_000;
  const label = what ?? o.what ?? "a condition";
  const deadline = clock.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    if (o.signal?.aborted) throw aborted(o.signal);
    try {
      const value = await probe();
      if (value) return value as Truthy<T>;
    } catch (err) {
      if (o.failOnError) throw err;
      last = err;
    }
    const failure = o.failWhen?.();
    if (failure) throw new Error(`stopped waiting for ${label}: ${failure}`);
    if (clock.now() >= deadline) {
      const why =
        last === undefined ? "" : `: ${last instanceof Error ? last.message : JSON.stringify(last)}`;
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${label}${why}`, { cause: last });
    }
    await clock.sleep(o.intervalMs ?? 100, o.signal);
  }
}
