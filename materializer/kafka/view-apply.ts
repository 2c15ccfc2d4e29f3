// One view's apply step and its parked records: released units (whole transactions, or free events) become
// ONE ViewState batch each call, holding the state changes, the records parked instead of applied, and the new
// stored positions (offset and marker floor per topic partition, the markers' position), so LevelDB never
// holds state without the positions it was read up to. Batches apply one after another in release order;
// the reading loop does not wait for a batch's write (it decodes the next records meanwhile), and what is
// released during a write joins the next batch (group commit), up to MAX_GROUP_CHANGES.
// Operator actions on parked keys (retry, skip) go through the same queue. Holds for consistent pages
// (apply-holds.ts) keep released units back, in order, until the hold is released.
import type { Logger } from "../../lib/logger.ts";
import type { RegistryClient } from "../../lib/registry-client.ts";
import { ChangeCheck } from "../engine/change-check.ts";
import { countEventsRead, timedApply } from "../metrics.ts";
import type { Db } from "../engine/reader.ts";
import type { BatchOp, TableChange, ViewChange, ViewState } from "../engine/view-state.ts";
import type { TableInfo } from "../sql/catalog.ts";
import { baseRelations } from "../sql/plan.ts";
import { sourceOfTopic } from "../../protocol/topics.ts";
import { tpKey, type Unit } from "./assembler.ts";
import { ApplyHolds, type Position } from "./apply-holds.ts";
import { decodeEvent, type InEvent } from "./decode.ts";
import { ParkedKeys, type ParkedRecord } from "./parked.ts";
import { formatStored, type Reading, type Stored } from "./reading.ts";

/** Changes a batch may gather while the previous one is written before the reading loop waits for it. */
const MAX_GROUP_CHANGES = 20_000;

interface Group {
  changes: TableChange[];
  ops: BatchOp[];
  /** Resolves once written and announced. */
  done: Promise<void>;
}

/** How long overlapping consistent pages may keep a view from applying before a new one waits. */
const MAX_FREEZE_MS = 200;

export class ViewApplier {
  readonly parked: ParkedKeys;
  /** Input tables by topic. */
  readonly tables = new Map<string, TableInfo>();
  readonly #db: Db;
  readonly #state: ViewState;
  readonly #registry: RegistryClient;
  readonly #logger: Logger;
  /** Values the view cannot use (wrong type) park their key instead of failing the view's apply. */
  readonly #check: ChangeCheck;
  readonly #listeners = new Set<(changes: ViewChange[]) => void>();
  /** Settles when every batch queued so far is written (or failed). */
  #tail: Promise<void> = Promise.resolve();
  /** The batch queued last, not started yet: what is released meanwhile joins it. */
  #open: Group | null = null;
  /** A batch the reading loop did not wait for failed (thrown by the next apply()). */
  #failure: Error | null = null;
  readonly #onFailure: ((err: unknown) => void) | undefined;
  /** Operator actions on parked keys run one after another. */
  #resolving: Promise<unknown> = Promise.resolve();
  /** Position and holds for consistent pages across split-view members. */
  readonly holds = new ApplyHolds(() => void this.#drain());
  /** Units released while held, in order, with the Reading they belong to. */
  #stash: { reading: Reading; units: Unit[] } | null = null;

  constructor(
    db: Db,
    state: ViewState,
    deps: { registry: RegistryClient; logger: Logger; onFailure?: (err: unknown) => void },
  ) {
    this.#onFailure = deps.onFailure;
    this.#db = db;
    this.#state = state;
    this.#registry = deps.registry;
    this.#logger = deps.logger;
    // A view over views (and an aggregate view) reads the tables of the stages compiled into it.
    for (const r of baseRelations(state.plan)) this.tables.set(r.table.topic, r.table);
    this.parked = new ParkedKeys(state.layout);
    this.#check = new ChangeCheck(state.plan);
  }

  async load(): Promise<void> {
    await this.parked.load(this.#db);
    const sources = new Set([...this.tables.keys()].map(sourceOfTopic));
    for (const source of sources) {
      const end = await this.#db.get(this.#state.layout.markerEnd(source));
      if (end) this.holds.position.set(source, BigInt(end.toString()));
    }
  }

  /**
   * Consistent pages: holds at the current position, or moves up to exactly `at` and holds there (waiting
   * up to `timeoutMs` for the units to arrive); resolves with the position once its writes are done.
   */
  async hold(id: string, at: Position | null, ttlMs: number, timeoutMs: number): Promise<Position> {
    // Overlapping queries keep the view held: past MAX_FREEZE_MS a new one waits for it to move on first.
    while (at === null && this.holds.frozenTooLong(MAX_FREEZE_MS)) await this.holds.unfrozen();
    this.holds.hold(id, at, ttlMs);
    if (at !== null) {
      void this.#drain();
      await this.holds.reached(at, timeoutMs);
    }
    await this.#tail;
    return new Map(this.holds.position);
  }

  /** Applies the held units the current limit admits (all of them once no hold is left). */
  async #drain(): Promise<void> {
    const stash = this.#stash;
    if (!stash) return;
    const now: Unit[] = [];
    const after = new Map(this.holds.position);
    let i = 0;
    for (; i < stash.units.length; i++) {
      const unit = stash.units[i] as Unit;
      if (!this.holds.admits(unit, after)) break;
      for (const [source, end] of unit.ends) after.set(source, end);
      now.push(unit);
    }
    stash.units = stash.units.slice(i);
    if (stash.units.length === 0) this.#stash = null;
    if (now.length > 0) await this.#applyNow(stash.reading, now);
  }

  onChanges(listener: (changes: ViewChange[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves when every batch queued so far was applied (or failed). */
  settled(): Promise<void> {
    return this.#tail;
  }

  /**
   * A restart reads again from the stored positions: units held back from the ended Reading are dropped,
   * and a failed batch is no longer pending.
   */
  reset(): void {
    this.#stash = null;
    this.#failure = null;
  }

  /** The view caught up for the first time: after the batches queued so far, the change feed starts. */
  markLive(): void {
    this.#open = null;
    this.#tail = this.#tail.then(() => this.#state.markLive()).catch(() => undefined);
  }

  /** Applies released units as one batch with the positions they reach (see the header). */
  async apply(reading: Reading, units: Unit[]): Promise<void> {
    if (this.#failure !== null) throw this.#failure;
    if (!this.holds.held && this.#stash === null) return this.#applyNow(reading, units);
    // Held: behind the units already held back (those of an earlier Reading are replayed by this one).
    if (this.#stash?.reading !== reading) this.#stash = { reading, units: [] };
    this.#stash.units.push(...units);
    await this.#drain();
  }

  async #applyNow(reading: Reading, units: Unit[]): Promise<void> {
    const layout = this.#state.layout;
    const changes: TableChange[] = [];
    const ops: BatchOp[] = [];
    const moved = new Map<string, Stored>();
    const touch = (k: string): Stored => {
      let s = moved.get(k);
      if (!s) moved.set(k, (s = { ...(reading.stored.get(k) ?? { offset: 0n, floor: 0n }) }));
      return s;
    };
    for (const unit of units) {
      for (const e of unit.events) {
        touch(tpKey(e.topic, e.partition)).offset = e.offset + 1n;
        const reason =
          e.parked ??
          (this.parked.blocks(e) ? "an earlier record of this key is parked" : this.#check.reason(e.changes));
        if (reason !== null) {
          this.#park(e, reason, ops);
          continue;
        }
        changes.push(...e.changes);
      }
      for (const [k, floor] of unit.floors) touch(k).floor = floor;
      for (const [source, end] of unit.ends)
        ops.push({ type: "put", key: layout.markerEnd(source), value: Buffer.from(end.toString()) });
      this.holds.applied(unit);
      // The marker position (also kept per partition as floors): older versions resume from it.
      for (const [source] of unit.markers) {
        const start = reading.assembler.markerStart(source);
        if (start !== null)
          ops.push({ type: "put", key: layout.markerOffset(source), value: Buffer.from(start.toString()) });
      }
    }
    for (const [k, s] of moved) {
      const [topic, partition] = reading.tps.get(k) ?? [];
      if (topic === undefined || partition === undefined) continue;
      reading.stored.set(k, s);
      ops.push({ type: "put", key: layout.offset(topic, partition), value: formatStored(s) });
    }
    countEventsRead(this.#state.plan.name, eventTopics(units));
    const done = this.#enqueue(changes, ops);
    // The reading loop goes on (decoding the next records) while this is written, unless the batch
    // waiting for the write in progress is already large.
    if ((this.#open?.changes.length ?? 0) < MAX_GROUP_CHANGES) {
      done.catch((err: unknown) => this.#failed(err));
      return;
    }
    await done;
  }

  /** A batch the reading loop did not wait for failed: the next apply() throws, and the runner restarts. */
  #failed(err: unknown): void {
    if (this.#failure !== null) return;
    this.#failure = err instanceof Error ? err : new Error(String(err));
    this.#onFailure?.(err);
  }

  /**
   * Queues a batch's changes and ops. Batches apply one after another in release order; while one is being
   * written, those released meanwhile merge into the next one (group commit: under load fewer, larger
   * LevelDB batches, and a transaction released during a write waits for that write only). Resolves once
   * the batch holding them is written and its changes announced.
   */
  #enqueue(changes: TableChange[], ops: BatchOp[]): Promise<void> {
    let group = this.#open;
    if (!group) {
      const g: Group = { changes: [], ops: [], done: Promise.resolve() };
      this.#open = group = g;
      g.done = this.#tail.then(async () => {
        if (this.#open === g) this.#open = null; // from here on it takes nothing more
        const out = await timedApply(this.#state.plan.name, g.changes.length, () =>
          this.#state.apply(g.changes, g.ops),
        );
        if (out.length > 0) for (const l of this.#listeners) l(out);
      });
      this.#tail = g.done.catch(() => undefined);
    }
    for (const c of changes) group.changes.push(c);
    for (const op of ops) group.ops.push(op);
    return group.done;
  }

  #park(e: InEvent, reason: string, ops: BatchOp[]): void {
    const rec = this.parked.park(e, reason, ops);
    this.#logger.warn(
      { view: this.#state.plan.name, topic: e.topic, partition: e.partition, offset: rec.offset, reason },
      "record parked",
    );
  }

  /**
   * Operator action on a parked key: `retry` re-decodes its records in order and applies them (they stay
   * parked if still undecodable or unusable); `skip` drops the oldest parked record first. Later records of
   * the key, parked behind it, follow.
   */
  resolveParked(
    topic: string,
    keyId: string,
    action: "retry" | "skip",
  ): Promise<{ applied: number; stillParked: number }> {
    const run = this.#resolving.then(() => this.#resolveNow(topic, keyId, action));
    this.#resolving = run.catch(() => undefined);
    return run;
  }

  async #resolveNow(
    topic: string,
    keyId: string,
    action: "retry" | "skip",
  ): Promise<{ applied: number; stillParked: number }> {
    const list = this.parked.of(topic, keyId);
    const ops: BatchOp[] = [];
    const layout = this.#state.layout;
    const resolved: ParkedRecord[] = [];
    if (action === "skip" && list.length > 0) {
      const first = list.shift() as ParkedRecord;
      ops.push({ type: "del", key: layout.parked(first.topic, first.partition, first.offset) });
      resolved.push(first);
    }
    const changes: TableChange[] = [];
    for (const rec of list) {
      const e = await decodeEvent({ ...rec }, this.tables.get(topic) as TableInfo, this.#registry);
      if (e.parked || this.#check.reason(e.changes) !== null) break;
      changes.push(...e.changes);
      ops.push({ type: "del", key: layout.parked(rec.topic, rec.partition, rec.offset) });
      resolved.push(rec);
    }
    // Records parked for this key during the awaits above stay parked (behind the ones still here).
    this.parked.remove(topic, keyId, resolved);
    await this.#enqueue(changes, ops);
    return {
      applied: resolved.length - (action === "skip" && resolved.length > 0 ? 1 : 0),
      stillParked: this.parked.of(topic, keyId).length,
    };
  }
}

function* eventTopics(units: Unit[]): Iterable<string> {
  for (const unit of units) for (const e of unit.events) yield e.topic;
}
