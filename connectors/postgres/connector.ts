// The Postgres connector's lifecycle: prerequisites, publication and slot, the initial snapshot in the
// slot's exported snapshot, then streaming from the slot; restarts after retryable failures (resuming from
// the slot's confirmed LSN), drains on stop, and reports status.
import type {
  Connector,
  ConnectorBackend,
  ConnectorDeps,
  SourceDefinition,
  SourceStatus,
  StatusError,
} from "../core/change-source.ts";
import { realClock } from "../../lib/clock.ts";
import { isMeshError, MeshError } from "../../lib/errors.ts";
import { checkPostgresPrerequisites } from "./prerequisites.ts";
import { runSession, type Session } from "./session.ts";

export const postgresBackend: ConnectorBackend = {
  create: (def, deps) => new PostgresConnector(def, deps),
  checkPrerequisites: checkPostgresPrerequisites,
};

export class PostgresConnector implements Connector {
  private readonly def: SourceDefinition;
  private readonly deps: ConnectorDeps;
  private readonly current: SourceStatus = {
    state: "stopped",
    error: null,
    progress: null,
    lagBytes: null,
    lagSeconds: null,
    offset: null,
    events: {},
    tables: {},
  };
  private session: Session | null = null;
  /** Aborts the session being set up (e.g. a long initial snapshot) when stop() or pause() is called. */
  private attempt: AbortController | null = null;
  private loop: Promise<void> | null = null;
  private wanted: "run" | "stop" | "pause" = "stop";
  private wake: (() => void) | null = null;
  private pendingResnapshot: string[] = [];

  constructor(def: SourceDefinition, deps: ConnectorDeps) {
    this.def = def;
    this.deps = deps;
  }

  async start(): Promise<void> {
    if (this.loop) return;
    this.wanted = "run";
    this.current.state = "starting";
    let firstReady!: () => void;
    let firstFailed!: (err: unknown) => void;
    const ready = new Promise<void>((res, rej) => {
      firstReady = res;
      firstFailed = rej;
    });
    this.loop = this.run(firstReady, firstFailed);
    await ready;
  }

  private async run(onReady: () => void, onFatal: (err: unknown) => void): Promise<void> {
    let delay = this.deps.retryDelayMs ?? 1000;
    let readyReported = false;
    while (this.wanted !== "stop") {
      if (this.wanted === "pause") {
        this.current.state = "paused";
        await new Promise<void>((res) => (this.wake = res));
        continue;
      }
      try {
        this.attempt = new AbortController();
        const session = await runSession(this.def, this.deps, {
          signal: this.attempt.signal,
          status: this.current,
          onReady: () => {
            if (!readyReported) onReady();
            readyReported = true;
            delay = this.deps.retryDelayMs ?? 1000;
          },
          resnapshot: this.pendingResnapshot,
        });
        this.session = session;
        // stop() or pause() may have come while the session was being set up.
        if (this.wanted !== "run") await session.drain();
        await session.closed;
        this.session = null;
      } catch (err) {
        this.session = null;
        if (this.attempt?.signal.aborted && this.wanted !== "run") continue;
        const error = toStatusError(err);
        this.current.error = error;
        const retryable = !isMeshError(err) || err.retryable;
        this.deps.logger.error({ err: error, source: this.def.name, retryable }, "postgres connector failed");
        if (!retryable) {
          this.current.state = "failed";
          if (!readyReported) onFatal(err);
          readyReported = true;
          this.wanted = "stop";
          break;
        }
        if (!readyReported) {
          // The first start reports its outcome; later failures only show in status().
          readyReported = true;
          onReady();
        }
        this.current.state = "failed";
        if (this.wanted !== "run") continue;
        // stop(), pause() and resume() cut the wait short.
        const waiting = new AbortController();
        this.wake = () => waiting.abort();
        await (this.deps.clock ?? realClock).sleep(delay, waiting.signal).catch(() => undefined);
        delay = Math.min(delay * 2, 30_000);
      }
    }
    if (this.current.state !== "failed") this.current.state = "stopped";
  }

  async stop(): Promise<void> {
    this.wanted = "stop";
    this.attempt?.abort();
    this.wake?.();
    await this.session?.drain();
    await this.loop;
    this.loop = null;
  }

  async pause(): Promise<void> {
    this.wanted = "pause";
    this.attempt?.abort();
    await this.session?.drain();
  }

  resume(): Promise<void> {
    if (this.wanted === "pause") this.wanted = "run";
    this.wake?.();
    return Promise.resolve();
  }

  async resnapshot(tables: string[]): Promise<void> {
    // Between sessions (a restart after a failure) there is nothing to hand the request to yet: wait a while.
    for (let i = 0; i < 600 && !this.session && this.wanted === "run"; i++)
      await new Promise((r) => setTimeout(r, 50));
    if (!this.session)
      throw new MeshError("MESH_CONFLICT", `source ${this.def.name} is not streaming; start it first`);
    await this.session.resnapshot(tables);
  }

  status(): SourceStatus {
    return structuredClone(this.current);
  }
}

function toStatusError(err: unknown): StatusError {
  if (isMeshError(err)) return { code: err.code, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { code: "MESH_INTERNAL", message };
}
