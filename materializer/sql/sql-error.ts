// MESH_BAD_SQL errors that name the refused construct and where it is (line and column, 1-based).
import { MeshError } from "../../lib/errors.ts";

export interface SqlText {
  sql: string;
}

export interface Position {
  line: number;
  column: number;
}

/** The position of a parsed node, when node-sql-parser recorded one (binary expressions). */
export function locOf(node: { loc?: unknown }): Position | null {
  const start = (node.loc as { start?: Position } | undefined)?.start;
  return start ? { line: start.line, column: start.column } : null;
}

/** The position of the n-th (1-based) match of `re` (a /g regex) in the SQL, for nodes without locations. */
export function locate(sql: string, re: RegExp, nth = 1): Position | null {
  let m: RegExpExecArray | null = null;
  re.lastIndex = 0;
  for (let i = 0; i < nth; i++) {
    const next = re.exec(sql);
    if (!next) break;
    m = next;
  }
  if (!m) return null;
  const before = sql.slice(0, m.index).split("\n");
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}

export function bad(
  _text: SqlText,
  construct: string,
  at: Position | null,
  details: Record<string, unknown> = {},
): MeshError {
  const where = at ? ` at line ${at.line}, column ${at.column}` : "";
  return new MeshError(
    "MESH_BAD_SQL",
    `views do not support ${construct}${where}; docs/views.md lists the SQL a view may use`,
    { construct, ...(at ?? {}), ...details },
  );
}
