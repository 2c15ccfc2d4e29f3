// `mesh events list|show|declare|schema|parked|retry|skip`: domain-event topics over the HTTP API.
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
  required,
  runCommand,
} from "./client.ts";

const usage = `usage: mesh events <command> [--api URL] [--json]

  list                                   every domain-event topic: owner, types, versions, throughput, parked
  show TOPIC                             its event types with their schema versions, and its parked events
  declare TOPIC TYPE --owner SERVICE --schema-file F [--format avro|json|protobuf]
                                         declare (or change) an event type's schema (default avro)
  schema TOPIC TYPE                      print a declared type's schema
  parked TOPIC                           events that could not be published, with the reason
  retry TOPIC --key AGGREGATE_ID         publish an aggregate's parked events in order (after fixing the cause)
  skip TOPIC --key AGGREGATE_ID          drop an aggregate's oldest parked event; the ones behind it follow

Topics are <owner>.<aggregatetype>; follow one with \`mesh topic tail TOPIC\` (payloads decoded).`;

interface EventType {
  type: string;
  subject: string;
  version: number;
  schemaId: number;
  name: string;
}

interface EventTopic {
  topic: string;
  owner: string;
  sources: string[];
  format: string | null;
  types: EventType[];
  valueSubject: string;
  valueVersion: number | null;
  untyped: boolean;
  published: number;
  perSecond: number;
  parked: number;
}

interface ParkedEvent {
  source: string;
  key: string;
  eventId: string;
  type: string;
  reason: { code: string; message: string };
  parkedAt: string;
}

const path = (topic: string): string => `/v1/events/${encodeURIComponent(topic)}`;

export async function run(args: string[]): Promise<number> {
  let p;
  try {
    p = parseArgs(args, ["json", "help"], ["api", "owner", "schema-file", "format", "key"]);
  } catch (err) {
    console.error((err as Error).message);
    return exit.usage;
  }
  const json = has(p, "json");
  const [verb, topic, type] = p.positional;
  if (!verb || has(p, "help")) {
    console.error(usage);
    return verb || has(p, "help") ? exit.ok : exit.usage;
  }
  const base = apiUrl(p, process.env);
  const needTopic = (): string => {
    if (!topic) throw new CliExit(exit.usage, `mesh events ${verb} needs a topic\n\n${usage}`);
    return topic;
  };
  const needType = (): string => {
    if (!type)
      throw new CliExit(exit.usage, `mesh events ${verb} needs a topic and an event type\n\n${usage}`);
    return encodeURIComponent(type);
  };
  return runCommand(json, async () => {
    switch (verb) {
      case "list": {
        const { events } = await call<{ events: EventTopic[] }>(base, "GET", "/v1/events");
        if (json) printJson(events);
        else
          printTable(
            ["TOPIC", "OWNER", "FORMAT", "TYPES", "VERSION", "EVENTS/S", "PUBLISHED", "PARKED"],
            events.map((e) => [
              e.topic,
              e.owner,
              e.format ?? (e.untyped ? "untyped JSON" : "-"),
              e.types.map((t) => `${t.type}@${t.version}`).join(","),
              e.valueVersion,
              e.perSecond.toFixed(2),
              e.published,
              e.parked,
            ]),
          );
        return exit.ok;
      }
      case "show": {
        const t = await call<EventTopic & { parkedEvents: ParkedEvent[] }>(base, "GET", path(needTopic()));
        if (json) printJson(t);
        else {
          console.log(`topic    ${t.topic}\nowner    ${t.owner}\nsources  ${t.sources.join(", ") || "-"}`);
          console.log(`format   ${t.format ?? (t.untyped ? "untyped JSON (no type declared)" : "-")}`);
          console.log(`subject  ${t.valueSubject}${t.valueVersion ? ` v${t.valueVersion}` : ""}`);
          console.log(
            `rate     ${t.perSecond.toFixed(2)}/s (${t.published} published)\nparked   ${t.parked}`,
          );
          for (const x of t.types) console.log(`type     ${x.type}: ${x.subject} v${x.version} (${x.name})`);
          printParked(t.parkedEvents);
        }
        return exit.ok;
      }
      case "declare": {
        const name = needType();
        const file = required(p, "schema-file", usage);
        const body = {
          owner: required(p, "owner", usage),
          format: (flag(p, "format") ?? "avro").toUpperCase(),
          schema: readFileSync(file, "utf8"),
        };
        const out = await call<EventType & { topic: string }>(
          base,
          "PUT",
          `${path(needTopic())}/types/${name}`,
          body,
        );
        if (json) printJson(out);
        else
          console.log(
            `${out.topic} ${out.type}: ${out.subject} version ${out.version} (schema id ${out.schemaId})`,
          );
        return exit.ok;
      }
      case "schema": {
        const name = needType();
        const out = await call<{ schema: string }>(base, "GET", `${path(needTopic())}/types/${name}`);
        if (json) printJson(out);
        else console.log(out.schema);
        return exit.ok;
      }
      case "parked": {
        const t = await call<{ parked: number; parkedEvents: ParkedEvent[] }>(base, "GET", path(needTopic()));
        if (json) printJson(t.parkedEvents);
        else {
          printParked(t.parkedEvents);
          if (t.parked > t.parkedEvents.length)
            console.log(`(${t.parkedEvents.length} of ${t.parked} shown)`);
        }
        return exit.ok;
      }
      case "retry":
      case "skip": {
        const key = flag(p, "key");
        if (!key) throw new CliExit(exit.usage, `mesh events ${verb} needs --key (see mesh events parked)`);
        const out = await call<{
          published: number;
          skipped: number;
          stillParked: number;
          reason: { message: string } | null;
        }>(base, "POST", `${path(needTopic())}/parked/${verb}`, { key });
        if (json) printJson(out);
        else {
          console.log(`${out.published} published, ${out.skipped} skipped, ${out.stillParked} still parked`);
          if (out.reason) console.log(`still parked: ${out.reason.message}`);
        }
        return out.stillParked > 0 && verb === "retry" ? exit.failed : exit.ok;
      }
      default:
        throw new CliExit(exit.usage, `unknown command "events ${verb}"\n\n${usage}`);
    }
  });
}

function printParked(events: ParkedEvent[]): void {
  if (events.length === 0) return;
  printTable(
    ["KEY", "EVENT", "TYPE", "SOURCE", "PARKED AT", "REASON"],
    events.map((e) => [
      e.key,
      e.eventId,
      e.type,
      e.source,
      e.parkedAt,
      `${e.reason.code}: ${e.reason.message}`,
    ]),
  );
}
