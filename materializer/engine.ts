// The ViewEngine (materializer/contract.ts): view definitions persisted in LevelDB (section "c"), one
// ViewRunner per view, queries over the view's state. One LevelDB for all views of this process. The change
// feed's reading is engine/change-feed.ts's, index builds engine/index-build.ts's.
import { EventEmitter } from "node:events";
import { MeshError } from "../lib/errors.ts";
import type { KafkaClient } from "../lib/kafka/index.ts";
import type { Logger } from "../lib/logger.ts";
import type {
  CreateViewOptions,
  RowPage,
  RowQuery,
  RowsHold,
  ViewChangeEvent,
  ViewEngine,
  ViewInfo,
  ViewMember,
  ViewRow,
} from "./contract.ts";
import { changeStart, readChanges, trimFeed } from "./engine/change-feed.ts";
import { buildIndex } from "./engine/index-build.ts";
import { Layout } from "./engine/layout.ts";
import type { Db } from "./engine/reader.ts";
import { ViewState } from "./engine/view-state.ts";
import { encodeKey } from "./keys/encoding.ts";
import type { RegistryClient } from "../lib/registry-client.ts";
import { registryTables } from "./sql/registry-tables.ts";
import { ViewRunner } from "./kafka/view-runner.ts";
import { parsePosition, positionJson } from "./kafka/apply-holds.ts";
import { describeMembers } from "./kafka/group-assigner.ts";
import { drivingPartitions, servedFilter } from "./query/partitions.ts";
import { getRow, queryRows, type PositionedPage } from "./query/rows.ts";
import { compileStatements } from "./sql/compile.ts";
import {
  declaredTables,
  isWaitingRecord,
  PendingViews,
  waitingFor,
  type WaitingRecord,
} from "./pending-views.ts";
import type { TableInfo } from "./sql/catalog.ts";
import type { ViewPlan } from "./sql/plan.ts";
import { trackViews } from "./metrics.ts";

export interface EngineOptions {
  /** An open classic-level database with buffer keys and values; the engine owns its "c" and "v" sections. */
  db: Db;
  kafka: KafkaClient;
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
  private readonly memberCache = new Map<string, { at: number; members: ViewMember[] }>();
  /** Views declared before their tables' schemas were registered (pending-views.ts). */
  private readonly pending: PendingViews;

  constructor(options: EngineOptions) {
    this.options = options;
    this.pending = new PendingViews({
      tables: () => registryTables(options.registry),
      promote: (record, tables) => this.promote(record, tables),
      logger: options.logger,
    });
  }

  private catalogKey(name: string): Buffer {
    return Buffer.concat([CATALOG, encodeKey([name])]);
  }

  /** Stops publishing the views' status to the metrics (materializer/metrics.ts). */
  private untrack: (() => void) | null = null;

  async start(): Promise<void> {
    this.untrack ??= trackViews(this);
    for await (const value of this.options.db.values(Layout.range(CATALOG))) {
      const stored = JSON.parse(value.toString()) as ViewPlan | WaitingRecord;
      if (!isWaitingRecord(stored)) await this.run(stored);
      else this.pending.add(stored, waitingFor(stored.sql, [], stored.waiting.expected));
    }
    if (this.pending.names().length > 0) void this.pending.check();
  }

  async stop(): Promise<void> {
    this.untrack?.();
    this.untrack = null;
    await this.pending.stop();
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
      trimFeed(this.options.db, state, changes, retention);
    });
    const running = { plan, state, runner, feed };
    this.views.set(plan.name, running);
    await runner.start();
    return running;
  }

  private view(name: string): Running {
    const v = this.views.get(name);
    if (!v && this.pending.has(name)) {
      const s = this.getView(name).status;
      throw new MeshError(
        "MESH_VIEW_NOT_READY",
        s.error
          ? `view ${name} failed: ${s.error.message}`
          : `view ${name} is waiting for the schemas of ${s.waitingFor?.schemas.join(", ")} (registered when its source's snapshot starts); retry`,
        { view: name, state: s.state },
      );
    }
    if (!v)
      throw new MeshError("MESH_NOT_FOUND", `no view named ${name}; list views to see what exists`, {
        view: name,
      });
    return v;
  }

  async createView(sql: string, options: CreateViewOptions = {}): Promise<ViewInfo> {
    const tables = await registryTables(this.options.registry);
    const names = new Set([...this.views.keys(), ...this.pending.names()]);
    const missing = options.expected ? waitingFor(sql, tables, options.expected, names) : [];
    if (missing.length > 0) {
      const name = declaredTables(sql).view as string;
      this.checkFree(name);
      const record: WaitingRecord = { name, sql, waiting: { expected: [...(options.expected ?? [])] } };
      await this.options.db.put(this.catalogKey(name), Buffer.from(JSON.stringify(record)));
      this.pending.add(record, missing);
      return this.getView(name);
    }
    const { view, indexes } = compileStatements(sql, { tables, views: this.plans() });
    if (view) {
      this.checkFree(view.name);
      await this.install(view);
      return this.getView(view.name);
    }
    let name = "";
    for (const ix of indexes) {
      name = ix.view;
      await this.addIndex(ix.view, ix.columns);
    }
    return this.getView(name);
  }

  /** The plans of the running views: what a new view may read in FROM. */
  private plans(): ViewPlan[] {
    return [...this.views.values()].map((v) => v.plan);
  }

  private checkFree(name: string): void {
    if (this.views.has(name) || this.pending.has(name))
      throw new MeshError(
        "MESH_CONFLICT",
        `a view named ${name} exists; drop it first or choose another name`,
        {
          view: name,
        },
      );
  }

  /** Persists a compiled view and starts it; a view that cannot start (e.g. Kafka unreachable) is undone. */
  private async install(view: ViewPlan): Promise<void> {
    await this.options.db.put(this.catalogKey(view.name), Buffer.from(JSON.stringify(view)));
    try {
      await this.run(view);
    } catch (err) {
      await this.views
        .get(view.name)
        ?.runner.stop()
        .catch(() => undefined);
      this.views.delete(view.name);
      await this.options.db.del(this.catalogKey(view.name));
      await this.options.db.clear(Layout.range(new ViewState(this.options.db, view).layout.prefix));
      throw err;
    }
  }

  /** A waiting view whose tables are all registered now: compiled (its record replaced) and started. */
  private async promote(record: WaitingRecord, tables: TableInfo[]): Promise<void> {
    const { view } = compileStatements(record.sql, { tables, views: this.plans() });
    if (!view) throw new MeshError("MESH_BAD_SQL", `view ${record.name}: its SQL creates no view`);
    await this.install(view);
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
      await buildIndex(this.options.db, state, index, columns, {
        key: this.catalogKey(plan.name),
        value: Buffer.from(JSON.stringify(plan)),
      });
    } catch (err) {
      await this.options.db.clear(indexRange);
      await this.run(v.plan);
      throw err;
    }
    await this.run(plan);
  }

  async dropView(name: string): Promise<void> {
    if (this.pending.has(name)) {
      await this.pending.remove(name); // a promotion in progress finishes first: then drop what it started
      if (!this.views.has(name)) return this.options.db.del(this.catalogKey(name));
    }
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
    const waiting = this.pending.names().map((n) => this.pending.info(n) as ViewInfo);
    return [...[...this.views.values()].map((v) => this.info(v)), ...waiting];
  }

  getView(name: string): ViewInfo {
    const v = this.views.get(name);
    return v ? this.info(v) : (this.pending.info(name) ?? this.info(this.view(name)));
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

  /**
   * A consistent page's part on this member (split-query.ts): holds the view at its position (or moves it up
   * to exactly `hold.at` first), then reads the page; `position` says which transactions it shows.
   */
  async heldRows(
    name: string,
    query: RowQuery,
    hold: RowsHold,
  ): Promise<PositionedPage & { stale: boolean; position: Record<string, string> }> {
    const v = this.view(name);
    this.ready(v, query.stale);
    const at = hold.at ? parsePosition(hold.at) : null;
    const position = await v.runner.hold(hold.id, at, HOLD_TIMES);
    return { ...(await this.queryRowsPositioned(name, query)), position: positionJson(position) };
  }

  releaseHold(name: string, id: string): void {
    this.views.get(name)?.runner.releaseHold(id);
  }

  /** Split mode: the view's group and driving topic (null when this engine is not split). */
  split(name: string): SplitInfo | null {
    if (this.pending.has(name)) return null;
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
    if (this.pending.has(name)) return null;
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
  async members(name: string): Promise<ViewMember[]> {
    const info = this.split(name);
    if (!info) return [];
    const now = Date.now();
    const cached = this.memberCache.get(name);
    if (cached && now - cached.at < 1000) return cached.members;
    const members = await describeMembers(this.options.kafka.admin(), info.groupId, info.topic);
    this.memberCache.set(name, { at: now, members });
    return members;
  }

  /** `from` is the last change already seen (0: everything retained; -1: only changes from now on). */
  async *changes(name: string, from: number, signal?: AbortSignal): AsyncIterable<ViewChangeEvent> {
    const v = this.view(name);
    yield* readChanges(this.options.db, v.state, v.feed, from, (c) => this.ownsChange(v, c), signal);
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

  /** Where a stream of the view's changes from `time` (ms) starts (engine/change-feed.ts). */
  async changeStart(
    name: string,
    time: number,
  ): Promise<{ after: number; trimmed: { oldest: number; oldestAt: number | null } | null }> {
    return changeStart(this.options.db, this.view(name).state, time);
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

/**
 * A consistent page's hold: released by the asker at once, else it expires (an asker that died); a member
 * behind the others gets this long to catch up with them.
 */
const HOLD_TIMES = { ttlMs: 5_000, timeoutMs: 3_000 };

export const splitGroupId = (group: string, view: string): string => `_mesh_materialize.${group}.${view}`;

/**
 * A view joining its driving table to itself needs every partition of it as a joined table, so it is not
 * split: every member holds all of it (and answers every query locally).
 */
function splittable(plan: ViewPlan): boolean {
  // A group or a view read in FROM spans driving partitions: such views run whole on every member.
  if (plan.aggregate || (plan.stages?.length ?? 0) > 0) return false;
  const driving = plan.relations[0]?.table.topic;
  return !plan.relations.slice(1).some((r) => r.table.topic === driving);
}
