// Query parameters of GET /v1/views/{name}/rows → a RowQuery: `col=v` (equals), `col[op]=v` with op one of
// eq gt gte lt lte, `order=col` or `order=-col` (descending), `limit` (1..1000, default 100), `cursor`.
// Values stay strings: the view engine compares them as the column's type.
import { MeshError } from "../../lib/errors.ts";
import type { FilterOp, RowQuery } from "../runtime.ts";

const ops = new Set<FilterOp>(["eq", "gt", "gte", "lt", "lte"]);
export const reservedParams = new Set(["order", "limit", "cursor"]);
export const maxLimit = 1000;

export function parseRowQuery(
  query: Record<string, string | string[] | undefined>,
  columns: string[] | null,
): RowQuery {
  const filters: RowQuery["filters"] = [];
  for (const [param, raw] of Object.entries(query)) {
    if (raw === undefined || reservedParams.has(param)) continue;
    const match = /^([^[\]]+)(?:\[([a-z]+)\])?$/.exec(param);
    if (!match)
      throw new MeshError("MESH_BAD_REQUEST", `query parameter "${param}" is not "column" or "column[op]"`, {
        param,
      });
    const column = match[1]!;
    const op = (match[2] ?? "eq") as FilterOp;
    if (!ops.has(op)) {
      throw new MeshError(
        "MESH_BAD_REQUEST",
        `unknown filter operator "${op}" in "${param}"; use one of ${[...ops].join(", ")}`,
        {
          param,
        },
      );
    }
    checkColumn(column, columns, param);
    for (const value of Array.isArray(raw) ? raw : [raw]) filters.push({ column, op, value });
  }
  const orderParam = single(query.order, "order");
  let order: RowQuery["order"] = null;
  if (orderParam) {
    const desc = orderParam.startsWith("-");
    const column = desc ? orderParam.slice(1) : orderParam;
    checkColumn(column, columns, "order");
    order = { column, desc };
  }
  const limitParam = single(query.limit, "limit");
  let limit = 100;
  if (limitParam !== undefined) {
    limit = Number(limitParam);
    if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit) {
      throw new MeshError("MESH_BAD_REQUEST", `"limit" must be an integer from 1 to ${maxLimit}`, {
        param: "limit",
      });
    }
  }
  return { filters, order, limit, cursor: single(query.cursor, "cursor") ?? null };
}

function single(value: string | string[] | undefined, name: string): string | undefined {
  if (Array.isArray(value))
    throw new MeshError("MESH_BAD_REQUEST", `"${name}" may be given once`, { param: name });
  return value;
}

function checkColumn(column: string, columns: string[] | null, param: string): void {
  if (columns && !columns.includes(column)) {
    throw new MeshError(
      "MESH_BAD_REQUEST",
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
      "MESH_BAD_REQUEST",
      `row key ${raw} is not a JSON array; a composite key is ["a",1] URL-encoded`,
      {
        key: raw,
      },
    );
  }
  return [raw];
}
