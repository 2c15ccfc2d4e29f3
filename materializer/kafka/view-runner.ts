// Keeps one view up to date from Kafka: reads every partition of its input topics and of their sources'
// `<source>.transactions` topics (a consumer group of its own, so every member sees joined tables in full,
// GlobalKTable style), resumes from the offsets stored in LevelDB, reassembles whole transactions
// (assembler.ts) and applies each release as one LevelDB batch with the new offsets. Kafka group offsets are
// never the source of truth. Records that cannot be applied are parked per key with the reason.
import { randomUUID } from "node:crypto";
import type { Admin, Consumer, EachBatchPayload, Kafka } from "kafkajs";
import type { Logger } from "../../lib/logger.ts";
import { isMeshError } from "../../lib/errors.ts";
import { Layout, pack, unpack } from "../engine/layout.ts";
import type { Db } from "../engine/reader.ts";
import type { BatchOp, TableChange, ViewChange, ViewState } from "../engine/view-state.ts";
import type { TableInfo } from "../sql/catalog.ts";
import { Assembler, type Unit } from "./assembler.ts";
import { decodeEvent, decodeMarker, type InEvent } from "./decode.ts";
import type { RegistryClient } from "./registry-client.ts";

export interface RunnerDeps {
  kafka: Kafka;
  registry: RegistryClient;
  logger: Logger;
  now?: () => number;
}

export interface ParkedRecord {
  topic: string;
  partition: number;
  offset: string;
  keyId: string;
  reason: string;
  key: Buffer | null;
  value: Buffer | null;
}

export interface ViewStatus {
  state: "backfilling" | "ready" | "failed" | "stopped";
  /** Fraction (0..1) of the input that existed at start which has been applied. */
  progress: number;
  rows: number;
  lagMs: number;
  parked: { topic: string; partition: number; offset: string; key: string; reason: string }[];
  error: { code: string; message: string } | null;
}

const TRANSACTIONS = ".transactions";
const sourceOf = (topic: string): string => topic.split(".")[0] ?? topic;
const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class ViewRunner {
  private readonly db: Db;
  private readonly state: ViewState;
  private readonly deps: RunnerDeps;
  private readonly now: () => number;
  private consumer: Consumer | null = null;
  private groupId = "";
  private assembler: Assembler | null = null;
  /** Next offset to read per topic partition (records below it were pushed or applied). */
  private readonly position = new Map<string, bigint>();
  private readonly start0 = new Map<string, bigint>();
  private readonly target = new Map<string, bigint>();
  private readonly tables = new Map<string, TableInfo>();
  private readonly parkedKeys = new Map<string, ParkedRecord[]>();
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
  }

  onChanges(listener: (changes: ViewChange[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(): Promise<void> {
    await this.state.load();
    await this.loadParked();
    const admin = this.deps.kafka.admin();
    await admin.connect();
    try {
      await this.plan(admin);
    } finally {
      await admin.disconnect();
    }
    this.checkReady();
    this.groupId = `mesh-view.${this.state.plan.name}.${randomUUID()}`;
    const consumer = this.deps.kafka.consumer({
      groupId: this.groupId,
      maxWaitTimeInMs: 100,
      sessionTimeout: 30_000,
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({
      topics: [...new Set([...this.start0.keys()].map((k) => k.split("\u0000")[0] as string))],
      fromBeginning: true,
    });
    await consumer.run({ autoCommit: false, eachBatch: (payload) => this.onBatch(payload) });
    for (const [k, offset] of this.start0) {
      const [topic = "", partition = "0"] = k.split("\u0000");
      consumer.seek({ topic, partition: Number(partition), offset: offset.toString() });
    }
  }

  /** Partitions, stored offsets and the end offsets that mark "caught up" for backfill. */
  private async plan(admin: Admin): Promise<void> {
    const existing = new Set(await admin.listTopics());
    const dataTopics = [...this.tables.keys()];
    const markerTopics = [...new Set(dataTopics.map((t) => `${sourceOf(t)}${TRANSACTIONS}`))].filter((t) =>
      existing.has(t),
    );
    const partitions = new Map<string, number>();
    for (const topic of [...dataTopics, ...markerTopics]) {
      const ends = await admin.fetchTopicOffsets(topic);
      if (!markerTopics.includes(topic)) partitions.set(topic, ends.length);
      for (const e of ends) {
        const k = tpKey(topic, e.partition);
        const stored = await this.db.get(
          topic.endsWith(TRANSACTIONS)
            ? this.state.layout.markerOffset(sourceOf(topic))
            : this.state.layout.offset(topic, e.partition),
        );
        const from = stored ? BigInt(stored.toString()) : BigInt(e.low);
        this.start0.set(k, from);
        this.position.set(k, from);
        this.target.set(k, BigInt(e.high));
      }
    }
    this.assembler = new Assembler({ partitions, markerSources: new Set(markerTopics.map(sourceOf)) });
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const assembler = this.assembler;
    if (!assembler || this.phase === "failed") return;
    const { topic, partition } = batch;
    const k = tpKey(topic, partition);
    try {
      for (const m of batch.messages) {
        const offset = BigInt(m.offset);
        if (offset < (this.position.get(k) ?? 0n)) continue; // already pushed or applied (re-delivery, seek race)
        const rec = { topic, partition, offset: m.offset, key: m.key, value: m.value };
        if (topic.endsWith(TRANSACTIONS)) {
          const marker = await decodeMarker(rec, sourceOf(topic), this.deps.registry);
          if (marker) assembler.pushMarker(marker);
        } else {
          assembler.pushEvent(
            await decodeEvent(rec, this.tables.get(topic) as TableInfo, this.deps.registry),
          );
        }
        this.position.set(k, offset + 1n);
      }
      const units = assembler.drain();
      if (units.length > 0) await this.apply(units);
      this.checkReady();
      await payload.heartbeat();
    } catch (err) {
      if (isMeshError(err) && err.retryable) throw err; // kafkajs retries the batch; positions dedupe it
      this.phase = "failed";
      this.error = { code: isMeshError(err) ? err.code : "MESH_INTERNAL", message: (err as Error).message };
      this.deps.logger.error({ err, view: this.state.plan.name }, "view failed");
    }
  }

  private async apply(units: Unit[]): Promise<void> {
    const layout = this.state.layout;
    const changes: TableChange[] = [];
    const ops: BatchOp[] = [];
    const offsets = new Map<string, [string, number, bigint]>();
    for (const unit of units) {
      for (const e of unit.events) {
        offsets.set(tpKey(e.topic, e.partition), [e.topic, e.partition, e.offset + 1n]);
        const blocked = this.parkedKeys.get(`${e.topic}\u0000${e.keyId}`);
        if (e.parked || (blocked && e.keyId !== "")) {
          this.park(e, e.parked ?? "an earlier record of this key is parked", ops);
          continue;
        }
        changes.push(...e.changes);
      }
      for (const [source, next] of unit.markers)
        ops.push({ type: "put", key: layout.markerOffset(source), value: Buffer.from(next.toString()) });
    }
    for (const [topic, partition, next] of offsets.values())
      ops.push({ type: "put", key: layout.offset(topic, partition), value: Buffer.from(next.toString()) });
    const run = this.applying.then(async () => {
      const out = await this.state.apply(changes, ops);
      if (out.length > 0) for (const l of this.listeners) l(out);
    });
    this.applying = run.catch(() => undefined);
    await run;
  }

  private park(e: InEvent, reason: string, ops: BatchOp[]): void {
    const rec: ParkedRecord = {
      topic: e.topic,
      partition: e.partition,
      offset: e.offset.toString(),
      keyId: e.keyId,
      reason,
      key: e.raw.key,
      value: e.raw.value,
    };
    ops.push({
      type: "put",
      key: this.state.layout.parked(e.topic, e.partition, rec.offset),
      value: pack(rec),
    });
    const id = `${e.topic}\u0000${e.keyId}`;
    const list = this.parkedKeys.get(id) ?? [];
    list.push(rec);
    this.parkedKeys.set(id, list);
    this.deps.logger.warn(
      { view: this.state.plan.name, topic: e.topic, partition: e.partition, offset: rec.offset, reason },
      "record parked",
    );
  }

  private async loadParked(): Promise<void> {
    this.parkedKeys.clear();
    for await (const value of this.db.values(Layout.range(this.state.layout.section(0x50)))) {
      const rec = unpack<ParkedRecord>(value);
      const id = `${rec.topic}\u0000${rec.keyId}`;
      const list = this.parkedKeys.get(id) ?? [];
      list.push(rec);
      this.parkedKeys.set(id, list);
    }
  }

  /**
   * Operator action on a parked key: `retry` re-decodes its records in order and applies them (they stay
   * parked if still undecodable); `skip` drops the oldest parked record first. Later records of the key,
   * parked behind it, follow.
   */
  async resolveParked(
    topic: string,
    keyId: string,
    action: "retry" | "skip",
  ): Promise<{ applied: number; stillParked: number }> {
    const id = `${topic}\u0000${keyId}`;
    const list = [...(this.parkedKeys.get(id) ?? [])].sort(
      (a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)),
    );
    const ops: BatchOp[] = [];
    const layout = this.state.layout;
    if (action === "skip" && list.length > 0) {
      const first = list.shift() as ParkedRecord;
      ops.push({ type: "del", key: layout.parked(first.topic, first.partition, first.offset) });
    }
    const changes: TableChange[] = [];
    let applied = 0;
    while (list.length > 0) {
      const rec = list[0] as ParkedRecord;
      const e = await decodeEvent({ ...rec }, this.tables.get(topic) as TableInfo, this.deps.registry);
      if (e.parked) break;
      changes.push(...e.changes);
      ops.push({ type: "del", key: layout.parked(rec.topic, rec.partition, rec.offset) });
      list.shift();
      applied++;
    }
    if (list.length === 0) this.parkedKeys.delete(id);
    else this.parkedKeys.set(id, list);
    const run = this.applying.then(async () => {
      const out = await this.state.apply(changes, ops);
      if (out.length > 0) for (const l of this.listeners) l(out);
    });
    this.applying = run.catch(() => undefined);
    await run;
    return { applied, stillParked: list.length };
  }

  private checkReady(): void {
    if (this.phase !== "backfilling") return;
    for (const [k, target] of this.target) if ((this.position.get(k) ?? 0n) < target) return;
    if ((this.assembler?.buffered ?? 0) > 0) return;
    this.phase = "ready";
    this.applying = this.applying.then(() => this.state.markLive());
    this.deps.logger.info({ view: this.state.plan.name, rows: this.state.stats.rows }, "view caught up");
  }

  status(): ViewStatus {
    let total = 0n;
    let done = 0n;
    for (const [k, target] of this.target) {
      const from = this.start0.get(k) ?? 0n;
      total += target > from ? target - from : 0n;
      const pos = this.position.get(k) ?? from;
      done += (pos < target ? pos : target) - from > 0n ? (pos < target ? pos : target) - from : 0n;
    }
    const oldest = this.assembler?.oldestBuffered();
    const parked = [...this.parkedKeys.values()].flat().map((p) => ({
      topic: p.topic,
      partition: p.partition,
      offset: p.offset,
      key: p.keyId,
      reason: p.reason,
    }));
    return {
      state: this.phase,
      progress: this.phase === "ready" || total === 0n ? 1 : Number((done * 1000n) / total) / 1000,
      rows: this.state.stats.rows,
      lagMs: oldest?.tsMs ? Math.max(0, this.now() - oldest.tsMs) : 0,
      parked,
      error: this.error,
    };
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = null;
    if (!consumer) return;
    await consumer.disconnect();
    await this.applying;
    if (this.phase !== "failed") this.phase = "stopped";
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
