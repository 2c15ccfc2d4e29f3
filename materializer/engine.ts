// The ViewEngine (materializer/contract.ts): view definitions persisted in LevelDB (section "c"), one
// ViewRunner per view, queries over the view's state. One LevelDB for all views of this process.
import { once } from "node:events";
import { EventEmitter } from "node:events";
import type { Kafka } from "kafkajs";
import { MeshError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import type { RowPage, RowQuery, ViewChangeEvent, ViewEngine, ViewInfo, ViewRow } from "./contract.ts";
import { Layout } from "./engine/layout.ts";
import type { Db } from "./engine/reader.ts";
import { ViewState, type BatchOp } from "./engine/view-state.ts";
import { encodeKey } from "./keys/encoding.ts";
import type { RegistryClient } from "../lib/registry-client.ts";
import { registryTables } from "./sql/registry-tables.ts";
import { ViewRunner } from "./kafka/view-runner.ts";
import { describeMembers, type GroupMember } from "./kafka/group-assigner.ts";
import { drivingPartitions, servedFilter } from "./query/partitions.ts";
import { getRow, queryRows, type PositionedPage } from "./query/rows.ts";
import { compileStatements } from "./sql/compile.ts";
import type { ViewPlan } from "./sql/plan.ts";

export interface EngineOptions {
  /** An open classic-level database with buffer keys and values; the engine owns its "c" and "v" sections. */
  db: Db;
  kafka: Kafka;
  registry: RegistryClient;
  logger: Logger;
  now?: () => number;
  /** Change-feed entries kept per view (older ones are trimmed). Default 100 000. */
  changeRetention?: number;
  /**
   * Split mode (docs/views.md "Split views"): every view's driving topic is shared among the processes of
   * group `name` (consumer group `_mesh_materialize.<name>.<view>`); each answers queries for its partitions
   * at `advertisedUrl`. Without it every process holds every row.
   */
  group?: { name: string; advertisedUrl: string; sessionTimeout?: number };
}

/** The split-mode facts of a view: its consumer group and driving topic. */
export interface SplitInfo {
  groupId: string;
  topic: string;
  partitions: number;
}

interface Running {
  plan: ViewPlan;
  state: ViewState;
  runner: ViewRunner;
  feed: EventEmitter;
  /** getView's answer (info()), built on first use. */
  info?: ViewInfo;
}

const CATALOG = Buffer.from("c");

export class MaterializerEngine implements ViewEngine {
  private readonly options: EngineOptions;
  private readonly views = new Map<string, Running>();
  private readonly memberCache = new Map<string, { at: number; members: GroupMember[] }>();

  constructor(options: EngineOptions) {
    this.options = options;
  }

  private catalogKey(name: string): Buffer {
    return Buffer.concat([CATALOG, encodeKey([name])]);
  }

  async start(): Promise<void> {
    for await (const value of this.options.db.values(Layout.range(CATALOG))) {
      const plan = JSON.parse(value.toString()) as ViewPlan;
      await this.run(plan);
    }
  }

  async stop(): Promise<void> {
    for (const v of this.views.values()) await v.runner.stop();
    this.views.clear();
  }

  private async run(plan: ViewPlan): Promise<Running> {
    const state = new ViewState(this.options.db, plan);
    if (this.options.now) state.format.clock = this.options.now;
    const group = splittable(plan) ? this.options.group : undefined;
    const runner = new ViewRunner(this.options.db, state, {
      kafka: this.options.kafka,
      registry: this.options.registry,
      logger: this.options.logger,
      ...(this.options.now ? { now: this.options.now } : {}),
      ...(group
        ? {
            split: {
              groupId: splitGroupId(group.name, plan.name),
              advertisedUrl: group.advertisedUrl,
              ...(group.sessionTimeout ? { sessionTimeout: group.sessionTimeout } : {}),
            },
          }
        : {}),
    });
    const feed = new EventEmitter();
    feed.setMaxListeners(0);
    const retention = this.options.changeRetention ?? 100_000;
    runner.onChanges((changes) => {
      feed.emit("changes");
      const last = changes[changes.length - 1]?.seq ?? 0;
      // Trim the feed now and then (not in the apply batch: losing a trim to a crash is harmless).
      if (last > retention && last % 1000 < changes.length) {
        void this.options.db.clear({
          gte: state.layout.change(0),
          lt: state.layout.change(last - retention),
        });
      }
    });
    const running = { plan, state, runner, feed };
    this.views.set(plan.name, running);
    await runner.start();
    return running;
  }

  private view(name: string): Running {
    const v = this.views.get(name);
    if (!v)
      throw new MeshError("MESH_NOT_FOUND", `no view named ${name}; list views to see what exists`, {
        view: name,
      });
    return v;
  }

  async createView(sql: string): Promise<ViewInfo> {
    const { view, indexes } = compileStatements(sql, { tables: await registryTables(this.options.registry) });
    if (view) {
      if (this.views.has(view.name))
        throw new MeshError(
          "MESH_CONFLICT",
          `a view named ${view.name} exists; drop it first or choose another name`,
          { view: view.name },
        );
      await this.options.db.put(this.catalogKey(view.name), Buffer.from(JSON.stringify(view)));
      try {
        await this.run(view);
      } catch (err) {
        // A view that cannot start (e.g. Kafka unreachable) is not left half-created.
        await this.views
          .get(view.name)
          ?.runner.stop()
          .catch(() => undefined);
        this.views.delete(view.name);
        await this.options.db.del(this.catalogKey(view.name));
        await this.options.db.clear(Layout.range(new ViewState(this.options.db, view).layout.prefix));
        throw err;
      }
      return this.getView(view.name);
    }
    let name = "";
    for (const ix of indexes) {
      name = ix.view;
      await this.addIndex(ix.view, ix.columns);
    }
    return this.getView(name);
  }

  /** Builds a new index over the existing rows with the runner stopped, then resumes it. */
  private async addIndex(name: string, columns: string[]): Promise<void> {
    const v = this.view(name);
    for (const c of columns) {
      if (!v.plan.columns.some((o) => o.name === c))
        throw new MeshError("MESH_BAD_SQL", `view ${name} has no column ${c} to index`, {
          construct: "index column",
          column: c,
        });
    }
    if (v.plan.indexes.some((ix) => ix.join("\u0000") === columns.join("\u0000"))) return;
    // The view stays queryable (its runner paused) while the index is built; a failed build restores it.
    await v.runner.stop();
    const plan: ViewPlan = { ...v.plan, indexes: [...v.plan.indexes, columns] };
    const state = new ViewState(this.options.db, plan);
    if (this.options.now) state.format.clock = this.options.now;
    const index = plan.indexes.length - 1;
    // Entries left by a build that crashed or failed would otherwise pollute this index number.
    const indexRange = Layout.range(state.layout.viewIndex(index, Buffer.alloc(0)));
    try {
      await this.options.db.clear(indexRange);
      await this.buildIndex(state, index, columns);
    } catch (err) {
      await this.options.db.clear(indexRange);
      await this.run(v.plan);
      throw err;
    }
    await this.run(plan);
  }

  /** Writes index `index` over every stored row, then the plan that declares it, in the last batch. */
  private async buildIndex(state: ViewState, index: number, columns: string[]): Promise<void> {
    const plan = state.plan;
    const kinds = columns.map((c) => state.columnKind(c));
    const base = state.layout.viewRow(Buffer.alloc(0)).length;
    let ops: BatchOp[] = [];
    for await (const [key, value] of this.options.db.iterator(
      Layout.range(state.layout.viewRow(Buffer.alloc(0))),
    )) {
      const { v: row } = state.format.unpackView(value);
      const viewKey = Buffer.from(key.subarray(base));
      ops.push({
        type: "put",
        key: state.layout.viewIndex(
          index,
          encodeKey(
            columns.map((c) => row[c] ?? null),
            kinds,
          ),
          viewKey,
        ),
        value: viewKey,
      });
      if (ops.length >= 10_000) {
        await this.options.db.batch(ops);
        ops = [];
      }
    }
    ops.push({ type: "put", key: this.catalogKey(plan.name), value: Buffer.from(JSON.stringify(plan)) });
    await this.options.db.batch(ops);
  }

  async dropView(name: string): Promise<void> {
    const v = this.view(name);
    await v.runner.stop();
    this.views.delete(name);
    await this.options.db.del(this.catalogKey(name));
    await this.options.db.clear(Layout.range(v.state.layout.prefix));
  }

  /**
   * Built once per running view: queries look the view up on every request (column types, value checks),
   * and its status walks every partition and the parked list, so `status` is computed only when read.
   */
  private info(v: Running): ViewInfo {
    if (v.info) return v.info;
    const runner = v.runner;
    v.info = {
      name: v.plan.name,
      sql: v.plan.sql,
      key: v.plan.key.map((k) => k.name),
      keyColumns: v.plan.key.map((k) => ({ name: k.name, type: k.type })),
      columns: v.plan.columns.map((c) => ({ name: c.name, type: c.type })),
      indexes: v.plan.indexes,
      topics: v.state.topics(),
      get status() {
        return runner.status();
      },
    };
    return v.info;
  }

  listViews(): ViewInfo[] {
    return [...this.views.values()].map((v) => this.info(v));
  }

  getView(name: string): ViewInfo {
    return this.info(this.view(name));
  }

  private ready(v: Running, stale: boolean | undefined): boolean {
    if (v.runner.isReady()) return true;
    if (stale) return false;
    const s = v.runner.status();
    throw new MeshError(
      "MESH_VIEW_NOT_READY",
      `view ${v.plan.name} is ${s.state} (${Math.round(s.progress * 100)}% done); retry, or read it stale`,
      {
        view: v.plan.name,
        state: s.state,
        progress: s.progress,
      },
    );
  }

  /** In split mode, only rows of the partitions this process owns and has caught up with are answered. */
  async getRow(name: string, key: unknown[], options: { stale?: boolean } = {}): Promise<ViewRow | null> {
    const v = this.view(name);
    this.ready(v, options.stale);
    return getRow(this.options.db, v.state, key, servedFilter(this.options.db, v.state, v.runner.served()));
  }

  async queryRows(name: string, query: RowQuery = {}): Promise<RowPage> {
    const { rows, next, stale } = await this.queryRowsPositioned(name, query);
    return { rows, next, stale };
  }

  /** queryRows with each row's sort position (what a coordinator merges members' pages by). */
  async queryRowsPositioned(
    name: string,
    query: RowQuery = {},
  ): Promise<PositionedPage & { stale: boolean }> {
    const v = this.view(name);
    const ready = this.ready(v, query.stale);
    const served = v.runner.served();
    const page = await queryRows(
      this.options.db,
      v.state,
      query,
      undefined,
      servedFilter(this.options.db, v.state, served),
    );
    // A split view is stale too while an owned partition has not caught up (it is left out until then).
    const partial = served !== null && (v.runner.owned() ?? []).some((p) => !served.has(p));
    return { ...page, stale: !ready || partial };
  }

  /** Split mode: the view's group and driving topic (null when this engine is not split). */
  split(name: string): SplitInfo | null {
    const v = this.view(name);
    const group = this.options.group;
    if (!group || !splittable(v.plan)) return null;
    return {
      groupId: splitGroupId(group.name, name),
      topic: v.runner.drivingTopic,
      partitions: v.runner.drivingPartitionCount(),
    };
  }

  /** Split mode: the driving partitions this process owns, and those of them it serves (caught up). */
  ownership(name: string): { owned: number[]; served: number[] } | null {
    const runner = this.view(name).runner;
    const served = runner.served();
    if (!served) return null;
    return { owned: runner.owned() ?? [], served: [...served].sort((a, b) => a - b) };
  }

  /**
   * Split mode: the members of the view's group, where they answer and which partitions they own. Cached for
   * a second (every forwarded query asks): a stale answer is caught by the members' own answers, which say
   * which partitions they covered (split-query.ts).
   */
  async members(name: string): Promise<GroupMember[]> {
    const info = this.split(name);
    if (!info) return [];
    const now = Date.now();
    const cached = this.memberCache.get(name);
    if (cached && now - cached.at < 1000) return cached.members;
    const admin = this.options.kafka.admin();
    await admin.connect();
    try {
      const members = await describeMembers(admin, info.groupId, info.topic);
      this.memberCache.set(name, { at: now, members });
      return members;
    } finally {
      await admin.disconnect();
    }
  }

  /** `from` is the last change already seen (0: everything retained; -1: only changes from now on). */
  async *changes(name: string, from: number, signal?: AbortSignal): AsyncIterable<ViewChangeEvent> {
    const v = this.view(name);
    let after = from < 0 ? await this.headSeq(v) : from;
    while (!signal?.aborted) {
      // Register before reading so a batch applied between the read and the wait is not missed.
      const next = once(v.feed, "changes", signal ? { signal } : {}).catch(() => undefined);
      let got = false;
      for await (const value of this.options.db.values({
        gt: v.state.layout.change(after),
        lt: Layout.range(v.state.layout.section(0x43)).lt,
      })) {
        const c: ViewChangeEvent = v.state.format.unpackChange(value);
        after = c.seq;
        got = true;
        if (!(await this.ownsChange(v, c))) continue;
        yield c;
        if (signal?.aborted) return;
      }
      if (!got) await next;
    }
  }

  /**
   * Split join views: joined-table changes keep updating rows of partitions this process no longer owns;
   * their feed entries are left out. A row's driving partition is that of its driving input row (a key's
   * partition never changes); when that row is gone the change was a driving-table delete, which only an
   * owner reads. Single-table views only change through their own (owned) partitions.
   */
  private async ownsChange(v: Running, c: ViewChangeEvent): Promise<boolean> {
    const owned = v.runner.owned();
    if (owned === null || v.state.replica) return true;
    const [p = -1] = await drivingPartitions(this.options.db, v.state, [{ k: c.key, v: {}, p: 0 }]);
    return p === -1 || owned.includes(p);
  }

  /**
   * Where a stream starting at `time` (ms) begins: `after` is the change before the first one applied at or
   * after it (a binary search over seq: apply times never go down within a view). `trimmed` is set when
   * the time is older than the oldest change kept and older changes were trimmed: the stream then starts at
   * the oldest kept one and may miss changes applied between `time` and it.
   */
  async changeStart(
    name: string,
    time: number,
  ): Promise<{ after: number; trimmed: { oldest: number; oldestAt: number | null } | null }> {
    const v = this.view(name);
    const head = await this.headSeq(v);
    const oldest = await this.entryFrom(v, 0);
    if (!oldest) return { after: head, trimmed: null };
    if ((oldest.at ?? 0) >= time) {
      const trimmed = oldest.seq > 1 ? { oldest: oldest.seq, oldestAt: oldest.at ?? null } : null;
      return { after: oldest.seq - 1, trimmed };
    }
    // Invariant: the entry at lo was applied before `time`; the first at or after it is in (lo, hi].
    let lo = oldest.seq;
    let hi = head + 1;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      const e = await this.entryFrom(v, mid);
      if (!e || e.seq >= hi) hi = mid;
      else if ((e.at ?? 0) < time) lo = e.seq;
      else hi = e.seq;
    }
    return { after: hi - 1, trimmed: null };
  }

  /** The first retained feed entry at or after `seq` (entries are contiguous unless a trim is running). */
  private async entryFrom(v: Running, seq: number): Promise<{ seq: number; at?: number } | null> {
    for await (const value of this.options.db.values({
      gte: v.state.layout.change(seq),
      lt: Layout.range(v.state.layout.section(0x43)).lt,
      limit: 1,
    })) {
      const c = v.state.format.unpackChange(value);
      return c.at === undefined ? { seq: c.seq } : { seq: c.seq, at: c.at };
    }
    return null;
  }

  /** The sequence number of the newest retained change (0 when the feed is empty). */
  private async headSeq(v: Running): Promise<number> {
    for await (const value of this.options.db.values({
      gt: v.state.layout.change(0),
      lt: Layout.range(v.state.layout.section(0x43)).lt,
      reverse: true,
      limit: 1,
    })) {
      return v.state.format.unpackChange(value).seq;
    }
    return 0;
  }

  async resolveParked(
    name: string,
    topic: string,
    key: string,
    action: "retry" | "skip",
  ): Promise<{ applied: number; stillParked: number }> {
    return this.view(name).runner.resolveParked(topic, key, action);
  }
}

export const splitGroupId = (group: string, view: string): string => `_mesh_materialize.${group}.${view}`;

/**
 * A view joining its driving table to itself needs every partition of it as a joined table, so it is not
 * split: every member holds all of it (and answers every query locally).
 */
function splittable(plan: ViewPlan): boolean {
  const driving = plan.relations[0]?.table.topic;
  return !plan.relations.slice(1).some((r) => r.table.topic === driving);
}
