// What every client command shares: flag parsing, the API's address, HTTP calls that turn failures into
// the documented exit codes (0 ok, 1 the server refused or failed, 2 usage, 3 the API is unreachable),
// and output as text or --json.
export const exit = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

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
      ...(body !== undefined
        ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } }
        : {}),
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

export class ApiFailure extends CliExit {
  readonly status: number;
  readonly error: ApiError;
  constructor(status: number, error: ApiError) {
    super(exit.failed, `${error.code ?? status}: ${error.message ?? "request failed"}`);
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
