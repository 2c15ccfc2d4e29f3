// Keeps one view up to date from Kafka: reads its input topics and their sources' `<source>.transactions`
// topics in full (every process sees joined tables whole, GlobalKTable style) with a lib/kafka reader
// assigned the positions stored in LevelDB (read_committed, no consumer group: LevelDB is the only truth of
// where a view is), reassembles whole transactions (assembler.ts) and applies each release as one LevelDB
// batch with the new positions (view-apply.ts). Records that cannot be applied are parked per key.
//
// Split mode (`split`): this process is a member of the shared group `split.groupId`, which deals the driving
// topic's partitions among the processes (group-assigner.ts; each member's userData is its URL). Each
// assignment restarts reading from the stored positions over the owned driving partitions (reading.ts: a
// gained partition replays from its marker floor); everything else is still read in full.
//
// Any restart (an assignment, or a retryable failure while reading) ends the current Reading's loop, waits
// for what it released to be applied, and plans a new Reading from what LevelDB holds: nothing read but not
// applied is carried over, so nothing is applied twice or skipped.
import { realClock } from "../../lib/clock.ts";
import { isMeshError } from "../../lib/errors.ts";
import type { GroupMember, KafkaClient, PartitionReader } from "../../lib/kafka/index.ts";
import type { Logger } from "../../lib/logger.ts";
import type { RegistryClient } from "../../lib/registry-client.ts";
import type { ViewStatus } from "../contract.ts";
import type { Db } from "../engine/reader.ts";
import type { ViewChange, ViewState } from "../engine/view-state.ts";
import { ASSIGNER_NAME, dealPartitions, memberUserData } from "./group-assigner.ts";
import { readInputs } from "./read-inputs.ts";
import { Reading } from "./reading.ts";
import type { Position } from "./apply-holds.ts";
import { countViewFailure } from "../metrics.ts";
import { ViewApplier } from "./view-apply.ts";
import { drivingTopic } from "../sql/plan.ts";

export interface RunnerDeps {
  kafka: KafkaClient;
  registry: RegistryClient;
  logger: Logger;
  now?: () => number;
  /** Split mode: the shared consumer group of this view and the URL this process answers queries on. */
  split?: { groupId: string; advertisedUrl: string; sessionTimeout?: number };
}

/** How long the broker may hold an idle fetch: how late a restart's new positions join one in flight. */
const FETCH_WAIT_MS = 250;
const MAX_RETRY_MS = 5_000;

const sameSet = (a: number[] | null, b: number[] | null): boolean =>
  a === b || (a !== null && b !== null && a.join(",") === b.join(","));

export class ViewRunner {
  readonly #db: Db;
  readonly #state: ViewState;
  readonly #deps: RunnerDeps;
  readonly #now: () => number;
  readonly #applier: ViewApplier;
  /** Reads every input; moved to each new Reading's positions. */
  #reader: PartitionReader | null = null;
  /** The partitions the reader holds now (unassigned before the next Reading is assigned). */
  #assigned: { topic: string; partition: number }[] = [];
  /** Split mode: this process's membership of the view's group. */
  #member: GroupMember | null = null;
  /** The driving partitions to read (split mode: the latest assignment; null: all). */
  #wanted: number[] | null = null;
  #reading: Reading | null = null;
  /** The current Reading's loop, and how to end it. */
  #loop: Promise<void> = Promise.resolve();
  #loopAbort: AbortController | null = null;
  /** Consecutive retryable failures of the reading loop (the backoff of the restart after one). */
  #loopFailures = 0;
  /** Restarts run one after another (an assignment can arrive while one is in progress). */
  #restarting: Promise<void> = Promise.resolve();
  #stopping = new AbortController();
  #stopped = false;
  /** Split mode: owned driving partitions whose state has caught up (served by queries). */
  readonly #caughtUp = new Set<number>();
  #lastPartitionCount = 0;
  #phase: ViewStatus["state"] = "backfilling";
  /** Input topics not in Kafka yet (phase `waiting`): a view may be declared before its source's topics exist. */
  #missingTopics: string[] = [];
  #error: ViewStatus["error"] = null;

  constructor(db: Db, state: ViewState, deps: RunnerDeps) {
    this.#db = db;
    this.#state = state;
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#applier = new ViewApplier(db, state, {
      ...deps,
      // A batch whose write failed after the reading loop moved on: restart from the stored positions.
      onFailure: (err) => {
        const reading = this.#reading;
        if (reading) this.#loopFailed(reading, err);
      },
    });
  }

  onChanges(listener: (changes: ViewChange[]) => void): () => void {
    return this.#applier.onChanges(listener);
  }

  get drivingTopic(): string {
    return drivingTopic(this.#state.plan);
  }

  /** Split mode: the driving partitions this process reads now (null: not split, it reads all). */
  owned(): number[] | null {
    return this.#deps.split ? [...(this.#reading?.owned ?? [])] : null;
  }

  /** Partition count of the driving topic (0 before the first reading is planned). */
  drivingPartitionCount(): number {
    return this.#reading?.drivingPartitions ?? this.#lastPartitionCount;
  }

  /** Split mode: the owned partitions whose rows queries may return (null: not split, all rows). */
  served(): Set<number> | null {
    return this.#deps.split ? new Set(this.#caughtUp) : null;
  }

  /** Resolves once the view reads from its stored positions (split mode: those of its first assignment). */
  async start(): Promise<void> {
    this.#stopped = false;
    this.#stopping = new AbortController();
    await this.#state.load();
    await this.#applier.load();
    this.#reader = this.#deps.kafka.reader({ isolation: "read_committed", maxWaitMs: FETCH_WAIT_MS });
    const split = this.#deps.split;
    if (!split) {
      await this.#restart();
      return;
    }
    const member = this.#deps.kafka.groupMember({
      groupId: split.groupId,
      topics: [this.drivingTopic],
      protocol: ASSIGNER_NAME,
      userData: () => memberUserData(split.advertisedUrl),
      assign: (members, partitions) => dealPartitions(members, partitions),
      onAssignment: (assignment) => this.#assignedPartitions(assignment.get(this.drivingTopic) ?? []),
      sessionTimeoutMs: split.sessionTimeout ?? 30_000,
    });
    this.#member = member;
    await member.start();
    await this.#restarting;
  }

  /** Each (re)join's assignment: a changed set of driving partitions restarts reading over it. */
  #assignedPartitions(partitions: number[]): void {
    if (this.#stopped) return;
    const owned = [...partitions].sort((a, b) => a - b);
    if (sameSet(this.#wanted, owned) && this.#reading !== null) return;
    this.#wanted = owned;
    this.#endReading(); // nothing more goes into the old reading's assembler
    this.#queueRestart(0);
  }

  #queueRestart(delayMs: number): void {
    this.#restarting = this.#restarting.then(async () => {
      if (delayMs > 0) await realClock.sleep(delayMs, this.#stopping.signal).catch(() => undefined);
      // An earlier queued restart may have read the same set already.
      if (this.#reading !== null && sameSet(this.#reading.owned, this.#wanted)) return;
      await this.#restartRetrying();
    });
  }

  #endReading(): void {
    this.#reading = null;
    this.#loopAbort?.abort();
  }

  /** Stops the current reading (keeping what was applied) and starts one over the wanted driving partitions. */
  async #restart(): Promise<void> {
    this.#endReading();
    await this.#loop;
    await this.#applier.settled();
    this.#applier.reset();
    const owned = this.#wanted;
    for (const p of this.#caughtUp) if (!owned?.includes(p)) this.#caughtUp.delete(p);
    const inputs = [this.drivingTopic, ...this.#applier.tables.keys()].filter(
      (t, i, all) => all.indexOf(t) === i,
    );
    if (!(await this.#inputsExist(inputs))) return;
    const reading = await Reading.plan(this.#deps.kafka.admin(), this.#db, this.#state.layout, inputs, owned);
    const reader = this.#reader;
    if (this.#stopped || !reader) return;
    reader.unassign(this.#assigned);
    const starts = reading.starts();
    this.#assigned = starts.map(({ topic, partition }) => ({ topic, partition }));
    await reader.assign(starts);
    if (this.#stopped) return;
    this.#reading = reading;
    this.#lastPartitionCount = reading.drivingPartitions;
    const abort = new AbortController();
    this.#loopAbort = abort;
    this.#loop = readInputs({
      reading,
      reader,
      registry: this.#deps.registry,
      tables: this.#applier.tables,
      current: () => this.#reading,
      apply: (r, units) => this.#applier.apply(r, units),
      afterBatch: (r) => {
        this.#loopFailures = 0;
        // Ready (and serving a caught-up partition) once what was read is written, not only queued: what
        // counts is what was read by this batch, judged now (by the time it is written, more is read).
        const seen = this.#readiness(r);
        void this.#applier.settled().then(() => this.#markReady(r, seen));
      },
      signal: abort.signal,
    }).catch((err: unknown) => this.#loopFailed(reading, err));
    this.#markReady(reading, this.#readiness(reading));
    if (owned !== null)
      this.#deps.logger.info({ view: this.#state.plan.name, owned }, "view partitions assigned");
  }

  /**
   * Whether every input topic exists: a view may be declared before its source's connector created them.
   * If not, the view is `waiting` and the restart is tried again in a second (start() does not wait for it).
   */
  async #inputsExist(inputs: string[]): Promise<boolean> {
    const existing = new Set(await this.#deps.kafka.admin().listTopics());
    this.#missingTopics = inputs.filter((t) => !existing.has(t));
    if (this.#missingTopics.length === 0) {
      if (this.#phase === "waiting") this.#phase = "backfilling";
      return true;
    }
    if (this.#phase === "backfilling") {
      this.#phase = "waiting";
      this.#deps.logger.info(
        { view: this.#state.plan.name, topics: this.#missingTopics },
        "view waiting for its topics",
      );
    }
    this.#queueRestart(1000);
    return false;
  }

  /**
   * A restart while Kafka moves partitions around (or is briefly unreachable) may fail: retry with backoff
   * before failing the view (a later assignment supersedes this one: its restart is queued behind).
   */
  async #restartRetrying(): Promise<void> {
    for (let attempt = 1; !this.#stopped && this.#phase !== "failed"; attempt++) {
      try {
        await this.#restart();
        return;
      } catch (err) {
        if (attempt >= 10) return this.#fail(err);
        this.#deps.logger.warn({ err, view: this.#state.plan.name, attempt }, "view restart failed");
        await realClock.sleep(200 * attempt, this.#stopping.signal).catch(() => undefined);
      }
    }
  }

  /** The reading loop stopped on an error: retryable ones (e.g. the registry unreachable) restart it. */
  #loopFailed(reading: Reading, err: unknown): void {
    if (this.#stopped || this.#reading !== reading) return; // ended on purpose meanwhile
    if (!(isMeshError(err) && err.retryable)) return this.#fail(err);
    this.#loopFailures++;
    const delayMs = Math.min(MAX_RETRY_MS, 100 * 2 ** Math.min(this.#loopFailures - 1, 10));
    this.#deps.logger.warn(
      { err, view: this.#state.plan.name, retryInMs: delayMs },
      "reading the view's inputs failed; restarting from the stored positions",
    );
    this.#endReading();
    this.#queueRestart(delayMs);
  }

  #fail(err: unknown): void {
    this.#phase = "failed";
    this.#error = { code: isMeshError(err) ? err.code : "MESH_INTERNAL", message: (err as Error).message };
    countViewFailure(this.#error.code);
    this.#endReading();
    this.#deps.logger.error({ err, view: this.#state.plan.name }, "view failed");
  }

  /** Which owned partitions have caught up, and whether every input has, as far as `reading` has read. */
  #readiness(reading: Reading): { partitions: number[]; all: boolean } {
    const partitions = (reading.owned ?? []).filter((p) => reading.partitionCaughtUp(p));
    const all = [...reading.tps.keys()].every((k) => reading.reached(k)) && reading.assembler.buffered === 0;
    return { partitions, all };
  }

  /** Applies a readiness judged when it was read, once what was read then is written. */
  #markReady(reading: Reading, seen: { partitions: number[]; all: boolean }): void {
    if (this.#reading !== reading) return;
    for (const p of seen.partitions) this.#caughtUp.add(p);
    if (this.#phase !== "backfilling" || !seen.all) return;
    this.#phase = "ready";
    this.#applier.markLive();
    this.#deps.logger.info({ view: this.#state.plan.name, rows: this.#state.stats.rows }, "view caught up");
  }

  /**
   * Operator action on a parked key: `retry` re-decodes its records in order and applies them (they stay
   * parked if still undecodable or unusable); `skip` drops the oldest parked record first.
   */
  resolveParked(
    topic: string,
    keyId: string,
    action: "retry" | "skip",
  ): Promise<{ applied: number; stillParked: number }> {
    return this.#applier.resolveParked(topic, keyId, action);
  }

  /**
   * Consistent pages across split-view members (apply-holds.ts): holds the view at its position, or moves it
   * up to exactly `at` first; resolves with the position once what it applied is written.
   */
  hold(id: string, at: Position | null, options: { ttlMs: number; timeoutMs: number }): Promise<Position> {
    return this.#applier.hold(id, at, options.ttlMs, options.timeoutMs);
  }

  releaseHold(id: string): void {
    this.#applier.holds.release(id);
  }

  /** Cheap readiness for every query (status() walks every partition and the parked list). */
  isReady(): boolean {
    return this.#phase === "ready";
  }

  status(): ViewStatus {
    let total = 0n;
    let done = 0n;
    const r = this.#reading;
    for (const [k, target] of r?.target ?? []) {
      const from = r?.start0.get(k) ?? 0n;
      total += target > from ? target - from : 0n;
      const pos = r?.position.get(k) ?? from;
      const reached = pos < target ? pos : target;
      done += reached > from ? reached - from : 0n;
    }
    const oldest = r?.assembler.oldestBuffered();
    const parked = this.#applier.parked.all().map((p) => ({
      topic: p.topic,
      partition: p.partition,
      offset: p.offset,
      key: p.keyId,
      reason: p.reason,
    }));
    return {
      state: this.#phase,
      progress:
        this.#phase === "ready" || (r && total === 0n)
          ? 1
          : total === 0n
            ? 0
            : Number((done * 1000n) / total) / 1000,
      rows: this.#state.stats.rows,
      lagMs: oldest?.tsMs ? Math.max(0, this.#now() - oldest.tsMs) : 0,
      parked,
      error: this.#error,
      ...(this.#phase === "waiting" ? { waitingFor: { schemas: [], topics: [...this.#missingTopics] } } : {}),
    };
  }

  /** Leaves the group (the others take the partitions at once), ends reading, and waits for the applies. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopping.abort();
    this.#applier.holds.clear();
    const member = this.#member;
    this.#member = null;
    await member?.stop();
    await this.#restarting;
    this.#endReading();
    await this.#loop;
    await this.#applier.settled();
    const reader = this.#reader;
    this.#reader = null;
    this.#assigned = [];
    await reader?.close();
    if (reader && this.#phase !== "failed") this.#phase = "stopped";
  }
}
