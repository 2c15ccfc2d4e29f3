// Connections and catalogue queries: the session settings that make text output exact and stable, type
// facts for pg-types.ts, primary keys, the expansion of configured table names, and the current values of
// a row's columns (the unchanged TOAST values the stream leaves out).
import pg from "pg";
import type { PgTypeInfo } from "./pg-types.ts";
import type { TableMapping } from "./row-mapping.ts";

/**
 * The session settings every connection (replication and normal) uses, so the text of a value is the same in
 * the snapshot and in the stream: UTC instants, ISO dates, ISO-8601 intervals, shortest-exact floats.
 */
export const SESSION_OPTIONS =
  "-c TimeZone=UTC -c DateStyle=ISO -c IntervalStyle=iso_8601 -c extra_float_digits=3 -c bytea_output=hex";

/** Every column comes back as its text: the converters in pg-types.ts are the only parsers. */
const textTypes = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

/**
 * A client that never takes the process down: pg emits 'error' when the server ends a connection (restart,
 * pg_terminate_backend), and an 'error' event without a listener kills Node. `onError` hears of it (a session
 * fails and retries); without one the loss shows at the next query, which rejects.
 */
export function connect(
  url: string,
  extra: Partial<pg.ClientConfig> = {},
  onError?: (err: Error) => void,
): pg.Client {
  const client = new pg.Client({
    connectionString: url,
    options: SESSION_OPTIONS,
    types: textTypes,
    ...extra,
  });
  client.on("error", (err) => onError?.(err));
  return client;
}

export class TypeCatalog {
  private readonly cache = new Map<number, PgTypeInfo>();
  private readonly client: pg.Client;

  constructor(client: pg.Client) {
    this.client = client;
  }

  /** Loads the facts of these types (and their element and domain base types) into the cache. */
  async load(oids: number[]): Promise<void> {
    const todo = [...new Set(oids)].filter((o) => !this.cache.has(o));
    if (todo.length === 0) return;
    const res = await this.client.query<{
      oid: string;
      typname: string;
      typtype: string;
      typelem: string;
      typbasetype: string;
      typcategory: string;
    }>(
      "SELECT oid, typname, typtype, typelem, typbasetype, typcategory FROM pg_type WHERE oid = ANY($1::oid[])",
      [todo],
    );
    const raw = new Map(res.rows.map((r) => [Number(r.oid), r]));
    const follow: number[] = [];
    for (const r of res.rows) {
      if (r.typcategory === "A" && r.typelem !== "0") follow.push(Number(r.typelem));
      if (r.typtype === "d") follow.push(Number(r.typbasetype));
    }
    await this.load(follow);
    for (const oid of todo) {
      const r = raw.get(oid);
      if (!r) {
        this.cache.set(oid, { oid, name: "unknown", kind: "b", elem: null });
        continue;
      }
      if (r.typtype === "d") {
        this.cache.set(oid, this.get(Number(r.typbasetype)));
        continue;
      }
      const isArray = r.typcategory === "A" && r.typelem !== "0";
      this.cache.set(oid, {
        oid,
        name: r.typname,
        kind: r.typtype,
        elem: isArray ? this.get(Number(r.typelem)) : null,
      });
    }
  }

  get(oid: number): PgTypeInfo {
    return this.cache.get(oid) ?? { oid, name: "unknown", kind: "b", elem: null };
  }
}

export async function primaryKey(client: pg.Client, schema: string, table: string): Promise<string[]> {
  const res = await client.query<{ attname: string }>(
    `SELECT a.attname FROM pg_index i
       JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
      WHERE i.indisprimary AND n.nspname = $1 AND c.relname = $2 ORDER BY k.ord`,
    [schema, table],
  );
  return res.rows.map((r) => r.attname);
}

/** `schema.table` entries stay; a bare `schema` (or `schema.*`) expands to its ordinary tables. */
export async function resolveTables(
  client: pg.Client,
  entries: string[],
): Promise<{ schema: string; table: string }[]> {
  const out: { schema: string; table: string }[] = [];
  for (const entry of entries) {
    const [schema = "", table] = splitQualified(entry);
    if (table && table !== "*") {
      out.push({ schema, table });
      continue;
    }
    const res = await client.query<{ relname: string }>(
      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r','p') ORDER BY c.relname`,
      [schema],
    );
    for (const r of res.rows) out.push({ schema, table: r.relname });
  }
  return out;
}

export function splitQualified(entry: string): [string, string | undefined] {
  const dot = entry.indexOf(".");
  return dot < 0 ? [entry, undefined] : [entry.slice(0, dot), entry.slice(dot + 1)];
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function qualifiedIdent(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

export function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** A table's columns as a pgoutput Relation would describe them (for the snapshot, before any stream). */
export async function relationFromCatalog(
  client: pg.Client,
  schema: string,
  table: string,
): Promise<import("./pgoutput.ts").Relation> {
  const res = await client.query<{
    oid: string;
    relreplident: string;
    attname: string;
    atttypid: string;
    atttypmod: string;
    is_key: string;
  }>(
    `SELECT c.oid, c.relreplident, a.attname, a.atttypid, a.atttypmod,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary AND a.attnum = ANY(i.indkey)) AS is_key
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE n.nspname = $1 AND c.relname = $2 ORDER BY a.attnum`,
    [schema, table],
  );
  const first = res.rows[0];
  if (!first) throw new Error(`table ${schema}.${table} does not exist`);
  const ident = { d: "default", n: "nothing", f: "full", i: "index" } as const;
  return {
    oid: Number(first.oid),
    schema,
    name: table,
    replicaIdentity: ident[first.relreplident as keyof typeof ident] ?? "default",
    columns: res.rows.map((r) => ({
      flags: r.is_key === "t" ? 1 : 0,
      name: r.attname,
      typeOid: Number(r.atttypid),
      typeMod: Number(r.atttypmod),
    })),
  };
}

export async function estimatedRows(client: pg.Client, schema: string, table: string): Promise<number> {
  const res = await client.query<{ n: string }>(
    `SELECT GREATEST(c.reltuples, 0)::bigint AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2`,
    [schema, table],
  );
  return Number(res.rows[0]?.n ?? 0);
}

/** Current values (text) of `columns` (positions) of the row with this key (text by position), or null if gone. */
export async function fetchColumns(
  client: pg.Client,
  m: TableMapping,
  keyText: (string | null)[],
  columns: number[],
): Promise<(string | null)[] | null> {
  const cols = columns.map((i) => quoteIdent(m.columnNames[i] as string)).join(", ");
  const where = m.keyIndexes
    .map((i, j) => `${quoteIdent(m.columnNames[i] as string)} = $${j + 1}`)
    .join(" AND ");
  const res = await client.query<(string | null)[]>({
    text: `SELECT ${cols} FROM ${qualifiedIdent(m.schema, m.table)} WHERE ${where}`,
    values: keyText,
    rowMode: "array",
  });
  return res.rows[0] ?? null;
}
