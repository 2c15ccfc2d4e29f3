// A connector, for any backend: runs sessions (session.ts) one after the other, restarting after retryable
// failures with backoff on the injected clock (1 s doubling to 30 s; a session that got going resets it),
// drains on stop, pauses and resumes, hands re-snapshot requests to the running session, and reports status.
import { realClock } from "../../lib/clock.ts";
import { isMeshError, MeshError } from "../../lib/errors.ts";
import { countError } from "../../lib/metrics.ts";
import type { SourceBackend } from "./backend.ts";
import type {
  Connector,
  ConnectorDeps,
  ParkedResolution,
  SourceDefinition,
  SourceStatus,
  StatusError,
} from "./contract.ts";
import { runSession, type Session } from "./session.ts";

const MAX_RETRY_DELAY_MS = 30_000;

export class ConnectorRuntime<P> implements Connector {
  readonly #backend: SourceBackend<P>;
  readonly #def: SourceDefinition;
  readonly #deps: ConnectorDeps;
  readonly #current: SourceStatus = {
    state: "stopped",
    error: null,
    progress: null,
    lagBytes: null,
    lagSeconds: null,
    offset: null,
    events: {},
    tables: {},
  };
  #session: Session | null = null;
  /** Aborts the session being set up (e.g. a long initial snapshot) when stop() or pause() is called. */
  #attempt: AbortController | null = null;
  #loop: Promise<void> | null = null;
  #wanted: "run" | "stop" | "pause" = "stop";
  #wake: (() => void) | null = null;

  constructor(backend: SourceBackend<P>, def: SourceDefinition, deps: ConnectorDeps) {
    this.#backend = backend;
    this.#def = def;
    this.#deps = deps;
  }

  async start(signal?: AbortSignal): Promise<void> {
    if (this.#loop) return;
    if (signal?.aborted) return;
    signal?.addEventListener("abort", () => void this.stop(), { once: true });
    this.#wanted = "run";
    this.#current.state = "starting";
    const ready = Promise.withResolvers<void>();
    this.#loop = this.#run(ready.resolve, ready.reject);
    await ready.promise;
  }

  async #run(onReady: () => void, onFatal: (err: unknown) => void): Promise<void> {
    const clock = this.#deps.clock ?? realClock;
    const firstDelay = this.#deps.retryDelayMs ?? 1000;
    let delay = firstDelay;
    let readyReported = false;
    while (this.#wanted !== "stop") {
      if (this.#wanted === "pause") {
        this.#current.state = "paused";
        await new Promise<void>((res) => (this.#wake = res));
        continue;
      }
      try {
        this.#attempt = new AbortController();
        const session = await runSession(this.#backend, this.#def, this.#deps, {
          signal: this.#attempt.signal,
          status: this.#current,
          clock,
          onReady: () => {
            if (!readyReported) onReady();
            readyReported = true;
            delay = firstDelay;
          },
        });
        this.#session = session;
        // stop() or pause() may have come while the session was being set up.
        if (this.#wanted !== "run") await session.drain();
        await session.closed;
        this.#session = null;
      } catch (err) {
        this.#session = null;
        if (this.#attempt?.signal.aborted && this.#wanted !== "run") continue;
        const error = toStatusError(err);
        this.#current.error = error;
        countError("source", error.code);
        const retryable = !isMeshError(err) || err.retryable;
        this.#deps.logger.error(
          { err: error, source: this.#def.name, kind: this.#backend.kind, retryable },
          "connector failed",
        );
        this.#current.state = "failed";
        if (!retryable) {
          if (!readyReported) onFatal(err);
          readyReported = true;
          this.#wanted = "stop";
          break;
        }
        if (!readyReported) {
          // The first start reports its outcome; later failures only show in status().
          readyReported = true;
          onReady();
        }
        if (this.#wanted !== "run") continue;
        // stop(), pause() and resume() cut the wait short.
        const waiting = new AbortController();
        this.#wake = () => waiting.abort();
        await clock.sleep(delay, waiting.signal).catch(() => undefined);
        delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS);
      }
    }
    if (this.#current.state !== "failed") this.#current.state = "stopped";
  }

  async stop(): Promise<void> {
    this.#wanted = "stop";
    this.#attempt?.abort();
    this.#wake?.();
    await this.#session?.drain();
    await this.#loop;
    this.#loop = null;
  }

  async pause(): Promise<void> {
    this.#wanted = "pause";
    this.#attempt?.abort();
    await this.#session?.drain();
  }

  resume(): Promise<void> {
    if (this.#wanted === "pause") this.#wanted = "run";
    this.#wake?.();
    return Promise.resolve();
  }

  async resnapshot(tables: string[]): Promise<void> {
    await (await this.#streaming()).resnapshot(tables);
  }

  async resolveParked(topic: string, key: string, action: "retry" | "skip"): Promise<ParkedResolution> {
    return (await this.#streaming()).resolveParked(topic, key, action);
  }

  async #streaming(): Promise<Session> {
    // Between sessions (a restart after a failure) there is nothing to hand the request to yet: wait a while.
    for (let i = 0; i < 600 && !this.#session && this.#wanted === "run"; i++)
      await new Promise((r) => setTimeout(r, 50));
    if (!this.#session)
      throw new MeshError("MESH_CONFLICT", `source ${this.#def.name} is not streaming; start it first`);
    return this.#session;
  }

  status(): SourceStatus {
    return structuredClone(this.#current);
  }
}

function toStatusError(err: unknown): StatusError {
  if (isMeshError(err)) return { code: err.code, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { code: "MESH_INTERNAL", message };
}
