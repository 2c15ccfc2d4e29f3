// The view compiler: SQL text → ViewPlan. Parsing is node-sql-parser's (PostgreSQL dialect); this file
// accepts the subset docs/views.md lists (SELECT expressions FROM t {[INNER|LEFT] JOIN u ON a.x = u.y
// [AND ...]} [WHERE ...] [GROUP BY ... [HAVING ...]], where t and u are tables or other views, plus CREATE
// INDEX ON view(cols)) and refuses everything else with MESH_BAD_SQL naming the construct and its
// line/column. Expressions are compile-expr.ts's, GROUP BY compile-aggregate.ts's. Pure: names resolve
// through the Catalog passed in.
import sqlParser from "node-sql-parser";
import { MeshError } from "../../lib/errors.ts";
import type { KeyKind } from "../keys/encoding.ts";
import { kindOf, type Catalog } from "./catalog.ts";
import { compileAggregate, hasAggregate } from "./compile-aggregate.ts";
import {
  compilePredicate,
  compileValue,
  figureName,
  type ExprContext,
  type Node,
  type Resolver,
} from "./compile-expr.ts";
import { convertLiteral } from "./compile-literal.ts";
import { bad, locate, locOf, type SqlText } from "./sql-error.ts";
import type { IndexStatement, KeyPart, OutputColumn, Relation, ViewPlan } from "./plan.ts";
import { resolveSource } from "./sources.ts";
import { avroOfType, kindOfType } from "./types.ts";

const parser = new sqlParser.Parser();

function parse(sql: string): Node[] {
  try {
    const options = { database: "postgresql", parseOptions: { includeLocations: true } };
    const ast: unknown = parser.astify(sql, options);
    return (Array.isArray(ast) ? ast : [ast]) as Node[];
  } catch (err) {
    const loc = (err as { location?: { start?: { line: number; column: number } } }).location?.start;
    const where = loc ? ` at line ${loc.line}, column ${loc.column}` : "";
    throw new MeshError("MESH_BAD_SQL", `the SQL does not parse${where}: ${(err as Error).message}`, {
      construct: "syntax",
      ...(loc ? { line: loc.line, column: loc.column } : {}),
    });
  }
}

export interface CompiledStatements {
  view: ViewPlan | null;
  indexes: IndexStatement[];
}

/** Compiles `CREATE VIEW ...` (optionally followed by `CREATE INDEX ON view(col)` statements) or index statements alone. */
export function compileStatements(sql: string, catalog: Catalog): CompiledStatements {
  const text: SqlText = { sql };
  const statements = parse(sql);
  let view: ViewPlan | null = null;
  const indexes: IndexStatement[] = [];
  for (const st of statements) {
    if (st.type === "create" && st.keyword === "view") {
      if (view) throw bad(text, "a second CREATE VIEW in one request", locate(sql, /create\s+view/gi, 1));
      view = compileView(text, st, catalog);
    } else if (st.type === "create" && st.keyword === "index") {
      indexes.push(compileIndex(text, st));
    } else {
      throw bad(
        text,
        `the statement ${typeof st.type === "string" ? st.type.toUpperCase() : "?"} (only CREATE VIEW and CREATE INDEX)`,
        locate(sql, /\S/g),
      );
    }
  }
  if (view) {
    for (const ix of indexes) {
      if (ix.view !== view.name)
        throw bad(
          text,
          `CREATE INDEX on ${ix.view}, which is not the view being created`,
          locate(sql, /create\s+index/gi),
        );
      for (const c of ix.columns) {
        if (!view.columns.some((o) => o.name === c))
          throw bad(
            text,
            `index column ${c}, which the view does not have`,
            locate(sql, new RegExp(`\\b${c}\\b`, "g")),
          );
      }
      view.indexes.push(ix.columns);
    }
  }
  return { view, indexes };
}

export function compileViewSql(sql: string, catalog: Catalog): ViewPlan {
  const { view } = compileStatements(sql, catalog);
  if (!view) throw bad({ sql }, "a statement without CREATE VIEW", locate(sql, /\S/g));
  return view;
}

function compileIndex(text: SqlText, st: Node): IndexStatement {
  const cols = (st.index_columns as Node[] | null) ?? [];
  const where = locate(text.sql, /create\s+index/gi);
  if (st.where || st.index_using || st.include || st.concurrently)
    throw bad(text, "CREATE INDEX options (USING, INCLUDE, WHERE, CONCURRENTLY)", where);
  const table = st.table as Node;
  const columns = cols.map((c) => {
    if (c.type !== "column_ref") throw bad(text, "an index expression (only plain columns)", where);
    return columnName(c);
  });
  if (columns.length === 0) throw bad(text, "CREATE INDEX without columns", where);
  return { view: String(table.table), columns };
}

export function columnName(ref: Node): string {
  const col = ref.column;
  if (typeof col === "string") return col;
  const expr = (col as Node).expr as Node;
  return String(expr.value);
}

function tableQualifier(ref: Node): string | null {
  const t = ref.table;
  if (t === null || t === undefined) return null;
  if (typeof t === "string") return t;
  return String((t as Node).value);
}

function joinType(text: SqlText, from: Node): "inner" | "left" {
  const j = String(from.join).toUpperCase();
  if (j === "INNER JOIN" || j === "JOIN") return "inner";
  if (j === "LEFT JOIN" || j === "LEFT OUTER JOIN") return "left";
  throw bad(
    text,
    `${j} (only [INNER] JOIN and LEFT [OUTER] JOIN)`,
    locate(text.sql, new RegExp(j.replace(/ /g, "\\s+(outer\\s+)?"), "gi")),
  );
}

function refuseClauses(text: SqlText, create: Node, select: Node): void {
  const sql = text.sql;
  if (create.replace) throw bad(text, "OR REPLACE (drop the view first)", locate(sql, /or\s+replace/gi));
  if (create.temporary) throw bad(text, "TEMPORARY views", locate(sql, /temp(orary)?/gi));
  if (create.columns)
    throw bad(text, "a column list after the view name (use AS aliases)", locate(sql, /\(/g));
  if (create.with || select.with)
    throw bad(text, "WITH (common table expressions)", locate(sql, /\bwith\b/gi));
  if ((select.distinct as Node | null)?.type)
    throw bad(text, "DISTINCT (write GROUP BY)", locate(sql, /\bdistinct\b/gi));
  if (select.orderby) throw bad(text, "ORDER BY (order at query time)", locate(sql, /order\s+by/gi));
  if (((select.limit as Node | null)?.value as unknown[] | undefined)?.length)
    throw bad(text, "LIMIT", locate(sql, /\blimit\b/gi));
  if (select.window) throw bad(text, "WINDOW", locate(sql, /\bwindow\b/gi));
  if (select._next || select.set_op)
    throw bad(text, "UNION/INTERSECT/EXCEPT", locate(sql, /\b(union|intersect|except)\b/gi));
}

function compileView(text: SqlText, create: Node, catalog: Catalog): ViewPlan {
  const select = create.select as Node;
  const name = String((create.view as Node).view);
  refuseClauses(text, create, select);
  const fromList = (select.from as Node[] | null) ?? [];
  if (fromList.length === 0) throw bad(text, "a SELECT without FROM", locate(text.sql, /\bselect\b/gi));

  const relations: Relation[] = [];
  const needed: Set<string>[] = [];
  const resolver: Resolver = {
    resolve(ref, upTo) {
      const column = columnName(ref);
      const qualifier = tableQualifier(ref);
      const candidates = relations
        .slice(0, upTo)
        .flatMap((r, i) =>
          (qualifier === null || r.alias === qualifier) && r.table.columns.some((c) => c.name === column)
            ? [i]
            : [],
        );
      const at = locate(
        text.sql,
        new RegExp(`\\b${qualifier ? `${qualifier}\\s*\\.\\s*` : ""}"?${column}\\b`, "g"),
      );
      if (candidates.length === 0)
        throw bad(
          text,
          `the column ${qualifier ? `${qualifier}.` : ""}${column}, which no table in scope has`,
          at,
        );
      if (candidates.length > 1)
        throw bad(text, `the column ${column}, which is ambiguous (qualify it with a table alias)`, at);
      const rel = candidates[0] as number;
      needed[rel]?.add(column);
      const relation = relations[rel] as Relation;
      const type = relation.table.columns.find((c) => c.name === column)?.type ?? "string";
      return { rel, column, kind: relation.kinds[column] ?? "any", type };
    },
  };
  const stages: ViewPlan[] = [];

  fromList.forEach((from, i) => {
    if (from.expr || !from.table)
      throw bad(text, "a subquery or expression in FROM", locOf(from) ?? locate(text.sql, /\(\s*select/gi));
    if (i === 0 && from.join) throw bad(text, "a join without a left table", locate(text.sql, /\bjoin\b/gi));
    if (i > 0 && !from.join)
      throw bad(text, "a comma join (FROM a, b); write JOIN ... ON", locate(text.sql, /,/g));
    if (from.using) throw bad(text, "JOIN ... USING (write ON a.x = b.x)", locate(text.sql, /\busing\b/gi));
    const table = resolveSource(text, from, catalog, stages);
    const alias = typeof from.as === "string" && from.as !== "" ? from.as : table.table;
    if (relations.some((r) => r.alias === alias))
      throw bad(
        text,
        `the alias ${alias}, used twice (give each table its own alias)`,
        locate(text.sql, new RegExp(`\\b${alias}\\b`, "g"), 2),
      );
    const kinds: Record<string, KeyKind> = Object.fromEntries(
      table.columns.map((c) => [c.name, kindOf(c.type)]),
    );
    relations.push({
      alias,
      table,
      parent: null,
      join: null,
      parentCols: [],
      childCols: [],
      joinKinds: [],
      manyToOne: false,
      needed: [],
      kinds,
    });
    needed.push(new Set(table.key));
    if (i > 0) compileOn(text, from, i, relations, resolver);
  });

  const ctx: ExprContext = { text, resolver, upTo: relations.length };
  const where = select.where ? compilePredicate(ctx, select.where as Node) : null;
  const joinKey = (columns: OutputColumn[]): KeyPart[] => {
    const key: KeyPart[] = [];
    relations.forEach((r, i) => {
      if (i > 0 && r.manyToOne) return;
      for (const col of r.table.key) {
        const out = columns.find((c) => c.rel === i && c.column === col);
        const type = r.table.columns.find((c) => c.name === col)?.type ?? "string";
        key.push({
          name: out?.name ?? `${r.alias}.${col}`,
          rel: i,
          column: col,
          type,
          kind: r.kinds[col] ?? "any",
        });
      }
    });
    return key;
  };
  let plan: ViewPlan;
  if (select.groupby || select.having || hasAggregate(select.columns)) {
    plan = compileAggregate({ text, name, select, relations, resolver, where, stages, joinKey });
  } else {
    const columns = compileColumns(ctx, select, relations, resolver);
    plan = {
      name,
      sql: text.sql,
      relations,
      columns,
      key: joinKey(columns),
      where,
      indexes: [],
      ...(stages.length > 0 ? { stages } : {}),
    };
  }
  relations.forEach((r, i) => {
    r.needed = [...(needed[i] ?? [])].filter((c) => r.table.columns.some((tc) => tc.name === c));
  });
  return plan;
}

function compileOn(text: SqlText, from: Node, j: number, relations: Relation[], resolver: Resolver): void {
  const rel = relations[j] as Relation;
  rel.join = joinType(text, from);
  const on = from.on as Node | null;
  if (!on) throw bad(text, "a JOIN without ON", locate(text.sql, /\bjoin\b/gi, j));
  const conjuncts: Node[] = [];
  const flatten = (n: Node): void => {
    if (n.type === "binary_expr" && n.operator === "AND") {
      flatten(n.left as Node);
      flatten(n.right as Node);
    } else conjuncts.push(n);
  };
  flatten(on);
  for (const c of conjuncts) {
    const at = locOf(c) ?? locate(text.sql, /\bon\b/gi, j);
    if (
      c.type !== "binary_expr" ||
      c.operator !== "=" ||
      (c.left as Node).type !== "column_ref" ||
      (c.right as Node).type !== "column_ref"
    ) {
      throw bad(text, `the ON condition ${String(c.operator ?? c.type)} (only column = column, AND-ed)`, at);
    }
    const a = resolver.resolve(c.left as Node, j + 1);
    const b = resolver.resolve(c.right as Node, j + 1);
    const [mine, other] = a.rel === j ? [a, b] : [b, a];
    if (mine.rel !== j || other.rel === j)
      throw bad(text, `an ON equality that does not link ${rel.alias} to an earlier table`, at);
    if (rel.parent !== null && rel.parent !== other.rel) {
      throw bad(
        text,
        `an ON clause linking ${rel.alias} to two earlier tables (join each table to one earlier table)`,
        at,
      );
    }
    const numeric = (k: KeyKind): boolean => k === "number" || k === "decimal";
    const compatible =
      (numeric(mine.kind) && numeric(other.kind)) || (mine.kind === other.kind && mine.kind !== "any");
    if (!compatible)
      throw bad(
        text,
        `a join of ${mine.kind} column ${mine.column} with ${other.kind} column ${other.column}`,
        at,
      );
    rel.parent = other.rel;
    rel.childCols.push(mine.column);
    rel.parentCols.push(other.column);
    rel.joinKinds.push(numeric(mine.kind) ? "decimal" : mine.kind);
  }
  rel.manyToOne = rel.table.key.length > 0 && rel.table.key.every((k) => rel.childCols.includes(k));
}

/** The select list: plain columns (and `*`) stay references, anything else is a computed column. */
function compileColumns(
  ctx: ExprContext,
  select: Node,
  relations: Relation[],
  resolver: Resolver,
): OutputColumn[] {
  const text = ctx.text;
  const out: OutputColumn[] = [];
  const unique = (name: string): void => {
    if (out.some((o) => o.name === name))
      throw bad(
        text,
        `the output column ${name}, specified more than once (use AS)`,
        locate(text.sql, new RegExp(`\\b${name.replace(/\W/g, "")}\\b`, "g")),
      );
  };
  const add = (rel: number, column: string, name: string): void => {
    unique(name);
    const type = (relations[rel] as Relation).table.columns.find((c) => c.name === column)?.type ?? "string";
    out.push({ rel, column, name, type });
  };
  for (const item of (select.columns as Node[] | null) ?? []) {
    const expr = item.expr as Node;
    const alias = typeof item.as === "string" && item.as !== "" ? item.as : null;
    if (expr.type === "column_ref" && columnName(expr) === "*") {
      const qualifier = tableQualifier(expr);
      relations.forEach((r, i) => {
        if (qualifier !== null && r.alias !== qualifier) return;
        for (const c of r.table.columns) {
          if (r.table.hidden?.includes(c.name)) continue;
          resolver.resolve({ type: "column_ref", table: r.alias, column: c.name }, relations.length);
          add(i, c.name, c.name);
        }
      });
      continue;
    }
    if (expr.type === "column_ref") {
      const ref = resolver.resolve(expr, relations.length);
      add(ref.rel, ref.column, alias ?? ref.column);
      continue;
    }
    let v = compileValue(ctx, expr);
    if (v.type.t === "unknown" || v.type.t === "null") v = convertLiteral(ctx, v, { t: "string" }, expr);
    const name = alias ?? figureName(expr, v.type.t);
    unique(name);
    out.push({ name, rel: -1, column: "", type: avroOfType(v.type), expr: v.e, kind: kindOfType(v.type) });
  }
  return out;
}
