// /v1/topics: every domain topic with its owner, and its events as server-sent JSON envelopes.
import type { FastifyInstance } from "fastify";
import { MeshError } from "../../../lib/errors.ts";
import type { TopicEvent, TopicStart } from "../../runtime.ts";
import type { ApiContext } from "../context.ts";
import { sseFrame, streamSse } from "../sse.ts";

const errorRef = { $ref: "MeshError#" };

const topicSchema = {
  type: "object",
  properties: {
    topic: { type: "string" },
    owner: { type: "string" },
    source: { type: "string" },
    table: { type: "string" },
    partitions: { type: "integer" },
    keySubject: { type: "string" },
    valueSubject: { type: "string" },
    latestVersion: { type: ["integer", "null"] },
  },
} as const;

/** `from` and `Last-Event-ID` → where each partition starts. Last-Event-ID wins: it is a reconnect. */
export function parseStart(from: string | undefined, lastEventId: string | undefined): TopicStart {
  if (lastEventId !== undefined && lastEventId !== "") {
    const next = new Map<number, bigint>();
    // One id per event is `<partition>:<offset>`; a list `0:5,1:9` resumes several partitions at once.
    for (const part of lastEventId.split(",")) {
      const m = /^(\d+):(\d+)$/.exec(part.trim());
      if (!m) {
        throw new MeshError(
          "MESH_BAD_REQUEST",
          `Last-Event-ID "${lastEventId}" is not <partition>:<offset>`,
          { lastEventId },
        );
      }
      next.set(Number(m[1]), BigInt(m[2]!) + 1n);
    }
    return { kind: "resume", next, otherwise: from === "earliest" ? "earliest" : "latest" };
  }
  if (from === undefined || from === "latest") return { kind: "latest" };
  if (from === "earliest") return { kind: "earliest" };
  if (/^\d+$/.test(from)) return { kind: "offset", offset: BigInt(from) };
  if (/^\d{4}-\d{2}-\d{2}/.test(from)) {
    const ms = Date.parse(from);
    if (!Number.isNaN(ms)) return { kind: "time", ms };
  }
  throw new MeshError(
    "MESH_BAD_REQUEST",
    `"from" must be earliest, latest, an offset or an ISO-8601 time (got "${from}")`,
    {
      param: "from",
    },
  );
}

// Live subscribers of a topic share each fetch's array of events (api/topics/shared-tail.ts): encode it once.
const frames = new WeakMap<TopicEvent[], Buffer>();

function framesOf(events: TopicEvent[]): Buffer {
  let frame = frames.get(events);
  if (frame === undefined) {
    frame = Buffer.concat(
      events.map((event) =>
        sseFrame(`${event.partition}:${event.offset}`, "change", {
          partition: event.partition,
          offset: event.offset,
          timestamp: event.timestamp,
          key: event.key,
          value: event.value,
        }),
      ),
    );
    frames.set(events, frame);
  }
  return frame;
}

export function topicRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    "/v1/topics",
    {
      schema: {
        tags: ["topics"],
        summary: "Every domain topic: owner, source, table, key/value subjects and latest schema version",
        response: {
          200: { type: "object", properties: { topics: { type: "array", items: topicSchema } } },
          "5xx": errorRef,
        },
      },
    },
    async () => ({ topics: await ctx.topics.topics() }),
  );

  app.get<{
    Params: { topic: string };
    Querystring: { from?: string };
    Headers: { "last-event-id"?: string };
  }>(
    "/v1/topics/:topic/events",
    {
      schema: {
        tags: ["topics"],
        summary:
          "Server-sent events (id <partition>:<offset>) of decoded envelopes; ?from=earliest|latest|<offset>|<ISO time>",
        params: {
          type: "object",
          required: ["topic"],
          additionalProperties: false,
          properties: { topic: { type: "string" } },
        },
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: { from: { type: "string" } },
        },
        produces: ["text/event-stream"],
      },
    },
    async (request, reply) => {
      const topic = request.params.topic;
      const start = parseStart(request.query.from, request.headers["last-event-id"]);
      if (!ctx.topics.known(topic)) {
        throw new MeshError("MESH_NOT_FOUND", `no domain topic "${topic}"; list them with GET /v1/topics`, {
          topic,
        });
      }
      await streamSse(request, reply, async function* (signal) {
        for await (const events of ctx.topics.events(topic, start, signal)) {
          const last = events.at(-1);
          if (!last) continue;
          yield {
            id: `${last.partition}:${last.offset}`,
            event: "change",
            data: null,
            frame: framesOf(events),
          };
        }
      });
    },
  );
}
