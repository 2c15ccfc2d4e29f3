// Outbox routing (the transactional outbox pattern): an inserted outbox row, or a logical message with the
// outbox prefix, becomes one domain event on `<owner>.<aggregatetype>`, keyed by aggregateid, with the event
// id and type in headers, in commit order. The payload here is as the database gave it (UTF-8 JSON text for
// json/jsonb/text payloads, raw bytes for bytea); outbox-router.ts publishes it under the type's registered
// schema, or parks it. Which backend read the row does not matter: rows arrive by Avro field name. Pure.
import { outboxTopic } from "../../protocol/topics.ts";

export interface OutboxEvent {
  topic: string;
  key: Buffer;
  value: Buffer | null;
  headers: Record<string, string>;
}

function text(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return v.toString("utf8");
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return v.toString();
  return JSON.stringify(v);
}

/** An event routed to its topic, or one that cannot be (no aggregate type or id, content not JSON). */
export type Routed = { event: OutboxEvent } | { unroutable: string; event: OutboxEvent };

/** A row of an outbox table (columns id, aggregatetype, aggregateid, type, payload), by field name. */
export function routeRow(owner: string, row: Record<string, unknown>): Routed {
  const aggregateType = text(row.aggregatetype);
  const aggregateId = text(row.aggregateid);
  const payload = row.payload;
  const event: OutboxEvent = {
    topic: aggregateType ? outboxTopic(owner, aggregateType) : "",
    key: Buffer.from(aggregateId ?? "", "utf8"),
    value:
      payload === null || payload === undefined
        ? null
        : Buffer.isBuffer(payload)
          ? payload
          : Buffer.from(text(payload) ?? "", "utf8"),
    headers: { id: text(row.id) ?? "", type: text(row.type) ?? "", aggregatetype: aggregateType ?? "" },
  };
  if (!aggregateType) return { unroutable: "the event has no aggregatetype", event };
  if (aggregateId === null) return { unroutable: "the event has no aggregateid", event };
  return { event };
}

/** routeRow, null when the row cannot be routed. */
export function routeOutboxRow(owner: string, row: Record<string, unknown>): OutboxEvent | null {
  const routed = routeRow(owner, row);
  return "unroutable" in routed ? null : routed.event;
}

/**
 * A logical message (`pg_logical_emit_message(true, '<prefix>', '{"id":…,"aggregatetype":…,"aggregateid":…,
 * "type":…,"payload":{…}}')`): the same fields as an outbox row, payload any JSON. Malformed content is skipped.
 */
export function routeOutboxMessage(owner: string, content: Buffer): OutboxEvent | null {
  const routed = routeMessage(owner, content);
  return "unroutable" in routed ? null : routed.event;
}

/** routeOutboxMessage, with the reason when the content cannot be routed (kept whole as the payload). */
export function routeMessage(owner: string, content: Buffer): Routed {
  let parsed: unknown;
  try {
    parsed = JSON.parse(content.toString("utf8"));
  } catch {
    parsed = null;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    const event = { topic: "", key: Buffer.alloc(0), value: content, headers: {} };
    return { unroutable: "the logical message is not a JSON object", event };
  }
  const fields = parsed as Record<string, unknown>;
  const payload = fields.payload;
  return routeRow(owner, {
    ...fields,
    payload: payload === undefined ? null : typeof payload === "string" ? payload : JSON.stringify(payload),
  });
}
