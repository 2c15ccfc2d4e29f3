// Outbox routing (the transactional outbox pattern): an inserted outbox row, or a logical message with the
// outbox prefix, becomes one domain event on `<owner>.<aggregatetype>`, keyed by aggregateid, with the event
// id and type in headers, in commit order. The payload is written as it is (UTF-8 JSON text for json/jsonb/
// text payloads, raw bytes for bytea), as Debezium's outbox router does. Pure.
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

/** A row of an outbox table (columns id, aggregatetype, aggregateid, type, payload), by field name. */
export function routeOutboxRow(owner: string, row: Record<string, unknown>): OutboxEvent | null {
  const aggregateType = text(row.aggregatetype);
  const aggregateId = text(row.aggregateid);
  if (!aggregateType || aggregateId === null) return null;
  const payload = row.payload;
  return {
    topic: outboxTopic(owner, aggregateType),
    key: Buffer.from(aggregateId, "utf8"),
    value:
      payload === null || payload === undefined
        ? null
        : Buffer.isBuffer(payload)
          ? payload
          : Buffer.from(text(payload) ?? "", "utf8"),
    headers: { id: text(row.id) ?? "", type: text(row.type) ?? "", aggregatetype: aggregateType },
  };
}

/**
 * A logical message (`pg_logical_emit_message(true, '<prefix>', '{"id":…,"aggregatetype":…,"aggregateid":…,
 * "type":…,"payload":{…}}')`): the same fields as an outbox row, payload any JSON. Malformed content is skipped.
 */
export function routeOutboxMessage(owner: string, content: Buffer): OutboxEvent | null {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(content.toString("utf8")) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (typeof parsed !== "object" || parsed === null) return null;
  const payload = parsed.payload;
  return routeOutboxRow(owner, {
    ...parsed,
    payload: payload === undefined ? null : typeof payload === "string" ? payload : JSON.stringify(payload),
  });
}
