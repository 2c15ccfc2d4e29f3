// `mesh source add|list|show|rm|pause|resume|snapshot`: sources over the HTTP API.
import { checkSourceName } from "../../protocol/topics.ts";
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
  required,
  runCommand,
  sleep,
} from "./client.ts";

const usage = `usage: mesh source <command> [--api URL] [--json]

  add --name N [--owner SERVICE] --kind postgres|mysql --url URL --table T [--table T...]
      [--snapshot initial|never] [--partitions 3] [--delivery at-least-once|exactly-once] [--wait]
      [--outbox-table T...] [--outbox-prefix P] [--untyped-events park|json]
                                        register; --wait shows snapshot progress until streaming;
                                        --outbox-*: domain events to <owner>.<aggregatetype> (mesh events)
  list                                  every source with its state
  show NAME                             definition, status, lag, offset
  pause NAME | resume NAME              stop/continue reading the source log
  snapshot NAME [--table T...] [--wait] re-snapshot tables (default: all) while streaming continues;
                                        --wait shows progress until every re-snapshot row is in Kafka
  rm NAME [--drop-slot]                 stop capturing; --drop-slot also removes the slot/publication`;

interface Source {
  name: string;
  owner: string;
  kind: string;
  url: string;
  tables: string[];
  topics: string[];
  outbox: { tables: string[]; messagePrefix: string | null; untyped: string; topics: string[] } | null;
  paused: boolean;
  status: {
    state: string;
    error: { code: string; message: string } | null;
    progress: { phase: string; rowsDone: number; rowsEstimated: number; table: string | null } | null;
    lagBytes: number | null;
    lagSeconds: number | null;
    offset: string | null;
    events: Record<string, number>;
    outbox?: Record<string, { published: number; parked: number }>;
    resnapshot?: { pending: string[] } | null;
  };
}

export async function run(args: string[]): Promise<number> {
  let p;
  try {
    p = parseArgs(
      args,
      ["json", "wait", "drop-slot", "help"],
      [
        "api",
        "name",
        "owner",
        "kind",
        "url",
        "table",
        "snapshot",
        "partitions",
        "delivery",
        "outbox-table",
        "outbox-prefix",
        "untyped-events",
      ],
    );
  } catch (err) {
    console.error((err as Error).message);
    return exit.usage;
  }
  const json = has(p, "json");
  const [verb, name] = p.positional;
  if (!verb || has(p, "help")) {
    console.error(usage);
    return verb || has(p, "help") ? exit.ok : exit.usage;
  }
  const base = apiUrl(p, process.env);
  return runCommand(json, async () => {
    const needName = (): string => {
      if (!name) throw new CliExit(exit.usage, `mesh source ${verb} needs a source name\n\n${usage}`);
      return encodeURIComponent(name);
    };
    switch (verb) {
      case "add": {
        // Checked here too, so a bad name is a usage error before anything is sent.
        const topicPrefix = (option: "name" | "owner"): string => {
          try {
            return checkSourceName(required(p, option, usage), `--${option}`);
          } catch (err) {
            if (err instanceof CliExit) throw err;
            throw new CliExit(exit.usage, `${(err as Error).message}\n\n${usage}`);
          }
        };
        const body: Record<string, unknown> = {
          name: topicPrefix("name"),
          // A service token's source is its own service's; the admin names the owner.
          ...(flag(p, "owner") !== undefined ? { owner: topicPrefix("owner") } : {}),
          kind: flag(p, "kind") ?? "postgres",
          url: required(p, "url", usage),
          tables: p.flags.get("table") ?? [],
        };
        if ((body.tables as string[]).length === 0)
          throw new CliExit(exit.usage, `at least one --table is required\n\n${usage}`);
        const snapshot = flag(p, "snapshot");
        if (snapshot) body.snapshot = snapshot;
        const partitions = flag(p, "partitions");
        if (partitions) body.partitions = Number(partitions);
        const delivery = flag(p, "delivery");
        if (delivery) body.delivery = delivery;
        const outboxTables = p.flags.get("outbox-table");
        const outboxPrefix = flag(p, "outbox-prefix");
        const untyped = flag(p, "untyped-events");
        if (outboxTables || outboxPrefix)
          body.outbox = {
            ...(outboxTables ? { tables: outboxTables } : {}),
            ...(outboxPrefix ? { messagePrefix: outboxPrefix } : {}),
            ...(untyped ? { untyped } : {}),
          };
        else if (untyped)
          throw new CliExit(exit.usage, `--untyped-events needs --outbox-table or --outbox-prefix`);
        let source = await call<Source>(base, "POST", "/v1/sources", body);
        if (has(p, "wait")) source = await waitStreaming(base, source, json);
        if (json) printJson(source);
        else {
          console.log(`registered ${source.name} (owner ${source.owner}): ${source.status.state}`);
          for (const t of source.topics) console.log(`  topic ${t}`);
        }
        return source.status.state === "failed" ? exit.failed : exit.ok;
      }
      case "list": {
        const { sources } = await call<{ sources: Source[] }>(base, "GET", "/v1/sources");
        if (json) printJson(sources);
        else
          printTable(
            ["NAME", "OWNER", "KIND", "STATE", "LAG(s)", "TABLES"],
            sources.map((s) => [
              s.name,
              s.owner,
              s.kind,
              s.status.state,
              s.status.lagSeconds,
              s.tables.join(","),
            ]),
          );
        return exit.ok;
      }
      case "show": {
        const source = await call<Source>(base, "GET", `/v1/sources/${needName()}`);
        if (json) printJson(source);
        else printSource(source);
        return exit.ok;
      }
      case "pause":
      case "resume": {
        const source = await call<Source>(base, "POST", `/v1/sources/${needName()}/${verb}`);
        if (json) printJson(source);
        else console.log(`${source.name}: ${source.status.state}`);
        return exit.ok;
      }
      case "snapshot": {
        const tables = p.flags.get("table");
        const source = await call<Source>(
          base,
          "POST",
          `/v1/sources/${needName()}/snapshot`,
          tables ? { tables } : {},
        );
        const what = (tables ?? source.tables).join(", ");
        if (!has(p, "wait")) {
          if (json) printJson(source);
          else console.log(`${source.name}: re-snapshot of ${what} started`);
          return exit.ok;
        }
        const done = await waitResnapshot(base, source, json);
        if (json) printJson(done);
        else if (done.status.state === "failed")
          console.error(
            `${done.name}: failed — ${done.status.error?.code ?? ""}: ${done.status.error?.message ?? ""}`,
          );
        else console.log(`${done.name}: re-snapshot of ${what} done`);
        return done.status.state === "failed" ? exit.failed : exit.ok;
      }
      case "rm": {
        const dropSlot = has(p, "drop-slot");
        const out = await call<{ deleted: string }>(
          base,
          "DELETE",
          `/v1/sources/${needName()}${dropSlot ? "?dropSlot=true" : ""}`,
        );
        if (json) printJson(out);
        else console.log(`deleted ${out.deleted}${dropSlot ? " (slot and publication dropped)" : ""}`);
        return exit.ok;
      }
      default:
        throw new CliExit(exit.usage, `unknown command "source ${verb}"\n\n${usage}`);
    }
  });
}

/** Polls until the initial snapshot is done, printing progress to stderr (stdout stays for the result). */
async function waitStreaming(base: string, first: Source, json: boolean): Promise<Source> {
  let source = first;
  let last = "";
  while (source.status.state === "starting" || source.status.state === "snapshotting") {
    const pr = source.status.progress;
    const line = pr
      ? `snapshot ${pr.table ?? ""} ${pr.rowsDone}/${pr.rowsEstimated} rows${pr.rowsEstimated > 0 ? ` (${Math.min(100, Math.round((pr.rowsDone / pr.rowsEstimated) * 100))}%)` : ""}`
      : source.status.state;
    if (line !== last && !json) process.stderr.write(`${line}\n`);
    last = line;
    await sleep(500);
    source = await call<Source>(base, "GET", `/v1/sources/${encodeURIComponent(source.name)}`);
  }
  return source;
}

/** Polls until no re-snapshot is pending (every row in Kafka) or the source failed; progress on stderr. */
async function waitResnapshot(base: string, first: Source, json: boolean): Promise<Source> {
  let source = first;
  let last = "";
  while (source.status.resnapshot && source.status.state !== "failed") {
    const pr = source.status.progress;
    const line = `re-snapshot ${pr?.table ?? source.status.resnapshot.pending[0] ?? ""}: ${pr?.rowsDone ?? 0} rows (tables left: ${source.status.resnapshot.pending.join(", ")})`;
    if (line !== last && !json) process.stderr.write(`${line}\n`);
    last = line;
    await sleep(500);
    source = await call<Source>(base, "GET", `/v1/sources/${encodeURIComponent(source.name)}`);
  }
  return source;
}

function printSource(s: Source): void {
  console.log(`name     ${s.name}\nowner    ${s.owner}\nkind     ${s.kind}\nurl      ${s.url}`);
  console.log(
    `state    ${s.status.state}${s.status.error ? ` — ${s.status.error.code}: ${s.status.error.message}` : ""}`,
  );
  if (s.status.resnapshot) console.log(`resnap   ${s.status.resnapshot.pending.join(", ")} to do`);
  if (s.status.progress)
    console.log(
      `progress ${s.status.progress.rowsDone}/${s.status.progress.rowsEstimated} rows (${s.status.progress.table ?? ""})`,
    );
  console.log(
    `lag      ${s.status.lagBytes ?? "-"} bytes, ${s.status.lagSeconds ?? "-"} s\noffset   ${s.status.offset ?? "-"}`,
  );
  for (const t of s.topics) console.log(`topic    ${t}`);
  for (const [t, n] of Object.entries(s.status.events)) console.log(`events   ${t}: ${n}`);
  if (s.outbox) {
    const from = [
      ...s.outbox.tables,
      ...(s.outbox.messagePrefix ? [`messages '${s.outbox.messagePrefix}'`] : []),
    ];
    console.log(
      `outbox   ${from.join(", ")}${s.outbox.untyped === "json" ? " (untyped events as JSON)" : ""}`,
    );
    for (const t of s.outbox.topics) {
      const o = s.status.outbox?.[t];
      console.log(`  events ${t}${o ? `: ${o.published} published, ${o.parked} parked` : ""}`);
    }
  }
}
