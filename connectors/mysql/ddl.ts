// Recognises the statements of binlog QUERY events that matter to a connector: transaction control
// (BEGIN, COMMIT, ROLLBACK, XA), TRUNCATE, and DDL that changes a table's columns or key (ALTER, CREATE,
// DROP, RENAME TABLE; CREATE/DROP INDEX; DROP DATABASE). It only needs the statement's head and its table
// names, never a full SQL grammar: whatever it names is re-read from information_schema. Pure.

export interface TableName {
  /** The database; the QUERY event's default database when the statement does not qualify the name. */
  db: string;
  table: string;
}

export type Statement =
  | { kind: "begin" }
  | { kind: "commit" }
  | { kind: "rollback" }
  /** XA START/END/PREPARE/COMMIT/ROLLBACK: the rows come with the PREPARE group. */
  | { kind: "xa" }
  | { kind: "truncate"; tables: TableName[] }
  /** Columns or keys of these tables may have changed, or the tables appeared or went away. */
  | { kind: "ddl"; verb: string; tables: TableName[] }
  /** A whole database dropped (its tables are gone). */
  | { kind: "drop-database"; db: string }
  | { kind: "other" };

/** Removes comments: `/* ... *\/` (MySQL's `/*! ... *\/` keep their text), `-- ...`, `# ...` lines. */
export function stripComments(sql: string): string {
  let out = "";
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    if (c === "'" || c === '"' || c === "`") {
      // Quoted text and identifiers are copied whole (a quote doubled inside them is part of the text).
      let j = i + 1;
      while (j < sql.length) {
        if (sql[j] === "\\" && c !== "`") j += 2;
        else if (sql[j] === c && sql[j + 1] === c) j += 2;
        else if (sql[j] === c) break;
        else j++;
      }
      out += sql.slice(i, j + 1);
      i = j + 1;
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      const body = sql.slice(i + 2, end < 0 ? sql.length : end);
      // Executable comments: `/*!50100 PARTITION BY ... */`, `/*M!100100 ... */` run on the server.
      const exec = /^M?!\d*/.exec(body);
      out += exec ? ` ${body.slice(exec[0].length)} ` : " ";
      i = end < 0 ? sql.length : end + 2;
    } else if ((c === "-" && sql[i + 1] === "-" && /\s/.test(sql[i + 2] ?? " ")) || c === "#") {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? sql.length : end + 1;
      out += " ";
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

// An identifier: `back``quoted` or bare; a name: ident or ident.ident.
const IDENT = "(?:`(?:[^`]|``)+`|[A-Za-z0-9_$\\u0080-\\uffff]+)";
const NAME = `${IDENT}(?:\\s*\\.\\s*${IDENT})?`;

function unquote(ident: string): string {
  return ident.startsWith("`") ? ident.slice(1, -1).replace(/``/g, "`") : ident;
}

/** Splits `db`.`t`, db.t, `t` or t (no dot inside backticks is a separator). */
export function parseTableName(text: string, defaultDb: string): TableName {
  const idents = text.trim().match(new RegExp(IDENT, "g")) ?? [];
  if (idents.length >= 2) return { db: unquote(idents[0] as string), table: unquote(idents[1] as string) };
  return { db: defaultDb, table: unquote(idents[0] ?? "") };
}

function names(list: string, defaultDb: string): TableName[] {
  return (list.match(new RegExp(NAME, "g")) ?? []).map((n) => parseTableName(n, defaultDb));
}

const re = (source: string): RegExp => new RegExp(source, "is");

const patterns: { verb: string; re: RegExp; list?: boolean; renames?: boolean }[] = [
  {
    verb: "alter",
    re: re(`^ALTER\\s+(?:ONLINE\\s+|OFFLINE\\s+|IGNORE\\s+)*TABLE\\s+(?:IF\\s+EXISTS\\s+)?(${NAME})(.*)$`),
  },
  {
    verb: "create",
    re: re(`^CREATE\\s+(?:OR\\s+REPLACE\\s+)?TABLE\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?(${NAME})`),
  },
  {
    verb: "drop",
    re: re(`^DROP\\s+TABLES?\\s+(?:IF\\s+EXISTS\\s+)?(${NAME}(?:\\s*,\\s*${NAME})*)`),
    list: true,
  },
  {
    verb: "rename",
    re: re(`^RENAME\\s+TABLES?\\s+(.*)$`),
    renames: true,
  },
  {
    verb: "index",
    re: re(
      `^(?:CREATE|DROP)\\s+(?:OR\\s+REPLACE\\s+)?(?:ONLINE\\s+|OFFLINE\\s+)?(?:UNIQUE\\s+|FULLTEXT\\s+|SPATIAL\\s+)?INDEX\\s+(?:IF\\s+(?:NOT\\s+)?EXISTS\\s+)?${IDENT}\\s+(?:USING\\s+\\w+\\s+)?ON\\s+(${NAME})`,
    ),
  },
];

/** What a QUERY event's statement is, with its tables qualified by `defaultDb` (the event's schema). */
export function recognize(sql: string, defaultDb: string): Statement {
  const s = stripComments(sql).trim().replace(/;\s*$/, "");
  const head = s.slice(0, 24).toUpperCase();
  if (head === "BEGIN" || head.startsWith("START TRANSACTION")) return { kind: "begin" };
  if (head === "COMMIT" || head.startsWith("COMMIT ")) return { kind: "commit" };
  if (head === "ROLLBACK" || head.startsWith("ROLLBACK ")) {
    // ROLLBACK TO SAVEPOINT keeps the transaction open.
    return /^ROLLBACK\s+(?:WORK\s+)?TO\s/i.test(s) ? { kind: "other" } : { kind: "rollback" };
  }
  if (head.startsWith("XA ")) return { kind: "xa" };
  if (/^SAVEPOINT\s|^RELEASE\s+SAVEPOINT\s/i.test(s)) return { kind: "other" };

  const truncate = re(`^TRUNCATE\\s+(?:TABLE\\s+)?(${NAME})`).exec(s);
  if (truncate) return { kind: "truncate", tables: [parseTableName(truncate[1] as string, defaultDb)] };

  // Temporary tables never reach a row-based binlog's rows; their DDL is no concern.
  if (/^(?:CREATE|DROP)\s+(?:OR\s+REPLACE\s+)?TEMPORARY\s/i.test(s)) return { kind: "other" };

  const dropDb = re(`^DROP\\s+(?:DATABASE|SCHEMA)\\s+(?:IF\\s+EXISTS\\s+)?(${IDENT})`).exec(s);
  if (dropDb) return { kind: "drop-database", db: unquote(dropDb[1] as string) };

  for (const p of patterns) {
    const m = p.re.exec(s);
    if (!m) continue;
    if (p.renames) {
      // RENAME TABLE a TO b, c TO d: every name on both sides.
      const tables = (m[1] as string)
        .split(",")
        .flatMap((pair) => pair.split(/\s+TO\s+/i))
        .map((n) => parseTableName(n, defaultDb));
      return { kind: "ddl", verb: p.verb, tables };
    }
    if (p.list) return { kind: "ddl", verb: p.verb, tables: names(m[1] as string, defaultDb) };
    const tables = [parseTableName(m[1] as string, defaultDb)];
    // ALTER TABLE t RENAME [TO|AS] u: the new name too.
    const rest = m[2] ?? "";
    const renamed = re(`(?:^|,)\\s*RENAME\\s+(?:TO\\s+|AS\\s+)?(${NAME})\\s*(?:,|$)`).exec(rest);
    if (p.verb === "alter" && renamed) tables.push(parseTableName(renamed[1] as string, defaultDb));
    return { kind: "ddl", verb: p.verb, tables };
  }
  return { kind: "other" };
}
