// A ViewEngine's answers as JSON (what the API's view routes and a `mesh materialize --listen` member
// serve): names views, renders rows and changes as lossless JSON (lib/avro.ts toJsonValue with each column's
// Avro type), checks query values against column types, answers a split view by asking every member of its
// group (split-query.ts) and, as a member, answers such forwarded queries from its own partitions (lib/http
// member-answers.ts). The API's view runtime (api/runtime.ts ViewRuntime) is this class as it is.
import avro from "avsc";
import { avroType, toJsonValue } from "../lib/avro.ts";
import { JsonStringType } from "../lib/avro-logical.ts";
import { isMeshError, MeshError } from "../lib/errors.ts";
import { changeTime } from "../lib/http/change-start.ts";
import type { HttpClient } from "../lib/http/client.ts";
import type { LocalAnswers } from "../lib/http/member-answers.ts";
import type {
  JsonRowPage,
  MemberPage,
  Row,
  RowQuery,
  RowsHold,
  ViewChange,
  ViewColumn,
  ViewEngine,
  ViewInfo,
  ViewSummary,
} from "./contract.ts";
import { columnTypes } from "./column-types.ts";
import { checkKeyValues, checkQueryValues } from "./query-values.ts";
import { kindOf } from "./sql/catalog.ts";
import { forwardRow, forwardRows } from "./split-query.ts";

const createView = /^\s*CREATE\s+(?:MATERIALIZED\s+)?VIEW\s+(?:"([^"]+)"|([A-Za-z_][A-Za-z0-9_]*))\s+AS\s+/i;

export function viewNameOf(sql: string): string {
  const m = createView.exec(sql);
  if (!m) {
    throw new MeshError(
      "MESH_BAD_SQL",
      "expected `CREATE VIEW <name> AS SELECT ...` at the start of the SQL",
      { position: { line: 1, column: 1 } },
    );
  }
  return (m[1] ?? m[2])!;
}

export class EngineViews implements LocalAnswers {
  readonly #engine: ViewEngine;
  readonly #types = new Map<string, { sql: string; columns: Map<string, Render> }>();
  /** Asks the other members of a split view (default: lib/http's client). */
  readonly #client: HttpClient | undefined;
  /** The registered sources' tables (topic names): a view over one without a schema yet waits for it. */
  readonly #expected: (() => readonly string[]) | undefined;

  constructor(engine: ViewEngine, client?: HttpClient, options: { expected?: () => readonly string[] } = {}) {
    this.#engine = engine;
    this.#client = client;
    this.#expected = options.expected;
  }

  parse(sql: string): { name: string } {
    return { name: viewNameOf(sql) };
  }

  /** Idempotent: creates the view unless it exists with this SQL (recreated when its SQL changed). */
  async ensure(view: { name: string; sql: string }): Promise<void> {
    const existing = this.#engineView(view.name);
    if (existing && existing.sql.trim() === view.sql.trim()) return;
    if (existing) await this.#engine.dropView(view.name);
    const expected = this.#expected?.();
    await this.#engine.createView(view.sql, expected ? { expected } : {});
  }

  async drop(name: string): Promise<void> {
    if (this.#engineView(name)) await this.#engine.dropView(name);
    this.#types.delete(name);
  }

  info(name: string): ViewSummary | undefined {
    const v = this.#engineView(name);
    if (!v) return undefined;
    return {
      name: v.name,
      key: v.key,
      columns: v.columns.map((c) => c.name),
      columnTypes: columnTypes(v),
      keyKinds: v.keyColumns.map((c) => kindOf(c.type)),
      status: v.status,
    };
  }

  /** Ends a consistent page's hold on this process (split-query.ts). */
  releaseHold(name: string, id: string): void {
    this.#engine.releaseHold?.(name, id);
  }

  columns(name: string): string[] | undefined {
    return this.#engineView(name)?.columns.map((c) => c.name);
  }

  served(name: string): number[] | null {
    return this.#engine.ownership?.(name)?.served ?? null;
  }

  /** A split view's rows are spread over its group's members: ask them all (split-query.ts). */
  async getRow(name: string, key: unknown[]): Promise<Row | undefined> {
    this.#checkKey(name, key);
    const split = this.#engine.split?.(name);
    if (split && this.#engine.members)
      return forwardRow(name, await this.#engine.members(name), split.partitions, key, this.#client);
    return this.localRow(name, key);
  }

  async queryRows(name: string, query: RowQuery): Promise<JsonRowPage> {
    this.#checkQuery(name, query);
    const split = this.#engine.split?.(name);
    if (split && this.#engine.members) {
      const page = await forwardRows(
        name,
        await this.#engine.members(name),
        split.partitions,
        query,
        this.#client,
      );
      return { rows: page.rows, next: page.next };
    }
    const page = await this.#engine.queryRows(name, query);
    const types = this.#columnTypes(name);
    return { rows: page.rows.map((r) => this.#render(types, r.row)), next: page.next };
  }

  /** This process's own rows (a member's answer to a forwarded query: `x-mesh-local: 1`). */
  async localRow(name: string, key: unknown[]): Promise<Row | undefined> {
    this.#checkKey(name, key);
    const found = await this.#engine.getRow(name, key);
    return found ? this.#render(this.#columnTypes(name), found.row) : undefined;
  }

  /**
   * This process's own page with sort positions, for the asker's merge (split-query.ts); under `hold` (a
   * consistent page's part) with the position it shows.
   */
  async localRows(name: string, query: RowQuery, hold?: RowsHold): Promise<MemberPage> {
    this.#checkQuery(name, query);
    if (hold && this.#engine.heldRows) {
      const page = await this.#engine.heldRows(name, query, hold);
      const ownership = this.#engine.ownership?.(name) ?? null;
      const types = this.#columnTypes(name);
      return {
        rows: page.rows.map((r) => this.#render(types, r.row)),
        next: page.next,
        path: page.path,
        positions: page.positions,
        stale: page.stale,
        position: page.position,
        ...(ownership ? { owned: ownership.owned, served: ownership.served } : {}),
      };
    }
    if (!this.#engine.queryRowsPositioned) {
      const page = await this.#engine.queryRows(name, query);
      const types = this.#columnTypes(name);
      return {
        rows: page.rows.map((r) => this.#render(types, r.row)),
        next: page.next,
        path: "k",
        positions: [],
        stale: page.stale,
      };
    }
    const page = await this.#engine.queryRowsPositioned(name, query);
    const ownership = this.#engine.ownership?.(name) ?? null;
    const types = this.#columnTypes(name);
    return {
      rows: page.rows.map((r) => this.#render(types, r.row)),
      next: page.next,
      path: page.path,
      positions: page.positions,
      stale: page.stale,
      ...(ownership ? { owned: ownership.owned, served: ownership.served } : {}),
    };
  }

  async *changes(name: string, from: string, signal: AbortSignal): AsyncIterable<ViewChange> {
    yield* (await this.openChanges(name, from, signal)).events;
  }

  /**
   * A change stream, its start resolved before anything is answered (a bad `from` is a 400, not an error
   * event): `after` is the change it starts after (null: `latest` on an engine that cannot say). A time
   * older than the oldest change kept, when older ones were trimmed, yields an `event: notice` first.
   */
  async openChanges(
    name: string,
    from: string,
    signal: AbortSignal,
  ): Promise<{ after: number | null; events: AsyncIterable<ViewChange> }> {
    const time = from === "latest" ? Number.MAX_SAFE_INTEGER : changeTime(from);
    let after: number | null;
    let notice: ViewChange | null = null;
    if (from === "earliest") after = 0;
    else if (/^\d+$/.test(from) && Number.isSafeInteger(Number(from))) after = Number(from);
    else if (time === null)
      throw new MeshError(
        "MESH_BAD_QUERY",
        `"from" must be earliest, latest, a change id or an ISO-8601 time (got "${from}")`,
        { param: "from" },
      );
    else if (!this.#engine.changeStart) {
      if (from !== "latest")
        throw new MeshError("MESH_BAD_REQUEST", `view ${name}: this engine cannot start at a time`, {
          param: "from",
        });
      after = null;
    } else {
      const start = await this.#engine.changeStart(name, time);
      after = start.after;
      if (start.trimmed && from !== "latest") notice = trimmedNotice(from, start.trimmed);
    }
    return { after, events: this.#changeEvents(name, after ?? -1, notice, signal) };
  }

  async *#changeEvents(
    name: string,
    after: number,
    notice: ViewChange | null,
    signal: AbortSignal,
  ): AsyncIterable<ViewChange> {
    if (notice) yield notice;
    const feed = this.#engine.changes(name, after, signal)[Symbol.asyncIterator]();
    const types = this.#columnTypes(name);
    let pending = feed.next();
    for (;;) {
      const next = await pending;
      if (next.done || signal.aborted) return;
      const change = next.value;
      yield {
        id: String(change.seq),
        data: {
          op: change.op,
          key: change.key.map((k) => this.#scalar(k)),
          before: change.before ? this.#render(types, change.before) : null,
          after: change.after ? this.#render(types, change.after) : null,
          ...(change.at === undefined ? {} : { at: new Date(change.at).toISOString() }),
        },
      };
      pending = feed.next();
    }
  }

  async resolveParked(
    name: string,
    target: { topic: string; key: string },
    action: "retry" | "skip",
  ): Promise<{ applied: number; stillParked: number }> {
    const view = this.#engine.getView(name);
    if (!view.status.parked.some((p) => p.topic === target.topic && p.key === target.key))
      throw new MeshError(
        "MESH_NOT_FOUND",
        `view ${name} has no parked record of key ${target.key} in ${target.topic}; ` +
          `GET /v1/views/${name} lists them under status.parked`,
        { view: name, topic: target.topic, key: target.key },
      );
    return this.#engine.resolveParked(name, target.topic, target.key, action);
  }

  /** Values of the wrong type for their column → 400 naming both (query-values.ts). */
  #checkKey(name: string, key: unknown[]): void {
    const view = this.#engineView(name);
    if (view) checkKeyValues(view, key);
  }

  #checkQuery(name: string, query: RowQuery): void {
    const view = this.#engineView(name);
    if (view) checkQueryValues(view, query);
  }

  #engineView(name: string): ViewInfo | undefined {
    try {
      return this.#engine.getView(name);
    } catch (err) {
      if (isMeshError(err) && err.code === "MESH_NOT_FOUND") return undefined;
      throw err;
    }
  }

  #render(types: Map<string, Render>, row: Row): Row {
    const out: Row = {};
    for (const [column, value] of Object.entries(row)) {
      const render = types.get(column);
      out[column] = render ? render(value) : this.#scalar(value);
    }
    return out;
  }

  #scalar(value: unknown): unknown {
    if (typeof value === "bigint") return value.toString();
    if (Buffer.isBuffer(value)) return value.toString("base64");
    return value;
  }

  /** Per view, rebuilt only when its SQL changes (a recreated view): looked up once per page or row. */
  #columnTypes(name: string): Map<string, Render> {
    const v = this.#engine.getView(name);
    const cached = this.#types.get(name);
    if (cached && cached.sql === v.sql) return cached.columns;
    const columns = new Map<string, Render>(
      v.columns.map((c: ViewColumn) => [c.name, renderer(avroType(c.type as avro.Schema))]),
    );
    this.#types.set(name, { sql: v.sql, columns });
    return columns;
  }
}

/** The first event of a stream whose start time is older than what the feed keeps (docs/api.md). */
function trimmedNotice(from: string, trimmed: { oldest: number; oldestAt: number | null }): ViewChange {
  const oldestAt = trimmed.oldestAt === null ? null : new Date(trimmed.oldestAt).toISOString();
  return {
    id: String(trimmed.oldest - 1),
    event: "notice",
    data: {
      notice: "trimmed",
      message:
        `changes before ${from} are no longer all kept: the stream starts at the oldest change kept ` +
        `(id ${trimmed.oldest}, applied ${oldestAt ?? "at an unknown time"}); older ones were trimmed`,
      from,
      oldestId: String(trimmed.oldest),
      oldestAt,
    },
  };
}

/** A column value to its lossless JSON form (toJsonValue), specialised once per column type. */
type Render = (value: unknown) => unknown;

/**
 * The common nullable column (["null", T]) skips toJsonValue's branch search, which validates the value
 * against each branch (for a decimal: encoding it to bytes) on every row; logical types are already in
 * their JSON form. Everything else goes through toJsonValue as before.
 */
function renderer(type: avro.Type): Render {
  if (type instanceof avro.types.UnwrappedUnionType) {
    const branches = type.types.filter((t) => t.typeName !== "null");
    if (branches.length === 1 && branches.length < type.types.length) {
      const inner = renderer(branches[0]!);
      return (value) => (value === null || value === undefined ? null : inner(value));
    }
  }
  if (type instanceof avro.types.LogicalType && !(type instanceof JsonStringType))
    return (value) => value ?? null;
  return (value) => toJsonValue(type, value);
}
