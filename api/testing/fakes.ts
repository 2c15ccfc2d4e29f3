// Fakes of the API's own runtime interfaces (api/runtime.ts) for route tests. Kafka and the databases are
// never faked: integration tests use the real stack.
import { MeshError } from "../../lib/errors.ts";
import { Catalog, MemoryCatalogLog } from "../catalog/catalog.ts";
import type { SourceRecord, ViewRecord } from "../../protocol/catalog.ts";
import { Reconciler } from "../control/reconciler.ts";
import type { ApiContext } from "../http/context.ts";
import type {
  JsonRowPage,
  ParkedInfo,
  Row,
  RowQuery,
  ViewChange,
  ViewSummary,
} from "../../materializer/contract.ts";
import type {
  DependencyCheck,
  HealthRuntime,
  PlacedSourceStatus,
  SourceProblem,
  SourceRuntime,
  TopicBatch,
  TopicInfo,
  TopicRuntime,
  TopicStart,
  ViewRuntime,
} from "../runtime.ts";
import { silentLogger } from "../../lib/logger.ts";

export class FakeSources implements SourceRuntime {
  /** Problems returned by check() for a URL containing the key. */
  problems = new Map<string, SourceProblem[]>();
  running = new Map<string, SourceRecord>();
  removed: { name: string; dropSlot: boolean }[] = [];
  snapshots: { name: string; tables: string[] }[] = [];

  check(def: SourceRecord): Promise<SourceProblem[]> {
    for (const [needle, problems] of this.problems)
      if (def.url.includes(needle)) return Promise.resolve(problems);
    return Promise.resolve([]);
  }
  ensure(def: SourceRecord): Promise<void> {
    this.running.set(def.name, def);
    return Promise.resolve();
  }
  remove(def: SourceRecord, options: { dropSlot: boolean }): Promise<void> {
    this.running.delete(def.name);
    this.removed.push({ name: def.name, dropSlot: options.dropSlot });
    return Promise.resolve();
  }
  snapshot(name: string, tables: string[]): Promise<void> {
    this.snapshots.push({ name, tables });
    return Promise.resolve();
  }
  status(name: string): PlacedSourceStatus | undefined {
    const def = this.running.get(name);
    if (!def) return undefined;
    return {
      state: def.paused ? "paused" : "streaming",
      error: null,
      progress: null,
      lagBytes: 0,
      lagSeconds: 0,
      offset: "0/16B3748",
      events: { "public.orders": 5 },
      tables: {},
    };
  }
}

export class FakeViews implements ViewRuntime {
  views = new Map<string, { record: ViewRecord; rows: Record<string, unknown>[] }>();
  changeFeed: ViewChange[] = [];
  /** Parked records per view; resolveParked drops a key's first one (skip) or all of them (retry). */
  parked = new Map<string, ParkedInfo[]>();
  resolved: { name: string; topic: string; key: string; action: string }[] = [];

  resolveParked(
    name: string,
    target: { topic: string; key: string },
    action: "retry" | "skip",
  ): Promise<{ applied: number; stillParked: number }> {
    const list = this.parked.get(name) ?? [];
    const mine = list.filter((p) => p.topic === target.topic && p.key === target.key);
    if (mine.length === 0)
      return Promise.reject(new MeshError("MESH_NOT_FOUND", `no parked record of key ${target.key}`));
    this.resolved.push({ name, ...target, action });
    const gone = action === "skip" ? [mine[0]] : mine;
    this.parked.set(
      name,
      list.filter((p) => !gone.includes(p)),
    );
    return Promise.resolve({
      applied: action === "skip" ? 0 : mine.length,
      stillParked: mine.length - gone.length,
    });
  }

  parse(sql: string): { name: string } {
    const m = /^\s*CREATE\s+VIEW\s+(\w+)\s+AS\s+SELECT\s/i.exec(sql);
    if (!m)
      throw new MeshError("MESH_BAD_SQL", "expected CREATE VIEW <name> AS SELECT ... at position 0", {
        position: 0,
      });
    return { name: m[1]! };
  }
  ensure(view: ViewRecord): Promise<void> {
    // The real engine compiles against the registered topics: a table nobody carries is refused.
    if (/\bnowhere\b/.test(view.sql)) {
      return Promise.reject(
        new MeshError("MESH_BAD_SQL", "the table nowhere, which no registered topic carries", {
          table: "nowhere",
        }),
      );
    }
    if (!this.views.has(view.name)) this.views.set(view.name, { record: view, rows: [] });
    return Promise.resolve();
  }
  drop(name: string): Promise<void> {
    this.views.delete(name);
    return Promise.resolve();
  }
  info(name: string): ViewSummary | undefined {
    const v = this.views.get(name);
    if (!v) return undefined;
    return {
      name,
      key: ["id"],
      columns: ["id", "status", "total", "region"],
      status: {
        state: "ready",
        error: null,
        progress: 1,
        rows: v.rows.length,
        lagMs: 0,
        parked: this.parked.get(name) ?? [],
      },
    };
  }
  getRow(name: string, key: unknown[]): Promise<Row | undefined> {
    return Promise.resolve(this.views.get(name)?.rows.find((r) => String(r.id) === String(key[0])));
  }
  lastQuery: RowQuery | null = null;
  queryRows(name: string, query: RowQuery): Promise<JsonRowPage> {
    this.lastQuery = query;
    const rows = (this.views.get(name)?.rows ?? []).filter((r) =>
      (query.filters ?? []).every((f) => (f.op === "eq" ? String(r[f.column]) === f.value : true)),
    );
    const start = query.cursor ? Number(query.cursor) : 0;
    const limit = query.limit ?? 100;
    const page = rows.slice(start, start + limit);
    return Promise.resolve({
      rows: page,
      next: start + limit < rows.length ? String(start + limit) : null,
    });
  }
  async *changes(_name: string, _from: string, signal: AbortSignal): AsyncIterable<ViewChange> {
    for (const c of this.changeFeed) {
      if (signal.aborted) return;
      yield c;
      await Promise.resolve();
    }
  }
}

export class FakeTopics implements TopicRuntime {
  list: TopicInfo[] = [];
  events: (topic: string, start: TopicStart, signal: AbortSignal) => AsyncIterable<TopicBatch> =
    async function* () {};
  lastStart: TopicStart | null = null;

  topics(): Promise<TopicInfo[]> {
    return Promise.resolve(this.list);
  }
  known(topic: string): boolean {
    return this.list.some((t) => t.topic === topic);
  }
}

export class FakeHealth implements HealthRuntime {
  results: DependencyCheck[] = [
    { name: "kafka", ok: true },
    { name: "registry", ok: true },
  ];
  checks(): Promise<DependencyCheck[]> {
    return Promise.resolve(this.results);
  }
}

export interface FakeContext extends ApiContext {
  fakes: {
    sources: FakeSources;
    views: FakeViews;
    topics: FakeTopics;
    health: FakeHealth;
    log: MemoryCatalogLog;
  };
}

export async function fakeContext(log = new MemoryCatalogLog()): Promise<FakeContext> {
  const catalog = new Catalog(log);
  await catalog.start();
  const sources = new FakeSources();
  const views = new FakeViews();
  const topics = new FakeTopics();
  const health = new FakeHealth();
  const reconciler = new Reconciler({ catalog, sources, views, logger: silentLogger() });
  reconciler.start();
  return {
    catalog,
    reconciler,
    sources,
    views,
    topics,
    health,
    status: () => ({ api: { url: "http://127.0.0.1:0" } }),
    fakes: { sources, views, topics, health, log },
  };
}
