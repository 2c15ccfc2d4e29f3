// Table identity for ownership (data boundaries): a table is the same table whoever names it, so the
// identity is the database server + database + qualified table, never the credentials or the source name.
import { MeshError } from "../../lib/errors.ts";
import type { SourceKind } from "../../protocol/catalog.ts";

export type { SourceKind };

const defaultPorts: Record<SourceKind, number> = { postgres: 5432, mysql: 3306 };
const schemes: Record<SourceKind, string[]> = {
  postgres: ["postgres:", "postgresql:"],
  mysql: ["mysql:", "mariadb:"],
};

export interface ParsedSourceUrl {
  host: string;
  port: number;
  database: string;
}

export function parseSourceUrl(kind: SourceKind, url: string): ParsedSourceUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MeshError(
      "MESH_BAD_REQUEST",
      `"url" is not a URL; expected ${kind}://user:password@host:port/database`,
      {
        field: "url",
      },
    );
  }
  if (!schemes[kind].includes(parsed.protocol)) {
    throw new MeshError(
      "MESH_BAD_REQUEST",
      `"url" must start with ${schemes[kind][0]}// for a ${kind} source (got ${parsed.protocol}//)`,
      { field: "url" },
    );
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ""));
  if (!database) {
    throw new MeshError(
      "MESH_BAD_REQUEST",
      `"url" names no database; add it as the path: ${kind}://host:port/<database>`,
      {
        field: "url",
      },
    );
  }
  // localhost and 127.0.0.1 are the same server: one table must not get two owners through an alias.
  const host = parsed.hostname.toLowerCase() === "localhost" ? "127.0.0.1" : parsed.hostname.toLowerCase();
  return { host, port: parsed.port ? Number(parsed.port) : defaultPorts[kind], database };
}

/**
 * Qualifies a table as the connector will: Postgres `schema.table` (default schema `public`), MySQL
 * `db.table` (default: the URL's database).
 */
export function qualifyTable(kind: SourceKind, database: string, table: string): string {
  const parts = table.split(".");
  if (parts.length > 2 || parts.some((p) => p.length === 0)) {
    throw new MeshError("MESH_BAD_REQUEST", `table "${table}" must be "<schema>.<table>" or "<table>"`, {
      field: "tables",
    });
  }
  if (parts.length === 2) return table;
  return kind === "postgres" ? `public.${table}` : `${database}.${table}`;
}

/** `postgres://127.0.0.1:5432/orders/public.orders`: what ownership is keyed on. */
export function tableIdentity(kind: SourceKind, url: ParsedSourceUrl, qualifiedTable: string): string {
  const db = kind === "postgres" ? `/${url.database}` : "";
  return `${kind}://${url.host}:${url.port}${db}/${qualifiedTable}`;
}

/** The URL without its password, safe to return and log. */
export function publicUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = "";
    for (const key of [...parsed.searchParams.keys()]) {
      if (/pass|secret|token|key/i.test(key)) parsed.searchParams.set(key, "***");
    }
    return parsed.toString();
  } catch {
    return "<invalid url>";
  }
}
