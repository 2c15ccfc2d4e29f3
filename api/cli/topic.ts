// `mesh topic list|tail`: domain topics and their decoded events over the HTTP API.
import {
  apiUrl,
  authHeader,
  call,
  CliExit,
  exit,
  flag,
  has,
  parseArgs,
  printJson,
  printTable,
  runCommand,
} from "./client.ts";
import { readSse } from "./sse-reader.ts";

const usage = `usage: mesh topic <command> [--api URL] [--json]

  list                                         topics with owner, source, table, subjects, schema version
  tail TOPIC [--from earliest|latest|OFFSET|ISO-TIME] [--count N]
                                               print events as they arrive (one JSON line each with --json)`;

interface Topic {
  topic: string;
  owner: string;
  source: string;
  table: string;
  partitions: number;
  latestVersion: number | null;
}

export async function run(args: string[]): Promise<number> {
  let p;
  try {
    p = parseArgs(args, ["json", "help"], ["api", "from", "count"]);
  } catch (err) {
    console.error((err as Error).message);
    return exit.usage;
  }
  const json = has(p, "json");
  const [verb, topic] = p.positional;
  if (!verb || has(p, "help")) {
    console.error(usage);
    return verb || has(p, "help") ? exit.ok : exit.usage;
  }
  const base = apiUrl(p, process.env);
  return runCommand(json, async () => {
    switch (verb) {
      case "list": {
        const { topics } = await call<{ topics: Topic[] }>(base, "GET", "/v1/topics");
        if (json) printJson(topics);
        else
          printTable(
            ["TOPIC", "OWNER", "SOURCE", "PARTITIONS", "SCHEMA"],
            topics.map((t) => [t.topic, t.owner, t.source, t.partitions, t.latestVersion]),
          );
        return exit.ok;
      }
      case "tail": {
        if (!topic) throw new CliExit(exit.usage, `mesh topic tail needs a topic\n\n${usage}`);
        const count = flag(p, "count") === undefined ? Infinity : Number(flag(p, "count"));
        const from = flag(p, "from") ?? "latest";
        const url = `${base}/v1/topics/${encodeURIComponent(topic)}/events?from=${encodeURIComponent(from)}`;
        let res: Response;
        try {
          res = await fetch(url, { headers: { accept: "text/event-stream", ...authHeader() } });
        } catch (err) {
          throw new CliExit(
            exit.unreachable,
            `the datamesh API at ${base} is unreachable: ${(err as Error).message}`,
          );
        }
        if (!res.ok || !res.body) {
          // Errors come as the usual JSON; reuse call()'s reporting.
          await call(
            base,
            "GET",
            `/v1/topics/${encodeURIComponent(topic)}/events?from=${encodeURIComponent(from)}`,
          );
          return exit.failed;
        }
        let seen = 0;
        for await (const message of readSse(res.body)) {
          if (message.event === "error") throw new CliExit(exit.failed, `stream failed: ${message.data}`);
          if (json) console.log(message.data);
          else {
            const e = JSON.parse(message.data) as {
              partition: number;
              offset: string;
              key: unknown;
              value: { op?: string; after?: unknown; before?: unknown } | null;
            };
            console.log(
              `${message.id}  ${e.value?.op ?? "tombstone"}  key=${JSON.stringify(e.key)}  ${JSON.stringify(e.value?.after ?? e.value?.before ?? null)}`,
            );
          }
          if (++seen >= count) break;
        }
        await res.body.cancel().catch(() => undefined);
        return exit.ok;
      }
      default:
        throw new CliExit(exit.usage, `unknown command "topic ${verb}"\n\n${usage}`);
    }
  });
}
