// /v1/topics: every domain topic with its owner, and its events as server-sent JSON envelopes.
import type { FastifyInstance } from "fastify";
import { MeshError } from "../../../lib/errors.ts";
import { metrics } from "../../../lib/metrics.ts";
import { parseTableTopic } from "../../../protocol/topics.ts";
import type { TopicBatch, TopicStart } from "../../runtime.ts";
import type { ApiContext } from "../context.ts";
import { principalOf } from "../../../lib/http/auth.ts";
import { Access, forbidden } from "../../governance/access.ts";
import { maskIfObject, maskTopicValue, type ColumnMasks } from "../../governance/masking.ts";
import { STREAM_FROM_PATTERN } from "../../../lib/http/change-start.ts";
import { errorResponses } from "../../../lib/http/error-responses.ts";
import { sseFrame, sseSchema, streamSse } from "../../../lib/http/sse.ts";

/** A topic stream's Last-Event-ID: every partition's last offset delivered (-1: none yet). */
export const TOPIC_EVENT_ID_PATTERN = "^[0-9]{1,9}:(?:-1|[0-9]{1,18})(?:,[0-9]{1,9}:(?:-1|[0-9]{1,18}))*$";

export const topicSchema = {
  $id: "Topic",
  type: "object",
  required: [
    "topic",
    "owner",
    "source",
    "table",
    "partitions",
    "keySubject",
    "valueSubject",
    "latestVersion",
  ],
  properties: {
    topic: { type: "string" },
    owner: { type: "string" },
    source: { type: "string" },
    table: { type: "string" },
    partitions: { type: "integer" },
    keySubject: { type: "string" },
    valueSubject: { type: "string" },
    latestVersion: {
      type: ["integer", "null"],
      description: "of the value subject; null before the first event",
    },
    masked: {
      type: "object",
      additionalProperties: { type: "string", enum: ["hash", "redact", "drop"] },
      description:
        "the columns the caller's policy masks (hash, redact, drop) on every path; absent: read in clear (its owner, the admin, a grant in full)",
    },
  },
} as const;

/** `data` of a topic stream's `event: change`: one record, its key and value decoded as lossless JSON. */
export const topicChangeSchema = {
  $id: "TopicChange",
  type: "object",
  required: ["partition", "offset", "timestamp", "key", "value"],
  properties: {
    partition: { type: "integer" },
    offset: { type: "string" },
    timestamp: { type: "string", description: "the record's Kafka timestamp" },
    key: { description: "the decoded key (the table's primary key columns)" },
    value: {
      description:
        "the decoded envelope `{op, before, after, source, transaction, ...}` (docs/contracts.md); null: a tombstone. " +
        "On a domain-event topic: the event's payload decoded with its schema (its JSON when untyped)",
    },
    headers: {
      type: "object",
      additionalProperties: { type: "string" },
      description: "a domain event's headers (`id`, `type`, `aggregatetype`); absent on change topics",
    },
  },
} as const;

/**
 * `from` and `Last-Event-ID` → where each partition starts. Last-Event-ID wins: it is a reconnect. An id is the
 * stream's position on every partition (`0:22,1:38,2:-1`: the last offset delivered, -1 before the first), so
 * a client that kept only the last id resumes every partition exactly. A partition the id does not name was
 * created after it, so all of it is new to the client: it starts at earliest.
 */
export function parseStart(from: string | undefined, lastEventId: string | undefined): TopicStart {
  if (lastEventId !== undefined && lastEventId !== "") {
    const next = new Map<number, bigint>();
    for (const part of lastEventId.split(",")) {
      const m = /^(\d+):(-1|\d+)$/.exec(part.trim());
      if (!m) {
        throw new MeshError(
          "MESH_BAD_REQUEST",
          `Last-Event-ID "${lastEventId}" is not a list of <partition>:<offset> (e.g. 0:22,1:38)`,
          { lastEventId },
        );
      }
      next.set(Number(m[1]), BigInt(m[2]!) + 1n);
    }
    return { kind: "resume", next, otherwise: "earliest" };
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

/**
 * Each event's id: the position on every partition after it (the last offset delivered, -1 before the first),
 * in partition order. One "p:o" part changes per event; the others are reused.
 */
function eventIds(batch: TopicBatch): string[] {
  const partitions = [...new Set([...batch.from.keys(), ...batch.events.map((e) => e.partition)])].sort(
    (a, b) => a - b,
  );
  const slot = new Map(partitions.map((p, i) => [p, i]));
  const parts = partitions.map((p) => `${p}:${(batch.from.get(p) ?? 0n) - 1n}`);
  return batch.events.map((event) => {
    parts[slot.get(event.partition)!] = `${event.partition}:${event.offset}`;
    return parts.join(",");
  });
}

// Live subscribers of a topic share each fetch's batch (api/topics/shared-tail.ts): encode it once, and once
// per policy masking it (the clear frames under "").
const frames = new WeakMap<TopicBatch, Map<string, { frame: Buffer; id: string }>>();

/** `masks` of `policy` (null: in clear): a masked grant never gets the clear frames. */
function framesOf(
  batch: TopicBatch,
  policy: { id: string; masks: ColumnMasks } | null,
): { frame: Buffer; id: string } {
  let byPolicy = frames.get(batch);
  if (byPolicy === undefined) {
    byPolicy = new Map();
    frames.set(batch, byPolicy);
  }
  let encoded = byPolicy.get(policy?.id ?? "");
  if (encoded === undefined) {
    const ids = eventIds(batch);
    const frame = Buffer.concat(
      batch.events.map((event, i) =>
        sseFrame(ids[i]!, "change", {
          partition: event.partition,
          offset: event.offset,
          timestamp: event.timestamp,
          key: policy ? maskIfObject(policy.masks, event.key) : event.key,
          value: policy ? maskTopicValue(policy.masks, event.value) : event.value,
          ...(event.headers ? { headers: event.headers } : {}),
        }),
      ),
    );
    encoded = { frame, id: ids.at(-1) ?? "" }; // the route skips empty batches
    byPolicy.set(policy?.id ?? "", encoded);
  }
  return encoded;
}

/** An SSE comment (invisible to EventSource) sent once the stream's Kafka reader is positioned. */
const SUBSCRIBED = Buffer.from(": subscribed\n\n");

export function topicRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const access = ctx.access ?? new Access(ctx.catalog, null);
  app.get(
    "/v1/topics",
    {
      schema: {
        tags: ["topics"],
        operationId: "listTopics",
        summary:
          "The topics the caller may read: owner, source, table, key/value subjects, latest schema version, masked columns",
        response: {
          200: {
            type: "object",
            required: ["topics"],
            properties: { topics: { type: "array", items: { $ref: "Topic#" } } },
          },
          ...errorResponses(),
        },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const topics = await ctx.topics.topics();
      return {
        topics: topics.flatMap((t) => {
          const d = access.topic(principal, t.topic);
          if (!d.allowed) return [];
          return d.policy && Object.keys(d.policy.columns).length > 0
            ? [{ ...t, masked: d.policy.columns }]
            : [t];
        }),
      };
    },
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
        operationId: "streamTopicEvents",
        summary:
          "Server-sent events of decoded envelopes, each id the position on every partition (0:22,1:38,2:-1); ?from=earliest|latest|<offset>|<ISO time>",
        description:
          "A `: subscribed` comment line follows once the stream's reader is positioned: every event written " +
          "from then on reaches this client.",
        params: {
          type: "object",
          required: ["topic"],
          additionalProperties: false,
          properties: { topic: { type: "string", minLength: 1, description: "<source>.<schema>.<table>" } },
        },
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            from: {
              type: "string",
              pattern: STREAM_FROM_PATTERN,
              default: "latest",
              description: "earliest, latest, an offset (on every partition) or an ISO-8601 time",
            },
          },
        },
        ...sseSchema({
          idDescription: "every partition's last offset, `0:22,1:38,2:-1`",
          idPattern: TOPIC_EVENT_ID_PATTERN,
          events: {
            change: {
              description: "one record of the topic; the id is the position on every partition after it",
              data: { $ref: "#/components/schemas/TopicChange" },
            },
          },
          errors: errorResponses("MESH_NOT_FOUND", "MESH_FORBIDDEN"),
        }),
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
      const principal = principalOf(request);
      const decide = (): { id: string; masks: ColumnMasks } | null => {
        const d = access.topic(principal, topic);
        if (!d.allowed) throw forbidden(d);
        return d.policy && d.masks.size > 0 ? { id: d.policy.id, masks: d.masks } : null;
      };
      let policy = decide();
      let decidedAt = access.version;
      const table = parseTableTopic(topic);
      const countRead = (n: number): void =>
        metrics.eventsRead.inc(
          {
            source: table?.source ?? "",
            table: table ? `${table.schema}.${table.table}` : topic,
            reader: "sse",
          },
          n,
        );
      await streamSse(request, reply, async function* (signal) {
        let subscribed = false;
        for await (const batch of ctx.topics.events(topic, start, signal)) {
          if (batch.events.length === 0) {
            // The reader is positioned: everything written from now on reaches this client (docs/api.md).
            if (!subscribed) yield { id: "", event: "", data: null, frame: SUBSCRIBED };
            subscribed = true;
            continue;
          }
          if (access.version !== decidedAt) {
            // A grant changed since: decide again; a revoked one ends the stream before this batch.
            decidedAt = access.version;
            try {
              policy = decide();
            } catch {
              return;
            }
          }
          const { frame, id } = framesOf(batch, policy);
          countRead(batch.events.length);
          yield { id, event: "change", data: null, frame };
        }
      });
    },
  );
}
