// What every client command shares: flag parsing, the API's address and token, HTTP calls that turn
// failures into the documented exit codes (0 ok, 1 the server refused or failed, 2 usage, 3 the API is
// unreachable, 4 the token was refused: 401 no or an invalid token, 403 not allowed), and output as text
// or --json.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export const exit = { ok: 0, failed: 1, usage: 2, unreachable: 3, denied: 4 } as const;

/** Where `mesh login` keeps the token: $XDG_CONFIG_HOME/datamesh/token, or ~/.config/datamesh/token. */
export function tokenFile(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  return join(base, "datamesh", "token");
}

/** The token client commands send: MESH_TOKEN, else the one `mesh login` stored, else none. */
export function cliToken(env: NodeJS.ProcessEnv): string | undefined {
  if (env.MESH_TOKEN) return env.MESH_TOKEN;
  try {
    return readFileSync(tokenFile(env), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

// The CLI is a main: its token is read once, from the environment or the login file.
let token: string | undefined | null = null;

/** Sends `value` from now on (`mesh login` checks a token before storing it). */
export function setToken(value: string): void {
  token = value;
}

/** The `Authorization` header of every call (none when there is no token: the API then says 401). */
export function authHeader(): Record<string, string> {
  if (token === null) token = cliToken(process.env);
  return token ? { authorization: `Bearer ${token}` } : {};
}

export class CliExit extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

export interface Parsed {
  positional: string[];
  flags: Map<string, string[]>;
}

/**
 * `--flag value`, `--flag=value`, repeated flags; `booleans` never take a value. With `valued` (the flags that
 * take one), any other flag is a usage error: a misspelt option must not be silently ignored.
 */
export function parseArgs(args: string[], booleans: string[] = [], valued?: string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string[]>();
  const add = (k: string, v: string): void => void flags.set(k, [...(flags.get(k) ?? []), v]);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--") || arg === "--") {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (valued && !booleans.includes(name) && !valued.includes(name)) {
      const known = [...valued, ...booleans].map((f) => `--${f}`).join(", ");
      throw new CliExit(exit.usage, `unknown option --${name}; this command takes ${known}`);
    }
    if (eq > 0) add(name, arg.slice(eq + 1));
    else if (booleans.includes(name)) add(name, "true");
    else {
      const value = args[i + 1];
      if (value === undefined || value.startsWith("--"))
        throw new CliExit(exit.usage, `--${name} needs a value`);
      add(name, value);
      i++;
    }
  }
  return { positional, flags };
}

export function flag(p: Parsed, name: string): string | undefined {
  return p.flags.get(name)?.at(-1);
}

export function has(p: Parsed, name: string): boolean {
  return p.flags.has(name);
}

export function required(p: Parsed, name: string, usage: string): string {
  const v = flag(p, name);
  if (v === undefined) throw new CliExit(exit.usage, `--${name} is required\n\n${usage}`);
  return v;
}

/** The API's address: --api, else MESH_API_URL (read by each command's run(), its main), else :8080. */
export function apiUrl(p: Parsed, env: NodeJS.ProcessEnv): string {
  return (flag(p, "api") ?? env.MESH_API_URL ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
}

export interface ApiError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export async function call<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: { ...authHeader(), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new CliExit(
      exit.unreachable,
      `the datamesh API at ${base} is unreachable (${cause?.code ?? cause?.message ?? (err as Error).message}); is \`mesh up\` or \`mesh api\` running? (--api or MESH_API_URL set the address)`,
    );
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = { code: "MESH_INTERNAL", message: text };
  }
  if (!res.ok) {
    const e = parsed as ApiError;
    throw new ApiFailure(res.status, e);
  }
  return parsed as T;
}

/** What to do about a refused token, after the API's own message. */
function deniedHint(status: number): string {
  if (status === 401)
    return "\nset MESH_TOKEN, or run `mesh login` (the admin token of `mesh up` is in .mesh/admin-token)";
  return "\nthis token's service may not do this: ask an admin for a token with the scope, or the owner for access";
}

export class ApiFailure extends CliExit {
  readonly status: number;
  readonly error: ApiError;
  constructor(status: number, error: ApiError) {
    const denied = status === 401 || status === 403;
    super(
      denied ? exit.denied : exit.failed,
      `${error.code ?? status}: ${error.message ?? "request failed"}${denied ? deniedHint(status) : ""}`,
    );
    this.status = status;
    this.error = error;
  }
}

/** Runs a command body, printing errors (as JSON with --json) and returning the exit code. */
export async function runCommand(json: boolean, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof ApiFailure) {
      if (json) console.log(JSON.stringify({ error: err.error, status: err.status }, null, 2));
      else console.error(`error ${err.message}`);
      return err.code;
    }
    if (err instanceof CliExit) {
      if (json && err.code !== exit.usage)
        console.log(JSON.stringify({ error: { code: "CLI", message: err.message } }, null, 2));
      else console.error(err.message);
      return err.code;
    }
    console.error(`mesh: ${(err as Error).stack ?? String(err)}`);
    return exit.failed;
  }
}

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

/** A plain table: one line per row, columns padded. */
export function printTable(headers: string[], rows: (string | number | null | undefined)[][]): void {
  const cells = [
    headers,
    ...rows.map((r) => r.map((c) => (c === null || c === undefined ? "-" : String(c)))),
  ];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  for (const r of cells)
    console.log(r.map((c, i) => (i === r.length - 1 ? c : (c ?? "").padEnd(widths[i]!))).join("  "));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
