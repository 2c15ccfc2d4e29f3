// Owns GET /v1/trace: where one source row is now. Its table's topic is searched for the key's latest event
// (partition, offset, op, commit time); every view reading that topic is compiled (the engine's compiler,
// against the registry) to find how the row reaches the view's rows — through one of the view's columns that
// is the table's key, or a column the view joins it on — and those rows are read; each view says whether its
// rows reflect the event (its columns taken from the table equal the event's after-image, or the row is gone
// after a delete) and, when not, how long the event has been waiting.
import { MeshError } from "../../lib/errors.ts";
import type { Filter } from "../../lib/http/row-query.ts";
import type { Row } from "../../materializer/contract.ts";
import { declaredTables } from "../../materializer/pending-views.ts";
import type { ViewPlan } from "../../materializer/sql/plan.ts";
import { qualifiedTableTopic } from "../../protocol/topics.ts";
import type { Catalog } from "../catalog/catalog.ts";
import type { ViewRuntime } from "../runtime.ts";
import type { FoundEvent, ObserveRuntime } from "./observe.ts";

export interface TraceView {
  view: string;
  state: string;
  /** The view's own lag (ms): how old the oldest change it has read but not applied is. */
  lagMs: number | null;
  /** How the row was found: the view's column compared and the value (null: not traceable in this view). */
  via: { column: string; value: unknown } | null;
  rows: Row[] | null;
  /** The rows show the event: its columns equal the after-image (or, after a delete, no row is left). */
  reflectsEvent: boolean | null;
  /** 0 when the rows reflect the event, else how long since the event was written. */
  behindMs: number | null;
  note?: string;
}

export interface TraceAnswer {
  source: string;
  table: string;
  topic: string;
  key: unknown;
  event: {
    partition: number;
    offset: string;
    op: string | null;
    /** Commit time at the source (ts_ms). */
    sourceTime: string | null;
    /** When Kafka received it. */
    timestamp: string;
    txId: string | null;
    before: unknown;
    after: unknown;
    deleted: boolean;
  } | null;
  search: { scanned: number; complete: boolean };
  views: TraceView[];
}

export interface TraceDeps {
  catalog: Catalog;
  views: ViewRuntime;
  observe: ObserveRuntime;
  now?: () => number;
}

/** `42`, `"abc"` or a JSON object of the key columns (`{"tenant":1,"id":42}`). */
export function keyMatcher(key: string): (decoded: unknown) => boolean {
  let wanted: unknown = key;
  try {
    wanted = JSON.parse(key);
  } catch {
    // a bare string
  }
  const same = (a: unknown, b: unknown): boolean => String(a) === String(b);
  if (wanted !== null && typeof wanted === "object" && !Array.isArray(wanted)) {
    const fields = Object.entries(wanted as Record<string, unknown>);
    return (decoded) =>
      decoded !== null &&
      typeof decoded === "object" &&
      fields.every(([k, v]) => same((decoded as Record<string, unknown>)[k], v));
  }
  return (decoded) => {
    if (decoded === null || typeof decoded !== "object") return same(decoded, wanted);
    const values = Object.values(decoded as Record<string, unknown>);
    return values.length === 1 && same(values[0], wanted);
  };
}

export async function traceKey(
  deps: TraceDeps,
  query: { source: string; table: string; key: string },
): Promise<TraceAnswer> {
  const source = deps.catalog.source(query.source);
  if (!source) {
    throw new MeshError(
      "MESH_NOT_FOUND",
      `no source named "${query.source}"; list them with GET /v1/sources`,
      {
        source: query.source,
      },
    );
  }
  const table = source.tables.find((t) => t === query.table || t.endsWith(`.${query.table}`));
  if (!table) {
    throw new MeshError(
      "MESH_NOT_FOUND",
      `source ${source.name} captures no table "${query.table}"; it captures ${source.tables.join(", ")}`,
      { source: source.name, table: query.table },
    );
  }
  const topic = qualifiedTableTopic(source.name, table);
  const lookup = await deps.observe.latestEvent(topic, keyMatcher(query.key));
  const event = lookup.event;
  const now = (deps.now ?? Date.now)();
  const views: TraceView[] = [];
  for (const record of deps.catalog.views()) {
    if (!declaredTables(record.sql).tables.includes(topic)) continue;
    views.push(await traceView(deps, record.name, record.sql, topic, event, now));
  }
  const value = event?.value ?? null;
  const sourceBlock = value?.source as Record<string, unknown> | undefined;
  const transaction = value?.transaction as Record<string, unknown> | null | undefined;
  return {
    source: source.name,
    table,
    topic,
    key: event?.key ?? query.key,
    event: event
      ? {
          partition: event.partition,
          offset: event.offset,
          op: typeof value?.op === "string" ? value.op : null,
          sourceTime: timeOf(value?.ts_ms ?? sourceBlock?.ts_ms),
          timestamp: event.timestamp,
          txId:
            typeof transaction?.id === "string" || typeof transaction?.id === "number"
              ? String(transaction.id)
              : null,
          before: value?.before ?? null,
          after: value?.after ?? null,
          deleted: event.tombstone || value?.op === "d",
        }
      : null,
    search: { scanned: lookup.scanned, complete: lookup.complete },
    views,
  };
}

function timeOf(ms: unknown): string | null {
  const n = typeof ms === "string" || typeof ms === "number" ? Number(ms) : NaN;
  return Number.isFinite(n) ? new Date(n).toISOString() : null;
}

async function traceView(
  deps: TraceDeps,
  name: string,
  sql: string,
  topic: string,
  event: FoundEvent | null,
  now: number,
): Promise<TraceView> {
  const info = deps.views.info(name);
  const base: TraceView = {
    view: name,
    state: info?.status.state ?? "unknown",
    lagMs: info?.status.lagMs ?? null,
    via: null,
    rows: null,
    reflectsEvent: null,
    behindMs: null,
  };
  if (!event) return { ...base, note: "no event of this key in the topic" };
  const compiled = await deps.observe.compile(sql);
  if (!compiled.ok) return { ...base, note: `the view's SQL does not compile here: ${compiled.message}` };
  const plan = compiled.plan;
  const rel = plan.relations.findIndex((r) => r.table.topic === topic);
  if (rel < 0 || plan.aggregate) {
    return {
      ...base,
      note: "an aggregate view or a view over views: its rows are not traced to one source row",
    };
  }
  const value = event.value ?? {};
  const after = (value.after ?? null) as Row | null;
  const image = { ...((value.before ?? {}) as Row), ...(after ?? {}), ...((event.key ?? {}) as Row) };
  const via = viaColumn(plan, rel, image);
  if (!via) return { ...base, note: "the view shows no column that identifies this table's row" };
  const filters: Filter[] = [{ column: via.column, op: "eq", value: String(via.value) }];
  let rows: Row[];
  try {
    rows = (await deps.views.queryRows(name, { filters, limit: 50, stale: true })).rows;
  } catch (err) {
    return { ...base, via, note: `reading the view failed: ${(err as Error).message}` };
  }
  const deleted = event.tombstone || value.op === "d";
  const own = plan.columns.filter((c) => c.rel === rel && c.column !== "");
  const reflects = deleted
    ? rel === 0
      ? rows.length === 0
      : rows.every((r) => own.every((c) => r[c.name] === null))
    : after !== null &&
      rows.length > 0 &&
      rows.every((r) => own.every((c) => !(c.column in after) || same(r[c.name], after[c.column])));
  const eventMs = Date.parse(event.timestamp);
  return {
    ...base,
    via,
    rows,
    reflectsEvent: reflects,
    behindMs: reflects ? 0 : Math.max(0, now - eventMs),
  };
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * The view column that finds the rows of relation `rel`'s row `image`: one of the view's columns that is
 * the relation's own key column, else a column of a joined relation equated with it in an ON clause.
 */
function viaColumn(plan: ViewPlan, rel: number, image: Row): { column: string; value: unknown } | null {
  const relation = plan.relations[rel]!;
  const keyColumns = new Set(relation.table.key);
  const output = (r: number, column: string): string | undefined =>
    plan.columns.find((c) => c.rel === r && c.column === column)?.name;
  const ordered = [...plan.columns.filter((c) => c.rel === rel)].sort(
    (a, b) => Number(keyColumns.has(b.column)) - Number(keyColumns.has(a.column)),
  );
  for (const c of ordered) {
    if (keyColumns.has(c.column) && image[c.column] !== undefined && image[c.column] !== null)
      return { column: c.name, value: image[c.column] };
  }
  // Joined: parent.parentCols[i] = this.childCols[i]; or a child equates its column with one of ours.
  if (relation.parent !== null) {
    for (const [i, child] of relation.childCols.entries()) {
      const name = output(relation.parent, relation.parentCols[i]!);
      if (name && image[child] !== undefined && image[child] !== null)
        return { column: name, value: image[child] };
    }
  }
  for (const [r, other] of plan.relations.entries()) {
    if (other.parent !== rel) continue;
    for (const [i, parentCol] of other.parentCols.entries()) {
      const name = output(r, other.childCols[i]!);
      if (name && image[parentCol] !== undefined && image[parentCol] !== null)
        return { column: name, value: image[parentCol] };
    }
  }
  return null;
}
