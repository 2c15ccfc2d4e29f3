// SourceRuntime for several API processes sharing one catalog: each source's connector runs in exactly one
// of them, the holder of the source's lease (api/control/source-leases.ts). Every process joins every source's
// lease group; the holder runs the connector (resuming from the offsets stored in `_mesh_offsets`) and
// publishes its status (api/control/status-board.ts), which every process shows. Pause, resume and delete
// reach the holder through the catalog, which every process applies; a re-snapshot request reaching another
// process is forwarded to the holder over HTTP. With `connectors` null (`--connect false`) the process runs
// no connector and takes no lease, but still shows every status and forwards re-snapshots.
import { realClock, type Clock } from "../../lib/clock.ts";
import { MeshError } from "../../lib/errors.ts";
import { HttpClient, type Answer } from "../../lib/http/client.ts";
import type { Logger } from "../../lib/logger.ts";
import type { ParkedResolution } from "../../connectors/core/change-source.ts";
import type { SourceRecord } from "../../protocol/catalog.ts";
import type { SourceLeases } from "../control/source-leases.ts";
import type { StatusBoard } from "../control/status-board.ts";
import {
  FORWARDED_HEADER,
  type PlacedSourceStatus,
  type SourceProblem,
  type SourceRuntime,
} from "../runtime.ts";
import { dropSourceSlot, type ConnectorRuntime } from "./connector-runtime.ts";

export interface PlacedSourcesOptions {
  connectors:
    | (Pick<ConnectorRuntime, "ensure" | "remove" | "snapshot" | "status" | "stop"> &
        Partial<Pick<ConnectorRuntime, "resolveParked">>)
    | null;
  leases: Pick<SourceLeases, "has" | "join" | "holds" | "holderUrl" | "leave" | "stop">;
  board: Pick<StatusBoard, "get" | "publish">;
  logger: Logger;
  /** This process's API URL (known once the server listens). */
  url: () => string;
  /** How often the holder republishes a status that did not change (reports older than 5× are stale). */
  reportEveryMs?: number;
  /** How long ensure() waits for a new lease group to settle, so a single process answers with a status. */
  firstSettleMs?: number;
  /** After a failed attempt to join a source's lease group (Kafka unreachable), try again this much later. */
  joinRetryMs?: number;
  check(def: SourceRecord): Promise<SourceProblem[]>;
  /** Stamps reports and judges them stale (default the real clock). */
  clock?: Clock;
  /** Calls to the other API processes (with this process's internal credential). */
  client?: HttpClient;
}

export class PlacedSources implements SourceRuntime {
  readonly #o: PlacedSourcesOptions;
  readonly #records = new Map<string, SourceRecord>();
  readonly #running = new Set<string>();
  readonly #chains = new Map<string, Promise<void>>();
  readonly #reportEveryMs: number;
  readonly #clock: Clock;
  readonly #timer: NodeJS.Timeout;
  /** Forwards re-snapshots to the holder. */
  readonly #http: HttpClient;
  #stopped = false;

  constructor(options: PlacedSourcesOptions) {
    this.#o = options;
    this.#http = options.client ?? new HttpClient();
    this.#reportEveryMs = options.reportEveryMs ?? 2_000;
    this.#clock = options.clock ?? realClock;
    this.#timer = setInterval(() => {
      for (const name of this.#running) void this.#report(name);
    }, this.#reportEveryMs);
    this.#timer.unref();
  }

  /** Sources whose connector runs in this process (GET /v1/status). */
  runningHere(): string[] {
    return [...this.#running].sort();
  }

  check(def: SourceRecord): Promise<SourceProblem[]> {
    return this.#o.check(def);
  }

  async ensure(record: SourceRecord): Promise<void> {
    this.#records.set(record.name, record);
    const { connectors, leases } = this.#o;
    if (!connectors) return;
    if (!leases.has(record.name)) {
      let settled!: () => void;
      const first = new Promise<void>((r) => (settled = r));
      try {
        await leases.join(record.name, (held) => {
          if (held !== undefined) settled();
          this.#onLease(record.name, held);
        });
      } catch (err) {
        this.#retryJoin(record.name, err);
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        first,
        new Promise((r) => (timer = setTimeout(r, this.#o.firstSettleMs ?? 15_000))),
      ]);
      clearTimeout(timer);
    } else {
      this.#serial(record.name, () => this.#apply(record.name));
    }
    await this.#chains.get(record.name);
  }

  async remove(record: SourceRecord, options: { dropSlot: boolean }): Promise<void> {
    this.#records.delete(record.name);
    await this.#o.leases.leave(record.name);
    // A failed slot drop goes back to the DELETE request (the route names the slot and the SQL to drop it).
    const outcome: { failure?: Error } = {};
    this.#serial(record.name, async () => {
      const wasRunning = this.#running.delete(record.name);
      try {
        // Also when not running here: a slot is dropped by the process that took the DELETE request.
        if (this.#o.connectors) {
          if (wasRunning || options.dropSlot) await this.#o.connectors.remove(record, options);
        } else if (options.dropSlot) await dropSourceSlot(record);
      } catch (err) {
        outcome.failure = err instanceof Error ? err : new Error(String(err));
      }
      if (wasRunning) await this.#o.board.publish(record.name, null).catch(() => undefined);
    });
    await this.#chains.get(record.name);
    if (outcome.failure !== undefined) throw outcome.failure;
  }

  async snapshot(name: string, tables: string[], options: { forwarded?: boolean } = {}): Promise<void> {
    if (this.#running.has(name) && this.#o.connectors) return this.#o.connectors.snapshot(name, tables);
    const holder = await this.#holderUrl(name);
    if (!holder || holder === this.#o.url() || options.forwarded) {
      throw new MeshError(
        "MESH_CONFLICT",
        `no API process runs source ${name} right now (its connector is starting or moving to another process); retry in a few seconds`,
        { source: name },
      );
    }
    let answer: Answer;
    try {
      answer = await this.#http.call(`${holder}/v1/sources/${encodeURIComponent(name)}/snapshot`, {
        method: "POST",
        headers: { [FORWARDED_HEADER]: "1" },
        body: { tables },
        timeoutMs: 30_000,
      });
    } catch (err) {
      throw new MeshError(
        "MESH_CONFLICT",
        `the API process running source ${name} (${holder}) did not answer: ${(err as Error).message}; retry in a few seconds`,
        { source: name, holder },
      );
    }
    if (answer.status === 202) return;
    const body = (answer.body ?? {}) as { code?: string; message?: string };
    throw new MeshError(
      body.code === "MESH_BAD_REQUEST" || body.code === "MESH_NOT_FOUND" ? body.code : "MESH_CONFLICT",
      `the API process running source ${name} refused the re-snapshot: ${body.message ?? answer.status}`,
      { source: name, holder },
    );
  }

  /** Parked domain events are retried by the connector's holder: here, or forwarded to it. */
  async resolveParked(
    name: string,
    target: { topic: string; key: string },
    action: "retry" | "skip",
    options: { forwarded?: boolean } = {},
  ): Promise<ParkedResolution> {
    const local = this.#o.connectors?.resolveParked;
    if (this.#running.has(name) && local) return local.call(this.#o.connectors, name, target, action);
    const holder = await this.#holderUrl(name);
    if (!holder || holder === this.#o.url() || options.forwarded) {
      throw new MeshError(
        "MESH_CONFLICT",
        `no API process runs source ${name} right now (its connector is starting or moving to another process); retry in a few seconds`,
        { source: name },
      );
    }
    let answer: Answer;
    try {
      answer = await this.#http.call(
        `${holder}/v1/events/${encodeURIComponent(target.topic)}/parked/${action}`,
        {
          method: "POST",
          headers: { [FORWARDED_HEADER]: "1" },
          body: { key: target.key },
          timeoutMs: 30_000,
        },
      );
    } catch (err) {
      throw new MeshError(
        "MESH_CONFLICT",
        `the API process running source ${name} (${holder}) did not answer: ${(err as Error).message}; retry in a few seconds`,
        { source: name, holder },
      );
    }
    const body = (answer.body ?? {}) as ParkedResolution & { code?: string; message?: string };
    if (answer.status === 200) {
      const { published, skipped, stillParked, reason } = body;
      return { published, skipped, stillParked, reason };
    }
    throw new MeshError(
      body.code === "MESH_NOT_FOUND" ? "MESH_NOT_FOUND" : "MESH_CONFLICT",
      `the API process running source ${name} refused the ${action}: ${body.message ?? answer.status}`,
      { source: name, holder },
    );
  }

  status(name: string): PlacedSourceStatus | undefined {
    if (this.#running.has(name)) {
      const local = this.#o.connectors?.status(name);
      if (local) {
        return {
          ...local,
          holder: { url: this.#o.url(), reportedAt: new Date(this.#clock.now()).toISOString(), stale: false },
        };
      }
    }
    const record = this.#records.get(name);
    const report = record ? this.#o.board.get(name, record.id) : undefined;
    if (!report) return undefined;
    const age = this.#clock.now() - Date.parse(report.reportedAt);
    return {
      ...report.status,
      holder: { url: report.holder, reportedAt: report.reportedAt, stale: age > 5 * this.#reportEveryMs },
    };
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    // Leave the lease groups first, so other processes take the sources over without a session timeout.
    await this.#o.leases.stop();
    await Promise.allSettled(this.#chains.values());
    this.#running.clear();
    await this.#o.connectors?.stop();
  }

  #retryJoin(name: string, err: unknown): void {
    const ms = this.#o.joinRetryMs ?? 5_000;
    this.#o.logger.error({ err, source: name, retryInMs: ms }, "could not join the source's lease group");
    const timer = setTimeout(() => {
      const record = this.#records.get(name);
      if (record && !this.#stopped && !this.#o.leases.has(name)) void this.ensure(record);
    }, ms);
    timer.unref();
  }

  #onLease(name: string, held: boolean | undefined): void {
    // A rebalance (undefined) keeps the connector running: the assigner keeps a live holder.
    if (held === true) this.#serial(name, () => this.#apply(name));
    if (held === false) {
      this.#serial(name, async () => {
        const record = this.#records.get(name);
        if (!this.#running.delete(name) || !record) return;
        this.#o.logger.info({ source: name }, "source lease lost: stopping its connector here");
        await this.#o.connectors?.remove(record, { dropSlot: false });
      });
    }
  }

  /** Runs (or pauses, resumes, replaces) the connector when this process holds the lease. */
  async #apply(name: string): Promise<void> {
    const record = this.#records.get(name);
    if (!record || !this.#o.connectors || !this.#o.leases.holds(name)) return;
    if (!this.#running.has(name))
      this.#o.logger.info({ source: name }, "source lease held: running its connector");
    this.#running.add(name);
    await this.#o.connectors.ensure(record);
    await this.#report(name);
  }

  async #report(name: string): Promise<void> {
    const record = this.#records.get(name);
    const status = this.#o.connectors?.status(name);
    if (!record || !status) return;
    await this.#o.board
      .publish(name, {
        id: record.id,
        holder: this.#o.url(),
        status,
        reportedAt: new Date(this.#clock.now()).toISOString(),
      })
      .catch((err: unknown) => this.#o.logger.warn({ err, source: name }, "could not publish source status"));
  }

  async #holderUrl(name: string): Promise<string | undefined> {
    const fromLease = await this.#o.leases.holderUrl(name).catch(() => undefined);
    if (fromLease) return fromLease;
    const status = this.status(name);
    return status?.holder && !status.holder.stale ? status.holder.url : undefined;
  }

  /** Work for one source runs one piece at a time, in order. */
  #serial(name: string, work: () => Promise<void>): void {
    const next = (this.#chains.get(name) ?? Promise.resolve()).then(work).catch((err: unknown) => {
      this.#o.logger.error({ err, source: name }, "placing the source's connector failed");
    });
    this.#chains.set(name, next);
    void next.then(() => {
      if (this.#chains.get(name) === next) this.#chains.delete(name);
    });
  }
}
