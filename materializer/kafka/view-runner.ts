// Keeps one view up to date from Kafka: reads its input topics and their sources' `<source>.transactions`
// topics (a consumer group of its own, so every process sees joined tables in full, GlobalKTable style),
// resumes from the positions stored in LevelDB, reassembles whole transactions (assembler.ts) and applies
// each release as one LevelDB batch with the new positions. Kafka group offsets are never the source of
// truth. Records that cannot be applied are parked per key with the reason.
//
// Split mode (`split`): the driving topic is read by a consumer in the shared group `split.groupId`, which
// deals its partitions among the processes (group-assigner.ts); everything else is read in full as above.
// When the owned set changes, reading restarts from the stored positions with the new set (reading.ts).
import { randomUUID } from "node:crypto";
import type { Consumer, EachBatchPayload, Kafka } from "kafkajs";
import type { Logger } from "../../lib/logger.ts";
import { isMeshError } from "../../lib/errors.ts";
import type { ViewStatus } from "../contract.ts";
import { ChangeCheck } from "../engine/change-check.ts";
import type { Db } from "../engine/reader.ts";
import type { BatchOp, TableChange, ViewChange, ViewState } from "../engine/view-state.ts";
import type { TableInfo } from "../sql/catalog.ts";
import { isTransactionsTopic, sourceOfTopic } from "../../protocol/topics.ts";
import { tpKey, type Unit } from "./assembler.ts";
import { decodeEvent, decodeMarker, type InEvent } from "./decode.ts";
import { meshAssigner } from "./group-assigner.ts";
import { ParkedKeys, type ParkedRecord } from "./parked.ts";
import { formatStored, Reading, type Stored } from "./reading.ts";
import type { RegistryClient } from "../../lib/registry-client.ts";

export interface RunnerDeps {
  kafka: Kafka;
  registry: RegistryClient;
  logger: Logger;
  now?: () => number;
  /** Split mode: the shared consumer group of this view and the URL this process answers queries on. */
  split?: { groupId: string; advertisedUrl: string; sessionTimeout?: number };
}

export class ViewRunner {
  private readonly db: Db;
  private readonly state: ViewState;
  private readonly deps: RunnerDeps;
  private readonly now: () => number;
  /** The private consumer of everything but a split driving topic; replaced with each Reading. */
  private consumer: Consumer | null = null;
  private groupId = "";
  /** Split mode: the group member reading the driving topic's owned partitions. */
  private driving: Consumer | null = null;
  private reading: Reading | null = null;
  /** Restarts run one after another (a rebalance can arrive while one is in progress). */
  private restarting: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Split mode: owned driving partitions whose state has caught up (served by queries). */
  private readonly caughtUp = new Set<number>();
  private lastPartitionCount = 0;
  private readonly tables = new Map<string, TableInfo>();
  private readonly parked: ParkedKeys;
  /** Values the view cannot use (wrong type) park their key instead of failing the view's apply. */
  private readonly check: ChangeCheck;
  /** Operator actions on parked keys run one after another. */
  private resolving: Promise<unknown> = Promise.resolve();
  private phase: ViewStatus["state"] = "backfilling";
  private error: ViewStatus["error"] = null;
  private readonly listeners = new Set<(changes: ViewChange[]) => void>();
  private applying: Promise<void> = Promise.resolve();

  constructor(db: Db, state: ViewState, deps: RunnerDeps) {
    this.db = db;
    this.state = state;
    this.deps = deps;
    this.now = deps.now ?? Date.now;
    for (const r of state.plan.relations) this.tables.set(r.table.topic, r.table);
    this.parked = new ParkedKeys(state.layout);
    this.check = new ChangeCheck(state.plan);
  }

  onChanges(listener: (changes: ViewChange[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get drivingTopic(): string {
    return this.state.plan.relations[0]?.table.topic ?? "";
  }

  /** Split mode: the driving partitions this process reads now (null: not split, it reads all). */
  owned(): number[] | null {
    return this.deps.split ? [...(this.reading?.owned ?? [])] : null;
  }

  /** Partition count of the driving topic (0 before the first reading is planned). */
  drivingPartitionCount(): number {
    return this.reading?.drivingPartitions ?? this.lastPartitionCount;
  }

  /** Split mode: the owned partitions whose rows queries may return (null: not split, all rows). */
  served(): Set<number> | null {
    return this.deps.split ? new Set(this.caughtUp) : null;
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.state.load();
    await this.parked.load(this.db);
    const split = this.deps.split;
    if (!split) {
      await this.restart(null);
      return;
    }
    const driving = this.deps.kafka.consumer({
      groupId: split.groupId,
      maxWaitTimeInMs: 100,
      sessionTimeout: split.sessionTimeout ?? 30_000,
      partitionAssigners: [meshAssigner(split.advertisedUrl)],
    });
    this.driving = driving;
    // Each (re)join: restart reading with the partitions the group assigned us.
    driving.on(driving.events.GROUP_JOIN, (e) => {
      const topic = this.drivingTopic;
      const owned = [...(e.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
      const current = this.reading;
      if (current?.owned?.join(",") === owned.join(",")) {
        // Same partitions: the rejoined consumer would start over from the group's (absent) offsets.
        for (const p of owned)
          driving.seek({ topic, partition: p, offset: String(current.position.get(tpKey(topic, p)) ?? 0n) });
        return;
      }
      this.reading = null; // nothing more goes into the old reading's assembler
      this.restarting = this.restarting.then(() => this.restartRetrying(owned));
    });
    await driving.connect();
    await driving.subscribe({ topics: [this.drivingTopic], fromBeginning: true });
    await driving.run({ autoCommit: false, eachBatch: (payload) => this.onBatch(payload) });
  }

  /** Stops the current reading (keeping what was applied) and starts one over `owned` driving partitions. */
  private async restart(owned: number[] | null): Promise<void> {
    this.reading = null;
    await this.stopGlobal();
    await this.applying;
    for (const p of this.caughtUp) if (!owned?.includes(p)) this.caughtUp.delete(p);
    const admin = this.deps.kafka.admin();
    await admin.connect();
    let reading: Reading;
    try {
      reading = await Reading.plan(admin, this.db, this.state.layout, this.inputTopics(), owned);
    } finally {
      await admin.disconnect();
    }
    if (this.stopped) return;
    this.groupId = `mesh-view.${this.state.plan.name}.${randomUUID()}`;
    const consumer = this.deps.kafka.consumer({
      groupId: this.groupId,
      maxWaitTimeInMs: 100,
      sessionTimeout: 30_000,
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: reading.globalTopics(), fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatch: (payload) => this.onBatch(payload) });
    for (const [k, [topic, partition]] of reading.tps) {
      const offset = (reading.position.get(k) ?? 0n).toString();
      // The driving consumer (split mode) was assigned these partitions; our positions, not its, count.
      const target = owned !== null && topic === this.drivingTopic ? this.driving : consumer;
      target?.seek({ topic, partition, offset });
    }
    this.reading = reading;
    this.lastPartitionCount = reading.drivingPartitions;
    this.checkReady(reading);
    if (owned !== null)
      this.deps.logger.info({ view: this.state.plan.name, owned }, "view partitions assigned");
  }

  /**
   * A rebalance's restart: Kafka calls may fail while the cluster moves partitions around, so retry with
   * backoff before failing the view (a later rebalance supersedes this one: the next restart is queued).
   */
  private async restartRetrying(owned: number[]): Promise<void> {
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        await this.restart(owned);
        return;
      } catch (err) {
        if (attempt >= 10) return this.fail(err);
        this.deps.logger.warn({ err, view: this.state.plan.name, attempt }, "restart after rebalance failed");
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  }

  /** Driving topic first (reading.ts relies on it). */
  private inputTopics(): string[] {
    return [this.drivingTopic, ...[...this.tables.keys()].filter((t) => t !== this.drivingTopic)];
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    let reading = this.reading;
    if (!reading && this.driving && batch.topic === this.drivingTopic) {
      // A rebalance is being handled: wait for the new reading, whose seeks make a batch fetched before
      // them stale (dropping a batch that is not stale would leave a gap: the consumer moved past it).
      await this.restarting;
      reading = this.reading;
      if (payload.isStale()) return;
    }
    if (!reading || this.phase === "failed") return;
    const assembler = reading.assembler;
    const { topic, partition } = batch;
    const k = tpKey(topic, partition);
    if (!reading.tps.has(k)) return; // a partition of an earlier assignment
    try {
      for (const m of batch.messages) {
        const offset = BigInt(m.offset);
        if (offset < (reading.position.get(k) ?? 0n)) continue; // already pushed or applied (re-delivery, seek race)
        const rec = { topic, partition, offset: m.offset, key: m.key, value: m.value, headers: m.headers };
        if (isTransactionsTopic(topic)) {
          const marker = await decodeMarker(rec, sourceOfTopic(topic), this.deps.registry);
          if (this.reading !== reading) return; // reading restarted meanwhile: this one is discarded
          if (marker) assembler.pushMarker(marker);
        } else {
          const e = await decodeEvent(rec, this.tables.get(topic) as TableInfo, this.deps.registry);
          if (this.reading !== reading) return;
          assembler.pushEvent(e);
        }
        reading.position.set(k, offset + 1n);
      }
      const units = assembler.drain();
      if (units.length > 0) await this.apply(reading, units);
      this.checkReady(reading);
    } catch (err) {
      if (isMeshError(err) && err.retryable) throw err; // kafkajs retries the batch; positions dedupe it
      this.fail(err);
      return;
    }
    // Outside the try: a group rebalancing (split mode) is kafkajs' to handle (it rejoins), not a failure.
    await payload.heartbeat();
  }

  private fail(err: unknown): void {
    this.phase = "failed";
    this.error = { code: isMeshError(err) ? err.code : "MESH_INTERNAL", message: (err as Error).message };
    this.deps.logger.error({ err, view: this.state.plan.name }, "view failed");
  }

  private async apply(reading: Reading, units: Unit[]): Promise<void> {
    const layout = this.state.layout;
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
          (this.parked.blocks(e) ? "an earlier record of this key is parked" : this.check.reason(e.changes));
        if (reason !== null) {
          this.park(e, reason, ops);
          continue;
        }
        changes.push(...e.changes);
      }
      for (const [k, floor] of unit.floors) touch(k).floor = floor;
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
    await this.enqueueApply(changes, ops);
  }

  /** Batches apply one after another, in the order they were released. */
  private async enqueueApply(changes: TableChange[], ops: BatchOp[]): Promise<void> {
    const run = this.applying.then(async () => {
      const out = await this.state.apply(changes, ops);
      if (out.length > 0) for (const l of this.listeners) l(out);
    });
    this.applying = run.catch(() => undefined);
    await run;
  }

  private park(e: InEvent, reason: string, ops: BatchOp[]): void {
    const rec = this.parked.park(e, reason, ops);
    this.deps.logger.warn(
      { view: this.state.plan.name, topic: e.topic, partition: e.partition, offset: rec.offset, reason },
      "record parked",
    );
  }

  /**
   * Operator action on a parked key: `retry` re-decodes its records in order and applies them (they stay
   * parked if still undecodable or unusable); `skip` drops the oldest parked record first. Later records of
   * the key, parked behind it, follow.
   */
  async resolveParked(
    topic: string,
    keyId: string,
    action: "retry" | "skip",
  ): Promise<{ applied: number; stillParked: number }> {
    const run = this.resolving.then(() => this.resolveNow(topic, keyId, action));
    this.resolving = run.catch(() => undefined);
    return run;
  }

  private async resolveNow(
    topic: string,
    keyId: string,
    action: "retry" | "skip",
  ): Promise<{ applied: number; stillParked: number }> {
    const list = this.parked.of(topic, keyId);
    const ops: BatchOp[] = [];
    const layout = this.state.layout;
    const resolved: ParkedRecord[] = [];
    if (action === "skip" && list.length > 0) {
      const first = list.shift() as ParkedRecord;
      ops.push({ type: "del", key: layout.parked(first.topic, first.partition, first.offset) });
      resolved.push(first);
    }
    const changes: TableChange[] = [];
    for (const rec of list) {
      const e = await decodeEvent({ ...rec }, this.tables.get(topic) as TableInfo, this.deps.registry);
      if (e.parked || this.check.reason(e.changes) !== null) break;
      changes.push(...e.changes);
      ops.push({ type: "del", key: layout.parked(rec.topic, rec.partition, rec.offset) });
      resolved.push(rec);
    }
    // Records parked for this key during the awaits above stay parked (behind the ones still here).
    this.parked.remove(topic, keyId, resolved);
    await this.enqueueApply(changes, ops);
    return {
      applied: resolved.length - (action === "skip" && resolved.length > 0 ? 1 : 0),
      stillParked: this.parked.of(topic, keyId).length,
    };
  }

  private checkReady(reading: Reading): void {
    if (this.reading !== reading) return;
    for (const p of reading.owned ?? [])
      if (!this.caughtUp.has(p) && reading.partitionCaughtUp(p)) this.caughtUp.add(p);
    if (this.phase !== "backfilling") return;
    for (const k of reading.tps.keys()) if (!reading.reached(k)) return;
    if (reading.assembler.buffered > 0) return;
    this.phase = "ready";
    this.applying = this.applying.then(() => this.state.markLive());
    this.deps.logger.info({ view: this.state.plan.name, rows: this.state.stats.rows }, "view caught up");
  }

  /** Cheap readiness for every query (status() walks every partition and the parked list). */
  isReady(): boolean {
    return this.phase === "ready";
  }

  status(): ViewStatus {
    let total = 0n;
    let done = 0n;
    const r = this.reading;
    for (const [k, target] of r?.target ?? []) {
      const from = r?.start0.get(k) ?? 0n;
      total += target > from ? target - from : 0n;
      const pos = r?.position.get(k) ?? from;
      done += (pos < target ? pos : target) - from > 0n ? (pos < target ? pos : target) - from : 0n;
    }
    const oldest = r?.assembler.oldestBuffered();
    const parked = this.parked.all().map((p) => ({
      topic: p.topic,
      partition: p.partition,
      offset: p.offset,
      key: p.keyId,
      reason: p.reason,
    }));
    return {
      state: this.phase,
      progress:
        this.phase === "ready" || (r && total === 0n)
          ? 1
          : total === 0n
            ? 0
            : Number((done * 1000n) / total) / 1000,
      rows: this.state.stats.rows,
      lagMs: oldest?.tsMs ? Math.max(0, this.now() - oldest.tsMs) : 0,
      parked,
      error: this.error,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const driving = this.driving;
    this.driving = null;
    // Leaving the group first hands our partitions to the other members at once.
    await driving?.disconnect();
    await this.restarting;
    this.reading = null;
    const had = this.consumer !== null;
    await this.stopGlobal();
    await this.applying;
    if (had && this.phase !== "failed") this.phase = "stopped";
  }

  private async stopGlobal(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = null;
    if (!consumer) return;
    await consumer.disconnect();
    const admin = this.deps.kafka.admin();
    try {
      await admin.connect();
      await admin.deleteGroups([this.groupId]);
    } catch {
      // The group has no committed offsets; Kafka expires it anyway.
    } finally {
      await admin.disconnect();
    }
  }
}
