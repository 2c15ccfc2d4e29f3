// Parked domain events: an outbox event the connector could not publish (its type has no schema, its payload
// does not fit it, it cannot be routed), kept in `_mesh_parked_events` (compacted, one partition; key
// `<source>/<position>/<event id>`, JSON value, a tombstone when retried or skipped) with the reason. Events
// of one aggregate stay in order: once one of a (topic, aggregate id) is parked, every later one of it is
// parked behind it until an operator retries or skips (outbox-router.ts). The connector loads its source's
// records when a session starts; the API follows the topic to show them. Pure but for `loadParkedEvents`.
import type { KafkaClient } from "../../lib/kafka/index.ts";
import { PARKED_EVENTS_TOPIC } from "../../protocol/topics.ts";

/** Why an event is parked: `MESH_EVENT_TYPE_UNDECLARED`, `MESH_EVENT_INVALID`, `MESH_EVENT_UNROUTABLE`... */
export interface ParkReason {
  code: string;
  message: string;
}

export interface ParkedEvent {
  /** The record's key in `_mesh_parked_events`. */
  id: string;
  source: string;
  /** `<owner>.<aggregatetype>`; "" when the event could not be routed (no aggregate type). */
  topic: string;
  /** The aggregate id (the Kafka key it is published with). */
  key: string;
  /** The event's headers (`id`, `type`, `aggregatetype`). */
  headers: Record<string, string>;
  /** The payload: UTF-8 text, or base64 when it is not valid UTF-8; null when there is none. */
  payload: string | null;
  payloadEncoding: "utf8" | "base64";
  reason: ParkReason;
  parkedAt: string;
  /** The source position it was read at (the connector's serialized position). */
  position: string;
}

export function parkedKey(source: string, position: string, eventId: string): string {
  return `${source}/${position}/${eventId}`;
}

/** The payload as stored: text when it is valid UTF-8. */
export function storedPayload(value: Buffer | null): Pick<ParkedEvent, "payload" | "payloadEncoding"> {
  if (value === null) return { payload: null, payloadEncoding: "utf8" };
  const text = value.toString("utf8");
  return Buffer.from(text, "utf8").equals(value)
    ? { payload: text, payloadEncoding: "utf8" }
    : { payload: value.toString("base64"), payloadEncoding: "base64" };
}

export function payloadBytes(p: Pick<ParkedEvent, "payload" | "payloadEncoding">): Buffer | null {
  if (p.payload === null) return null;
  return Buffer.from(p.payload, p.payloadEncoding === "base64" ? "base64" : "utf8");
}

export function decodeParked(value: Buffer | null): ParkedEvent | null {
  if (value === null) return null;
  try {
    const p = JSON.parse(value.toString("utf8")) as ParkedEvent;
    return typeof p.id === "string" && typeof p.topic === "string" && typeof p.key === "string" ? p : null;
  } catch {
    return null;
  }
}

const slot = (topic: string, key: string): string => `${topic}\u0000${key}`;

/** The parked events of one source (connector) or of all (API), by topic and aggregate, oldest first. */
export class ParkedEvents {
  readonly #byKey = new Map<string, ParkedEvent[]>();

  constructor(initial: Iterable<ParkedEvent> = []) {
    for (const p of initial) this.add(p);
  }

  /** Adds or replaces (same id: a replay, or a retry that failed again with a new reason). */
  add(p: ParkedEvent): void {
    const list = this.#byKey.get(slot(p.topic, p.key)) ?? [];
    const i = list.findIndex((x) => x.id === p.id);
    if (i >= 0) list[i] = p;
    else list.push(p);
    this.#byKey.set(slot(p.topic, p.key), list);
  }

  /** Removes by id (a tombstone). */
  delete(id: string): void {
    for (const [k, list] of this.#byKey) {
      const i = list.findIndex((x) => x.id === id);
      if (i < 0) continue;
      list.splice(i, 1);
      if (list.length === 0) this.#byKey.delete(k);
      return;
    }
  }

  /** Whether an earlier event of this aggregate is parked (unroutable events hold nothing back). */
  blocks(topic: string, key: string): boolean {
    return topic !== "" && this.#byKey.has(slot(topic, key));
  }

  /** An aggregate's parked events, oldest first (a copy). */
  of(topic: string, key: string): ParkedEvent[] {
    return [...(this.#byKey.get(slot(topic, key)) ?? [])];
  }

  all(): ParkedEvent[] {
    return [...this.#byKey.values()].flat();
  }

  count(topic: string): number {
    let n = 0;
    for (const list of this.#byKey.values()) if (list[0]?.topic === topic) n += list.length;
    return n;
  }
}

export async function ensureParkedTopic(kafka: KafkaClient): Promise<void> {
  await kafka.admin().ensureTopics([{ topic: PARKED_EVENTS_TOPIC, partitions: 1, compact: true }]);
}

/** A source's parked events, in the order they were parked (replays `_mesh_parked_events` once). */
export async function loadParkedEvents(kafka: KafkaClient, source: string): Promise<ParkedEvent[]> {
  await ensureParkedTopic(kafka);
  const byId = new Map<string, ParkedEvent>();
  const prefix = `${source}/`;
  const table = kafka.compactedTable({
    topic: PARKED_EVENTS_TOPIC,
    onRecord: (r) => {
      const id = r.key?.toString("utf8");
      if (!id?.startsWith(prefix)) return;
      const p = decodeParked(r.value);
      if (p) byId.set(id, p);
      else byId.delete(id);
    },
  });
  try {
    await table.start();
  } finally {
    await table.stop();
  }
  return [...byId.values()];
}
