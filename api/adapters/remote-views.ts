// The ViewRuntime of `mesh api --materializer URL[,URL]`: views live in separate `mesh materialize --listen`
// processes that follow this API's catalog topic (materializer/catalog-views.ts). POST/DELETE /v1/views only
// write the catalog (ensure, which POST calls before writing, compiles the SQL against the registry, so bad
// SQL is still refused before it is stored); the members create and drop the views themselves. Rows are read from
// the members: a split view (docs/views.md "Split views") through the members its group names, merged as
// materializer/split-query.ts does; an unsplit one from the first member holding it. Status is polled from
// the members and merged into one ViewStatus.
// Change streams are proxied (a split view's members' streams merged: remote-changes.ts); parked retry/skip
// is forwarded to the members that may hold the key.
import { isMeshError, MeshError } from "../../lib/errors.ts";
import { HttpClient, PeerUnreachable } from "../../lib/http/client.ts";
import { meshErrorOf } from "../../lib/http/errors.ts";
import { rowKeySegment, rowsQueryString, type RowQuery } from "../../lib/http/row-query.ts";
import type { Logger } from "../../lib/logger.ts";
import type { RegistryClient } from "../../lib/registry-client.ts";
import type {
  JsonRowPage,
  ParkedInfo,
  Row,
  ViewChange,
  ViewMember,
  ViewStatus,
  ViewSummary,
} from "../../materializer/contract.ts";
import { viewNameOf } from "../../materializer/engine-views.ts";
import { forwardRow, forwardRows } from "../../materializer/split-query.ts";
import { waitingFor } from "../../materializer/pending-views.ts";
import { compileStatements } from "../../materializer/sql/compile.ts";
import { registryTables } from "../../materializer/sql/registry-tables.ts";
import type { ViewRecord } from "../../protocol/catalog.ts";
import type { DependencyCheck, ParkedMemberResult, ViewRuntime } from "../runtime.ts";
import { memberStarts, mergeMembers, openMemberStream, singleMember } from "./remote-changes.ts";

export interface RemoteViewsOptions {
  /** The members' --listen/--advertise URLs (any of them may be down). */
  urls: string[];
  /** Compiles view SQL against the registry's tables, as a member will. */
  registry: Pick<RegistryClient, "subjects" | "latest">;
  /** The registered sources' tables (topic names): a view naming one without a schema yet waits for it. */
  expected?: () => readonly string[];
  logger: Logger;
  /** How often view status is polled from the members (default 1 s). */
  refreshMs?: number;
  /** Calls to the members (tests fake them). */
  client?: HttpClient;
}

/** One entry of a member's GET /v1/views (materializer/serve.ts). */
interface MemberView extends Partial<Pick<ViewSummary, "key" | "columns" | "columnTypes">> {
  name: string;
  sql?: string;
  status: ViewStatus;
  split: { owned: number[]; served: number[] } | null;
}

interface Route {
  at: number;
  /** The member asked (holds the view). */
  url: string;
  split: { partitions: number; members: ViewMember[] } | null;
}

const stateRank = { ready: 0, backfilling: 1, waiting: 2, failed: 3, stopped: 3 } as const;

export class RemoteViews implements ViewRuntime {
  readonly #o: RemoteViewsOptions;
  readonly #http: HttpClient;
  #infos = new Map<string, ViewSummary>();
  /** Views declared waiting here that no member reported yet: their status until one does. */
  readonly #declared = new Map<string, ViewSummary>();
  readonly #routes = new Map<string, Route>();
  #timer: NodeJS.Timeout | null = null;

  constructor(options: RemoteViewsOptions) {
    this.#o = options;
    this.#http = options.client ?? new HttpClient();
  }

  /** Starts polling the members' view status (info() answers from the last poll). */
  async start(): Promise<void> {
    await this.refresh();
    this.#timer = setInterval(() => void this.refresh(), this.#o.refreshMs ?? 1000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  parse(sql: string): { name: string } {
    return { name: viewNameOf(sql) };
  }

  /**
   * Compiles the SQL as a member will (MESH_BAD_SQL before the catalog stores it); members create it. A view
   * naming a registered source's table whose schema is not registered yet is not compiled: the members keep
   * it waiting (materializer/pending-views.ts) until it is.
   */
  async ensure(view: ViewRecord): Promise<void> {
    const tables = await registryTables(this.#o.registry);
    const schemas = waitingFor(view.sql, tables, this.#o.expected?.() ?? []);
    if (schemas.length === 0) compileStatements(view.sql, { tables });
    else
      this.#declared.set(view.name, {
        name: view.name,
        key: [],
        columns: [],
        status: {
          state: "waiting",
          progress: 0,
          rows: 0,
          lagMs: 0,
          parked: [],
          error: null,
          waitingFor: { schemas, topics: [] },
        },
      });
    this.#routes.delete(view.name);
  }

  /** Members drop the view when the catalog's tombstone reaches them. */
  drop(name: string): Promise<void> {
    this.#routes.delete(name);
    this.#infos.delete(name);
    this.#declared.delete(name);
    return Promise.resolve();
  }

  info(name: string): ViewSummary | undefined {
    return this.#infos.get(name) ?? this.#declared.get(name);
  }

  async getRow(name: string, key: unknown[]): Promise<Row | undefined> {
    const route = await this.#route(name);
    if (route.split) return forwardRow(name, route.split.members, route.split.partitions, key, this.#http);
    const { status, body } = await this.#get(route.url, name, `/rows/${rowKeySegment(key)}`);
    const error = body as { code?: string; details?: { view?: unknown } };
    // A missing row is an answer; a missing view means the member dropped it: ask again next time.
    if (status === 404 && error.code === "MESH_NOT_FOUND" && error.details?.view === undefined)
      return undefined;
    if (status !== 200) {
      this.#routes.delete(name);
      throw meshErrorOf(body, status);
    }
    return body as Row;
  }

  async queryRows(name: string, query: RowQuery): Promise<JsonRowPage> {
    const route = await this.#route(name);
    if (route.split) {
      const page = await forwardRows(name, route.split.members, route.split.partitions, query, this.#http);
      return { rows: page.rows, next: page.next };
    }
    const { status, body } = await this.#get(route.url, name, `/rows?${rowsQueryString(query)}`);
    if (status !== 200) {
      this.#routes.delete(name);
      throw meshErrorOf(body, status);
    }
    const page = body as JsonRowPage;
    return { rows: page.rows, next: page.next };
  }

  async *changes(name: string, from: string, signal: AbortSignal): AsyncIterable<ViewChange> {
    yield* (await this.openChanges(name, from, signal)).events;
  }

  /**
   * An unsplit view streams from the member holding it; a split view's members each stream their own
   * partitions' changes, merged with composite ids (remote-changes.ts). Resolves once every member asked
   * answered, so a refused start is the member's error status.
   */
  async openChanges(
    name: string,
    from: string,
    signal: AbortSignal,
  ): Promise<{ events: AsyncIterable<ViewChange> }> {
    const route = await this.#route(name);
    if (!route.split) {
      if (from.includes("="))
        throw new MeshError(
          "MESH_BAD_QUERY",
          `view ${name} is not split: its change ids are plain numbers (got "${from}")`,
          { view: name, param: "from" },
        );
      const it = await openMemberStream(this.#http, route.url, name, from, signal).catch(this.#forget(name));
      return { events: singleMember(it, name, route.url) };
    }
    const urls = [...new Set(route.split.members.map((m) => m.url))].sort();
    if (urls.length === 0)
      throw new MeshError("MESH_UNAVAILABLE", `view ${name}: its group has no members yet; retry`, {
        view: name,
      });
    const starts = memberStarts(name, from, urls);
    const streams = await Promise.all(
      urls.map(async (url) => ({
        url,
        it: await openMemberStream(this.#http, url, name, starts.get(url) ?? "earliest", signal),
      })),
    ).catch(this.#forget(name));
    return { events: mergeMembers(streams, name, signal) };
  }

  /** A failed member answer: ask which member holds the view again next time. */
  #forget(name: string): (err: unknown) => never {
    return (err) => {
      this.#routes.delete(name);
      throw err;
    };
  }

  /**
   * Forwarded to every member that may hold the key (a split view's group members; otherwise every
   * --materializer member): a member without it answers 404 and is reported, not fatal. 404 when none
   * holds it; the members' counts are summed and `members` says what each did.
   */
  async resolveParked(
    name: string,
    target: { topic: string; key: string },
    action: "retry" | "skip",
  ): Promise<{ applied: number; stillParked: number; members: ParkedMemberResult[] }> {
    const route = await this.#route(name);
    const urls = route.split ? [...new Set(route.split.members.map((m) => m.url))] : this.#o.urls;
    const members = await Promise.all(urls.map((url) => this.#parked(url, name, target, action)));
    const held = members.filter((m) => !m.error);
    if (held.length === 0) {
      const failed = members.find((m) => m.error && m.error.code !== "MESH_NOT_FOUND");
      if (failed?.error) throw meshErrorOf(failed.error, 500);
      throw new MeshError(
        "MESH_NOT_FOUND",
        `view ${name} has no parked record of key ${target.key} in ${target.topic} on any materializer; ` +
          `GET /v1/views/${name} lists them under status.parked`,
        { view: name, topic: target.topic, key: target.key },
      );
    }
    void this.refresh();
    return {
      applied: held.reduce((n, m) => n + m.applied, 0),
      stillParked: held.reduce((n, m) => n + m.stillParked, 0),
      members,
    };
  }

  async #parked(
    url: string,
    view: string,
    target: { topic: string; key: string },
    action: "retry" | "skip",
  ): Promise<ParkedMemberResult> {
    try {
      const answer = await this.#http.call(`${url}/v1/views/${encodeURIComponent(view)}/parked/${action}`, {
        method: "POST",
        body: target,
      });
      const body = (answer.body ?? {}) as { applied?: number; stillParked?: number };
      if (answer.status === 200)
        return { member: url, applied: body.applied ?? 0, stillParked: body.stillParked ?? 0 };
      const error = meshErrorOf(answer.body, answer.status);
      return { member: url, applied: 0, stillParked: 0, error: { code: error.code, message: error.message } };
    } catch (err) {
      const message = `the materializer at ${url} did not answer: ${(err as Error).message}`;
      return { member: url, applied: 0, stillParked: 0, error: { code: "MESH_UNAVAILABLE", message } };
    }
  }

  /** /readyz: one check per member, naming the one that does not answer. */
  async checks(): Promise<DependencyCheck[]> {
    return Promise.all(
      this.#o.urls.map(async (url) => {
        try {
          await this.#list(url, 2000);
          return { name: `materializer ${url}`, ok: true };
        } catch (err) {
          return { name: `materializer ${url}`, ok: false, error: (err as Error).message };
        }
      }),
    );
  }

  /** Polls every member's views and merges their status (a split view's rows are summed over members). */
  async refresh(): Promise<void> {
    const lists = await Promise.all(this.#o.urls.map((url) => this.#list(url, 2000).catch(() => null)));
    const byName = new Map<string, MemberView[]>();
    for (const list of lists)
      for (const v of list ?? []) byName.set(v.name, [...(byName.get(v.name) ?? []), v]);
    const infos = new Map<string, ViewSummary>();
    for (const [name, views] of byName) infos.set(name, merge(name, views));
    this.#infos = infos;
    for (const name of infos.keys()) this.#declared.delete(name);
  }

  async #list(url: string, timeoutMs: number): Promise<MemberView[]> {
    const answer = await this.#http.call(`${url}/v1/views`, { timeoutMs });
    if (answer.status !== 200) throw new Error(`GET /v1/views answered ${answer.status}`);
    return (answer.body as { views: MemberView[] }).views;
  }

  async #get(url: string, view: string, path: string): Promise<{ status: number; body: unknown }> {
    try {
      return await this.#http.call(`${url}/v1/views/${encodeURIComponent(view)}${path}`);
    } catch (err) {
      if (!(err instanceof PeerUnreachable)) throw err;
      this.#routes.delete(view);
      throw new MeshError(
        "MESH_UNAVAILABLE",
        `view ${view}: the materializer at ${url} did not answer: ${err.message}`,
        { view, member: url },
      );
    }
  }

  /**
   * Where a view's rows are read: the first member (in --materializer order) holding it says whether it is
   * split and who owns which partitions. Cached for a second, as the engine caches its group's members.
   */
  async #route(name: string): Promise<Route> {
    const cached = this.#routes.get(name);
    if (cached && Date.now() - cached.at < 1000) return cached;
    const failures: string[] = [];
    for (const url of this.#o.urls) {
      let answer: { status: number; body: unknown };
      try {
        answer = await this.#get(url, name, "/members");
      } catch (err) {
        failures.push(isMeshError(err) ? err.message : String(err));
        continue;
      }
      if (answer.status !== 200) {
        failures.push(`${url} answered ${answer.status}`);
        continue;
      }
      const m = answer.body as { split: boolean; partitions: number | null; members: ViewMember[] };
      const route: Route = {
        at: Date.now(),
        url,
        split: m.split ? { partitions: m.partitions ?? 0, members: m.members } : null,
      };
      this.#routes.set(name, route);
      return route;
    }
    throw new MeshError(
      "MESH_UNAVAILABLE",
      `view ${name}: no materializer holds it yet (${failures.join("; ")}); retry`,
      { view: name, materializers: this.#o.urls },
    );
  }
}

/** One status over the members holding a view: the worst state, the least progress, rows summed. */
function merge(name: string, views: MemberView[]): ViewSummary {
  const first = views[0]!;
  const split = views.some((v) => v.split !== null);
  let state: ViewStatus["state"] = "ready";
  let error: ViewStatus["error"] = null;
  let progress = 1;
  let lagMs = 0;
  let rows = 0;
  const parked: ParkedInfo[] = [];
  const waits = { schemas: new Set<string>(), topics: new Set<string>() };
  for (const v of views) {
    const s = v.status;
    if (stateRank[s.state] > stateRank[state]) state = s.state;
    for (const t of s.waitingFor?.schemas ?? []) waits.schemas.add(t);
    for (const t of s.waitingFor?.topics ?? []) waits.topics.add(t);
    error ??= s.error;
    progress = Math.min(progress, s.progress);
    lagMs = Math.max(lagMs, s.lagMs);
    rows = split ? rows + s.rows : Math.max(rows, s.rows);
    // Members of a split view read joined topics in full: such a record is parked on each of them.
    for (const r of s.parked)
      if (!parked.some((q) => q.topic === r.topic && q.partition === r.partition && q.offset === r.offset))
        parked.push(r);
  }
  // A member still waiting for the schemas knows no key or columns yet.
  const compiled = views.find((v) => (v.key ?? []).length > 0) ?? first;
  return {
    name,
    key: compiled.key ?? [],
    columns: compiled.columns ?? [],
    ...(compiled.columnTypes ? { columnTypes: compiled.columnTypes } : {}),
    status: {
      state,
      error,
      progress,
      rows,
      lagMs,
      parked,
      ...(state === "waiting"
        ? { waitingFor: { schemas: [...waits.schemas], topics: [...waits.topics] } }
        : {}),
    },
  };
}
