// The sources a view reads in FROM: tables of the catalog (topics with registered schemas) by
// `source.schema.table`, `schema.table` or a unique bare name, and other views by their bare name (compiled
// in as stages, plan.ts).
import type { Catalog, TableInfo } from "./catalog.ts";
import type { Node } from "./expr-context.ts";
import { VIEW_TOPIC, type ViewPlan } from "./plan.ts";
import { bad, locate, type SqlText } from "./sql-error.ts";

/**
 * A view read in FROM, as a table: its key parts are the table's key, its columns the view's (plus key
 * parts it does not show, hidden from `*`). Its rows reach the reading view as changes of topic
 * `view:<name>` (plan.ts VIEW_TOPIC), from the view's plan compiled in as a stage.
 */
export function viewTable(plan: ViewPlan): TableInfo {
  const columns = plan.columns.map((c) => ({ name: c.name, type: c.type }));
  const hidden = plan.key.filter((k) => !columns.some((c) => c.name === k.name));
  return {
    topic: `${VIEW_TOPIC}${plan.name}`,
    source: "",
    schema: "",
    table: plan.name,
    key: plan.key.map((k) => k.name),
    columns: [...columns, ...hidden.map((k) => ({ name: k.name, type: k.type }))],
    ...(hidden.length > 0 ? { hidden: hidden.map((k) => k.name) } : {}),
  };
}

/** A FROM item: a view of the catalog (a bare name that names one), else a table. */
export function resolveSource(text: SqlText, from: Node, catalog: Catalog, stages: ViewPlan[]): TableInfo {
  const bare = !from.db && !from.schema && typeof from.table === "string";
  const view = bare ? catalog.views?.find((v) => v.name === from.table) : undefined;
  if (!view) return resolveTable(text, from, catalog);
  // The view's own declared indexes are its readers' business, not this view's.
  if (!stages.some((s) => s.name === view.name)) stages.push({ ...view, indexes: [] });
  return viewTable(view);
}

function resolveTable(text: SqlText, from: Node, catalog: Catalog): TableInfo {
  const parts = [from.db, from.schema, from.table].filter(
    (p): p is string => typeof p === "string" && p !== "",
  );
  const name = parts.join(".");
  let matches: TableInfo[];
  if (parts.length === 3) matches = catalog.tables.filter((t) => t.topic === name);
  else if (parts.length === 2)
    matches = catalog.tables.filter(
      (t) => `${t.schema}.${t.table}` === name || `${t.source}.${t.table}` === name,
    );
  else matches = catalog.tables.filter((t) => t.table === name);
  const at = locate(
    text.sql,
    new RegExp(`\\b${(parts.at(-1) ?? "").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\b`, "g"),
  );
  if (matches.length === 0)
    throw bad(text, `the table ${name}, which no registered topic carries (nor a view)`, at, { table: name });
  if (matches.length > 1) {
    throw bad(
      text,
      `the table name ${name}, which is ambiguous (${matches.map((m) => m.topic).join(", ")}); write source.schema.table`,
      at,
      { table: name },
    );
  }
  return matches[0] as TableInfo;
}
