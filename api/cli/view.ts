// `mesh view create|list|show|query|rm|changes|parked|retry|skip`: views over the HTTP API.
import { readFileSync } from "node:fs";
import {
  apiUrl,
  call,
  CliExit,
  exit,
  flag,
  has,
  parseArgs,
  printJson,
  printTable,
  runCommand,
  sleep,
} from "./client.ts";

const usage = `usage: mesh view <command> [--api URL] [--json]

  create "CREATE VIEW v AS SELECT ..." | --file view.sql [--wait]   declare; --wait shows backfill progress
  list                                       every view with its state and rows
  show NAME                                  SQL, key, status
  query NAME [col=v] [col[gte]=x]... [--order col|-col] [--limit N] [--cursor C] [--all]
             [--key v | --key '["a",1]']     rows (filters as col=value, ops eq gt gte lt lte)
  rm NAME                                    drop the view
  parked NAME                                records the view could not apply, with the reason
  retry NAME --topic T --key K               re-read a parked key's records (after fixing the cause)
  skip NAME --topic T --key K                drop a parked key's oldest record; the ones behind it follow`;

interface View {
  name: string;
  sql: string;
  key: string[];
  columns: string[];
  status: {
    state: string;
    error: string | null;
    progress: number | null;
    rows: number;
    lagMs: number | null;
    parked: { topic: string; partition: number; offset: string; key: string; reason: string }[];
    parkedCount: number;
    waitingFor?: { schemas: string[]; topics: string[] };
  };
}

export async function run(args: string[]): Promise<number> {
  let p;
  try {
    p = parseArgs(
      args,
      ["json", "wait", "all", "help"],
      ["api", "file", "order", "limit", "cursor", "key", "topic"],
    );
  } catch (err) {
    console.error((err as Error).message);
    return exit.usage;
  }
  const json = has(p, "json");
  const [verb, arg, ...rest] = p.positional;
  if (!verb || has(p, "help")) {
    console.error(usage);
    return verb || has(p, "help") ? exit.ok : exit.usage;
  }
  const base = apiUrl(p, process.env);
  return runCommand(json, async () => {
    const needName = (): string => {
      if (!arg) throw new CliExit(exit.usage, `mesh view ${verb} needs a view name\n\n${usage}`);
      return encodeURIComponent(arg);
    };
    switch (verb) {
      case "create": {
        const file = flag(p, "file");
        const sql = file ? readFileSync(file, "utf8") : [arg, ...rest].filter(Boolean).join(" ");
        if (!sql.trim()) throw new CliExit(exit.usage, `give the SQL or --file\n\n${usage}`);
        let view = await call<View>(base, "POST", "/v1/views", { sql });
        if (has(p, "wait")) view = await waitReady(base, view, json);
        if (json) printJson(view);
        else
          console.log(
            `created view ${view.name} (key ${view.key.join(", ") || "-"}): ${view.status.state}, ${view.status.rows} rows`,
          );
        return view.status.state === "failed" ? exit.failed : exit.ok;
      }
      case "list": {
        const { views } = await call<{ views: View[] }>(base, "GET", "/v1/views");
        if (json) printJson(views);
        else
          printTable(
            ["NAME", "STATE", "ROWS", "LAG(ms)", "KEY"],
            views.map((v) => [v.name, v.status.state, v.status.rows, v.status.lagMs, v.key.join(",")]),
          );
        return exit.ok;
      }
      case "show": {
        const view = await call<View>(base, "GET", `/v1/views/${needName()}`);
        if (json) printJson(view);
        else {
          console.log(
            `name     ${view.name}\nkey      ${view.key.join(", ")}\nstate    ${view.status.state}${view.status.error ? ` — ${view.status.error}` : ""}`,
          );
          console.log(
            `rows     ${view.status.rows}\nlag      ${view.status.lagMs ?? "-"} ms\nparked   ${view.status.parkedCount}\nsql      ${view.sql}`,
          );
        }
        return exit.ok;
      }
      case "parked": {
        const view = await call<View>(base, "GET", `/v1/views/${needName()}`);
        if (json) printJson(view.status.parked);
        else {
          printTable(
            ["TOPIC", "PARTITION", "OFFSET", "KEY", "REASON"],
            view.status.parked.map((r) => [r.topic, r.partition, r.offset, r.key, r.reason]),
          );
          if (view.status.parkedCount > view.status.parked.length)
            console.log(`(${view.status.parked.length} of ${view.status.parkedCount} shown)`);
        }
        return exit.ok;
      }
      case "retry":
      case "skip": {
        const name = needName();
        const topic = flag(p, "topic");
        const key = flag(p, "key");
        if (!topic || !key)
          throw new CliExit(exit.usage, `mesh view ${verb} needs --topic and --key (see mesh view parked)`);
        const out = await call<{ applied: number; stillParked: number }>(
          base,
          "POST",
          `/v1/views/${name}/parked/${verb}`,
          { topic, key },
        );
        if (json) printJson(out);
        else console.log(`${out.applied} applied, ${out.stillParked} still parked`);
        return exit.ok;
      }
      case "query": {
        const name = needName();
        const key = flag(p, "key");
        if (key !== undefined) {
          const row = await call<Record<string, unknown>>(
            base,
            "GET",
            `/v1/views/${name}/rows/${encodeURIComponent(key)}`,
          );
          if (json) printJson(row);
          else printRows([row]);
          return exit.ok;
        }
        const params = new URLSearchParams();
        for (const filter of rest) {
          const eq = filter.indexOf("=");
          if (eq <= 0)
            throw new CliExit(exit.usage, `filter "${filter}" is not col=value or col[op]=value\n\n${usage}`);
          params.append(filter.slice(0, eq), filter.slice(eq + 1));
        }
        for (const f of ["order", "limit", "cursor"]) {
          const v = flag(p, f);
          if (v !== undefined) params.set(f, v);
        }
        const rows: Record<string, unknown>[] = [];
        let next: string | null = null;
        do {
          if (next) params.set("cursor", next);
          const page: { rows: Record<string, unknown>[]; next: string | null } = await call(
            base,
            "GET",
            `/v1/views/${name}/rows?${params.toString()}`,
          );
          rows.push(...page.rows);
          next = page.next;
        } while (next && has(p, "all"));
        if (json) printJson(has(p, "all") ? { rows, next: null } : { rows, next });
        else {
          printRows(rows);
          if (next) console.error(`more rows: --cursor ${next}`);
        }
        return exit.ok;
      }
      case "rm": {
        const out = await call<{ deleted: string }>(base, "DELETE", `/v1/views/${needName()}`);
        if (json) printJson(out);
        else console.log(`deleted ${out.deleted}`);
        return exit.ok;
      }
      default:
        throw new CliExit(exit.usage, `unknown command "view ${verb}"\n\n${usage}`);
    }
  });
}

async function waitReady(base: string, first: View, json: boolean): Promise<View> {
  let view = first;
  let last = "";
  while (view.status.state === "backfilling" || view.status.state === "waiting") {
    const waits = view.status.waitingFor;
    const line =
      view.status.state === "waiting"
        ? `waiting for ${[...(waits?.schemas ?? []).map((t) => `the schema of ${t}`), ...(waits?.topics ?? []).map((t) => `topic ${t}`)].join(", ")}`
        : `backfilling ${view.status.progress === null ? "" : `${Math.round(view.status.progress * 100)}% `}${view.status.rows} rows`;
    if (line !== last && !json) process.stderr.write(`${line}\n`);
    last = line;
    await sleep(500);
    view = await call<View>(base, "GET", `/v1/views/${encodeURIComponent(view.name)}`);
  }
  return view;
}

function printRows(rows: Record<string, unknown>[]): void {
  if (rows.length === 0) {
    console.log("(no rows)");
    return;
  }
  const headers = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  printTable(
    headers,
    rows.map((r) =>
      headers.map((h) =>
        typeof r[h] === "object" && r[h] !== null ? JSON.stringify(r[h]) : (r[h] as string),
      ),
    ),
  );
}
