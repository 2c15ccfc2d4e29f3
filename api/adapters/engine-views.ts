// ViewRuntime on the materializer's ViewEngine (materializer/contract.ts): names views, renders rows and
// changes as the API's lossless JSON (lib/avro.ts toJsonValue with each column's Avro type).
import type avro from "avsc";
import { avroType, toJsonValue } from "../../lib/avro.ts";
import { isMeshError, MeshError } from "../../lib/errors.ts";
import type {
  Row,
  RowQuery as EngineRowQuery,
  ViewColumn,
  ViewEngine,
  ViewInfo as EngineViewInfo,
} from "../../materializer/contract.ts";
import type { ViewRecord } from "../catalog/records.ts";
import type { RowQuery, ViewChange, ViewInfo, ViewRuntime } from "../runtime.ts";
import { forwardRow, forwardRows, type ForwardOptions, type MemberPage } from "./split-views.ts";

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

export class EngineViews implements ViewRuntime {
  readonly #engine: ViewEngine;
  readonly #types = new Map<string, { sql: string; columns: Map<string, avro.Type> }>();

  readonly #forward: ForwardOptions;

  constructor(engine: ViewEngine, forward: ForwardOptions = {}) {
    this.#engine = engine;
    this.#forward = forward;
  }

  parse(sql: string): { name: string } {
    return { name: viewNameOf(sql) };
  }

  async ensure(view: ViewRecord): Promise<void> {
    const existing = this.#engineView(view.name);
    if (existing && existing.sql.trim() === view.sql.trim()) return;
    if (existing) await this.#engine.dropView(view.name);
    await this.#engine.createView(view.sql);
  }

  async drop(name: string): Promise<void> {
    if (this.#engineView(name)) await this.#engine.dropView(name);
    this.#types.delete(name);
  }

  info(name: string): ViewInfo | undefined {
    const v = this.#engineView(name);
    if (!v) return undefined;
    return {
      name: v.name,
      key: v.key,
      columns: v.columns.map((c) => c.name),
      status: {
        state: v.status.state === "stopped" ? "failed" : v.status.state,
        error: v.status.error ? `${v.status.error.code}: ${v.status.error.message}` : null,
        progress: v.status.progress,
        rows: v.status.rows,
        lagMs: v.status.lagMs,
        parked: v.status.parked.length,
      },
    };
  }

  /** A split view's rows are spread over its group's members: ask them all (split-views.ts). */
  async getRow(name: string, key: unknown[]): Promise<Record<string, unknown> | undefined> {
    const split = this.#engine.split?.(name);
    if (split && this.#engine.members)
      return forwardRow(name, await this.#engine.members(name), split.partitions, key, this.#forward);
    return this.localRow(name, key);
  }

  async queryRows(
    name: string,
    query: RowQuery,
  ): Promise<{ rows: Record<string, unknown>[]; next: string | null }> {
    const split = this.#engine.split?.(name);
    if (split && this.#engine.members) {
      const page = await forwardRows(
        name,
        await this.#engine.members(name),
        split.partitions,
        query,
        this.#forward,
      );
      return { rows: page.rows, next: page.next };
    }
    const page = await this.#engine.queryRows(name, this.#engineQuery(query));
    return { rows: page.rows.map((r) => this.#render(name, r.row)), next: page.next };
  }

  /** This process's own rows (a member's answer to a forwarded query: `x-mesh-local: 1`). */
  async localRow(name: string, key: unknown[]): Promise<Record<string, unknown> | undefined> {
    const found = await this.#engine.getRow(name, key);
    return found ? this.#render(name, found.row) : undefined;
  }

  /** This process's own page with sort positions, for the coordinator's merge (split-views.ts). */
  async localRows(name: string, query: RowQuery): Promise<MemberPage> {
    const q = this.#engineQuery(query);
    if (!this.#engine.queryRowsPositioned) {
      const page = await this.#engine.queryRows(name, q);
      return {
        rows: page.rows.map((r) => this.#render(name, r.row)),
        next: page.next,
        path: "k",
        positions: [],
        stale: page.stale,
      };
    }
    const page = await this.#engine.queryRowsPositioned(name, q);
    const ownership = this.#engine.ownership?.(name) ?? null;
    return {
      rows: page.rows.map((r) => this.#render(name, r.row)),
      next: page.next,
      path: page.path,
      positions: page.positions,
      stale: page.stale,
      ...(ownership ? { owned: ownership.owned, served: ownership.served } : {}),
    };
  }

  #engineQuery(query: RowQuery): EngineRowQuery {
    return {
      filters: query.filters.map((f) => ({ column: f.column, op: f.op, value: f.value })),
      ...(query.order ? { order: query.order.column, desc: query.order.desc } : {}),
      limit: query.limit,
      ...(query.cursor ? { cursor: query.cursor } : {}),
    };
  }

  async *changes(name: string, from: string, signal: AbortSignal): AsyncIterable<ViewChange> {
    const seq = from === "earliest" ? 0 : from === "latest" ? -1 : Number(from);
    if (!Number.isInteger(seq) || (seq < 0 && from !== "latest")) {
      throw new MeshError(
        "MESH_BAD_REQUEST",
        `"from" must be earliest, latest or a change id (got "${from}")`,
        { param: "from" },
      );
    }
    const feed = this.#engine.changes(name, seq, signal)[Symbol.asyncIterator]();
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
          before: change.before ? this.#render(name, change.before) : null,
          after: change.after ? this.#render(name, change.after) : null,
        },
      };
      pending = feed.next();
    }
  }

  #engineView(name: string): EngineViewInfo | undefined {
    try {
      return this.#engine.getView(name);
    } catch (err) {
      if (isMeshError(err) && err.code === "MESH_NOT_FOUND") return undefined;
      throw err;
    }
  }

  #render(name: string, row: Row): Record<string, unknown> {
    const types = this.#columnTypes(name);
    const out: Record<string, unknown> = {};
    for (const [column, value] of Object.entries(row)) {
      const type = types.get(column);
      out[column] = type ? toJsonValue(type, value) : this.#scalar(value);
    }
    return out;
  }

  #scalar(value: unknown): unknown {
    if (typeof value === "bigint") return value.toString();
    if (Buffer.isBuffer(value)) return value.toString("base64");
    return value;
  }

  #columnTypes(name: string): Map<string, avro.Type> {
    const v = this.#engine.getView(name);
    const cached = this.#types.get(name);
    if (cached && cached.sql === v.sql) return cached.columns;
    const columns = new Map<string, avro.Type>(
      v.columns.map((c: ViewColumn) => [c.name, avroType(c.type as avro.Schema)]),
    );
    this.#types.set(name, { sql: v.sql, columns });
    return columns;
  }
}
