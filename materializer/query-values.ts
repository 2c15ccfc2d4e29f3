// Query values arrive as text (URL query, row key in the path); the view engine compares them as each column's
// type, and a value that is not of that type would fail deep in the key encoding. Checked here first, so the
// client hears which column and value are wrong (400) instead of an internal error.
import { MeshError } from "../lib/errors.ts";
import type { RowQuery, ViewInfo } from "./contract.ts";
import { kindOf } from "./sql/catalog.ts";

const decimalText = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function problem(view: ViewInfo, column: string, value: unknown): string | null {
  const col = view.columns.find((c) => c.name === column);
  if (!col || value === null) return null;
  const kind = kindOf(col.type);
  if (kind === "number" || kind === "decimal") {
    if (typeof value === "number" && Number.isFinite(value)) return null;
    if (typeof value === "string" && decimalText.test(value.trim())) return null;
    return "a number";
  }
  if (kind === "boolean") {
    if (typeof value === "boolean" || value === "true" || value === "false") return null;
    return "true or false";
  }
  if (kind === "string" && typeof value !== "string" && typeof value !== "number") return "a string";
  return null;
}

function refuse(view: ViewInfo, column: string, value: unknown, want: string, where: string): never {
  throw new MeshError(
    "MESH_BAD_QUERY",
    `column "${column}" of view ${view.name} is ${want}; ${where} ${JSON.stringify(value)} is not`,
    { column, value: typeof value === "string" ? value : JSON.stringify(value) },
  );
}

/** Every filter value must be of its column's type. */
export function checkQueryValues(view: ViewInfo, query: RowQuery): void {
  for (const f of query.filters ?? []) {
    const want = problem(view, f.column, f.value);
    if (want) refuse(view, f.column, f.value, want, `the filter value`);
  }
}

/** Every part of a row key must be of its key column's type. */
export function checkKeyValues(view: ViewInfo, key: unknown[]): void {
  key.forEach((value, i) => {
    const column = view.key[i];
    if (column === undefined) return;
    const want = problem(view, column, value);
    if (want) refuse(view, column, value, want, `the key value`);
  });
}
