// Owns the row query of a view, the one type every view server and the engine share, and its URL grammar
// (GET /v1/views/{name}/rows on the API and on a materializer member): `col=v` (equals), `col[op]=v` with
// op one of eq gt gte lt lte, `order=col` or `order=-col` (descending), `limit` (1..1000, default 100),
// `cursor`, `consistent=true|false` (a split view's page at one point of every member). Values stay strings: the view engine compares them as the column's type. `/rows/{key}` takes a
// key: a composite one is a URL-encoded JSON array.
import { MeshError } from "../errors.ts";

export type FilterOp = "eq" | "gt" | "gte" | "lt" | "lte" | "in";

/** A range/equality condition on one column; values in the decoded representation or as text. */
export interface Filter {
  column: string;
  /** `in` (value: a list) has no URL form: in-process callers only. */
  op: FilterOp;
  value: unknown;
}

export interface RowQuery {
  filters?: Filter[];
  /** Order by the key (default) or by an indexed column. */
  order?: string;
  desc?: boolean;
  /** Default 100; the URL allows 1..1000, the engine at most 10 000. */
  limit?: number;
  /** The `next` of the previous page. */
  cursor?: string;
  /** Answer while backfilling (otherwise MESH_VIEW_NOT_READY); no URL form: in-process callers only. */
  stale?: boolean;
  /**
   * A split view's page read at one point of every member (the same source transactions applied on each:
   * materializer/split-query.ts); unset: the server's default. Unsplit views are always consistent.
   */
  consistent?: boolean;
}

const urlOps = new Set<FilterOp>(["eq", "gt", "gte", "lt", "lte"]);
export const reservedParams = new Set(["order", "limit", "cursor", "consistent"]);
export const maxLimit = 1000;
export const defaultLimit = 100;

/** `columns`: the view's, to name a wrong one in the error (null: not known here, the engine checks). */
export function parseRowQuery(
  query: Record<string, string | string[] | undefined>,
  columns: string[] | null,
): RowQuery {
  const filters: Filter[] = [];
  for (const [param, raw] of Object.entries(query)) {
    if (raw === undefined || reservedParams.has(param)) continue;
    const match = /^([^[\]]+)(?:\[([a-z]+)\])?$/.exec(param);
    if (!match)
      throw new MeshError("MESH_BAD_QUERY", `query parameter "${param}" is not "column" or "column[op]"`, {
        param,
      });
    const column = match[1]!;
    const op = (match[2] ?? "eq") as FilterOp;
    if (!urlOps.has(op)) {
      throw new MeshError(
        "MESH_BAD_QUERY",
        `unknown filter operator "${op}" in "${param}"; use one of ${[...urlOps].join(", ")}`,
        {
          param,
        },
      );
    }
    checkColumn(column, columns, param);
    for (const value of Array.isArray(raw) ? raw : [raw]) filters.push({ column, op, value });
  }
  const parsed: RowQuery = { filters };
  const orderParam = single(query.order, "order");
  if (orderParam) {
    const desc = orderParam.startsWith("-");
    const column = desc ? orderParam.slice(1) : orderParam;
    checkColumn(column, columns, "order");
    parsed.order = column;
    parsed.desc = desc;
  }
  const limitParam = single(query.limit, "limit");
  let limit = defaultLimit;
  if (limitParam !== undefined) {
    limit = Number(limitParam);
    if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit) {
      throw new MeshError("MESH_BAD_REQUEST", `"limit" must be an integer from 1 to ${maxLimit}`, {
        param: "limit",
      });
    }
  }
  parsed.limit = limit;
  const cursor = single(query.cursor, "cursor");
  if (cursor) parsed.cursor = cursor;
  const consistent = single(query.consistent, "consistent");
  if (consistent !== undefined) {
    if (consistent !== "true" && consistent !== "false")
      throw new MeshError("MESH_BAD_REQUEST", `"consistent" must be true or false`, { param: "consistent" });
    parsed.consistent = consistent === "true";
  }
  return parsed;
}

/** The query string that asks another server the same question (parseRowQuery's inverse). */
export function rowsQueryString(query: RowQuery): string {
  const params = new URLSearchParams();
  for (const f of query.filters ?? [])
    params.append(f.op === "eq" ? f.column : `${f.column}[${f.op}]`, String(f.value));
  if (query.order) params.set("order", `${query.desc ? "-" : ""}${query.order}`);
  params.set("limit", String(query.limit ?? defaultLimit));
  if (query.cursor) params.set("cursor", query.cursor);
  return params.toString();
}

function single(value: string | string[] | undefined, name: string): string | undefined {
  if (Array.isArray(value))
    throw new MeshError("MESH_BAD_REQUEST", `"${name}" may be given once`, { param: name });
  return value;
}

function checkColumn(column: string, columns: string[] | null, param: string): void {
  if (columns && !columns.includes(column)) {
    throw new MeshError(
      "MESH_BAD_QUERY",
      `the view has no column "${column}" (in "${param}"); columns: ${columns.join(", ")}`,
      {
        param,
        columns,
      },
    );
  }
}

/** `/rows/{key}`: a composite key is a URL-encoded JSON array; anything else is a one-column key. */
export function parseRowKey(raw: string): unknown[] {
  if (raw.startsWith("[")) {
    try {
      const parsed = JSON.parse(raw) as unknown;
      if (Array.isArray(parsed)) return parsed;
    } catch {
      // fall through: a key that merely starts with "[" is a plain string
    }
    throw new MeshError(
      "MESH_BAD_QUERY",
      `row key ${raw} is not a JSON array; a composite key is ["a",1] URL-encoded`,
      {
        key: raw,
      },
    );
  }
  return [raw];
}

/** The path segment of a row key (parseRowKey's inverse for any key). */
export function rowKeySegment(key: unknown[]): string {
  return encodeURIComponent(JSON.stringify(key));
}
