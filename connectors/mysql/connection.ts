// Connections to the source server: the options every connection of the backend uses (derived from the
// source URL), and opening one with an 'error' listener attached before anything can fail, so a dropped
// connection is reported to its owner and never kills the process. Values come back as the converters in
// mysql-types.ts expect them: temporal values as the server's text in UTC, big integers and decimals as
// exact strings, JSON as text. MySQL 8's caching_sha2_password is mysql2's own (over plain TCP it fetches
// the server's RSA key: `?ssl=...` or `allowPublicKeyRetrieval` as MySQL's own clients).
import mysql from "mysql2/promise";
import { MeshError } from "../../lib/errors.ts";

export interface SourceUrl {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** `?ssl=true` / `sslmode=required|verify_ca|verify_identity`: TLS (verified unless `required`). */
  ssl: { rejectUnauthorized: boolean } | null;
}

export function parseSourceUrl(url: string): SourceUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new MeshError(
      "MESH_BAD_REQUEST",
      "the source url is not a URL; expected mysql://user:password@host:3306/db",
    );
  }
  if (u.protocol !== "mysql:" && u.protocol !== "mariadb:")
    throw new MeshError("MESH_BAD_REQUEST", `a mysql source url starts with mysql:// (got ${u.protocol}//)`);
  const mode = (u.searchParams.get("sslmode") ?? u.searchParams.get("ssl-mode") ?? "").toLowerCase();
  const sslFlag = (u.searchParams.get("ssl") ?? "").toLowerCase();
  let ssl: SourceUrl["ssl"] = null;
  if (mode === "required" || mode === "require") ssl = { rejectUnauthorized: false };
  else if (mode === "verify_ca" || mode === "verify_identity" || sslFlag === "true" || sslFlag === "1")
    ssl = { rejectUnauthorized: true };
  return {
    host: u.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1",
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, "")),
    ssl,
  };
}

/** mysql2 options for `url`: exact values (see the header), UTC, utf8mb4. */
export function connectionOptions(url: string): mysql.ConnectionOptions {
  const s = parseSourceUrl(url);
  return {
    host: s.host,
    port: s.port,
    user: s.user,
    password: s.password,
    ...(s.database ? { database: s.database } : {}),
    ...(s.ssl ? { ssl: s.ssl } : {}),
    charset: "utf8mb4_general_ci",
    timezone: "Z",
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    jsonStrings: true,
    connectTimeout: 10_000,
  };
}

/** How a failed connect reads to the operator: auth problems are not retried, the rest is. */
export function connectError(err: unknown, what: string): MeshError {
  const e = err as { code?: string; errno?: number; message?: string };
  // ER_ACCESS_DENIED_ERROR, ER_DBACCESS_DENIED_ERROR, ER_BAD_DB_ERROR (an unknown database is fatal too).
  if (e.errno === 1045 || e.errno === 1044)
    return new MeshError(
      "MESH_SOURCE_AUTH",
      `${what}: ${e.message ?? "access denied"}`,
      { code: e.code },
      { cause: err },
    );
  if (e.errno === 1049)
    return new MeshError(
      "MESH_SOURCE_PREREQUISITE",
      `${what}: ${e.message ?? "unknown database"}`,
      { code: e.code },
      { cause: err },
    );
  return new MeshError(
    "MESH_SOURCE_UNREACHABLE",
    `${what}: ${e.message ?? String(err)}`,
    { code: e.code },
    { cause: err },
  );
}

/**
 * Opens a connection with its 'error' listener in place; `onLost` hears of a connection that drops later.
 * The session runs in UTC, so TIMESTAMP values read as UTC text.
 */
export async function openConnection(
  url: string,
  onLost: (err: Error) => void = () => undefined,
): Promise<mysql.Connection> {
  let conn: mysql.Connection;
  try {
    conn = await mysql.createConnection(connectionOptions(url));
  } catch (err) {
    throw connectError(err, "cannot connect to the source");
  }
  conn.on("error", (err: Error) => onLost(err));
  try {
    await conn.query("SET time_zone = '+00:00'");
  } catch (err) {
    conn.destroy();
    throw connectError(err, "cannot set up the source connection");
  }
  return conn;
}

/** Closes a connection whatever its state. */
export async function closeQuietly(conn: mysql.Connection | null | undefined): Promise<void> {
  if (!conn) return;
  try {
    await conn.end();
  } catch {
    conn.destroy();
  }
}

/** A MySQL/MariaDB error number, if `err` is one. */
export function errno(err: unknown): number | null {
  const n = (err as { errno?: unknown } | null)?.errno;
  return typeof n === "number" ? n : null;
}
