// Publishes a session's domain events (outbox rows and messages, outbox.ts) under their registered schemas
// (outbox-schemas.ts), or parks them (outbox-parked.ts): an event whose topic has no schema for its type, whose
// payload does not fit it, that cannot be routed, or whose aggregate has an earlier event parked is written to
// `_mesh_parked_events` instead, in the same write path (so exactly-once covers it, and the source position
// moves past it only once Kafka has it): never published unchecked, never dropped. A source may opt in to
// publishing events of topics with no schema at all as their JSON (`untyped: "json"`, a migration period).
//
// Order: deciding publish-or-park and writing happen in one synchronous step (the closure `prepare` returns),
// and so does each retry after its registry read, so a retry and the stream never interleave within one
// aggregate: an aggregate's events reach its topic (key = aggregate id, one partition) in commit order.
// The topic's codec is read from the registry when the topic is first seen, again when an event does not fit
// the one held (at most every `refreshMs`), and on every retry.
import { MeshError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/logger.ts";
import type { EventSink } from "../../protocol/sink.ts";
import { PARKED_EVENTS_TOPIC, parseTopic } from "../../protocol/topics.ts";
import type { Row } from "./backend.ts";
import type { OutboxTopicStatus, ParkedResolution } from "./contract.ts";
import { routeMessage, routeRow, type OutboxEvent, type Routed } from "./outbox.ts";
import {
  parkedKey,
  ParkedEvents,
  payloadBytes,
  storedPayload,
  type ParkedEvent,
  type ParkReason,
} from "./outbox-parked.ts";
import { loadLatestCodec, PayloadError, type EventSchemaSource, type TopicCodec } from "./outbox-schemas.ts";

/** Writes the event (publishes or parks it) when called: synchronous, in stream order. */
export type PreparedEvent = () => void;

export interface OutboxRouting {
  row(row: Row, position: string): PreparedEvent | Promise<PreparedEvent>;
  message(content: Buffer, position: string): PreparedEvent | Promise<PreparedEvent>;
}

export type ResolveResult = ParkedResolution;

export interface OutboxRouterOptions {
  source: string;
  owner: string;
  /** `json`: events of topics with no schema at all are published as their JSON (flagged untyped). */
  untyped: "park" | "json";
  /** Where event schemas are read; null: every typed event is parked (no registry). */
  schemas: EventSchemaSource | null;
  /** The session's write path (the same one as the changes: ordering and exactly-once). */
  sink: EventSink & { readonly ackedSeq: number };
  ensureTopic(topic: string): Promise<void>;
  /** The source's parked events, as loaded when the session started. */
  parked: readonly ParkedEvent[];
  now(): number;
  /** The source status's `outbox` (kept up to date here). */
  status: Record<string, OutboxTopicStatus>;
  logger: Logger;
  /** Least time between two registry reads of a topic's schema because an event did not fit (default 2 s). */
  refreshMs?: number;
  /** How long a retry waits for Kafka to acknowledge what it published before answering (default 15 s). */
  ackWaitMs?: number;
}

interface CodecEntry {
  codec: TopicCodec | null;
  /** The topic schema could not be compiled (e.g. a reference is gone). */
  error: string | null;
  loadedAt: number;
}

type Attempt = { value: Buffer | null; untyped: boolean } | { reason: ParkReason };

const RATE_WINDOW_S = 60;

export class OutboxRouter implements OutboxRouting {
  readonly #o: OutboxRouterOptions;
  readonly #parked: ParkedEvents;
  readonly #codecs = new Map<string, CodecEntry>();
  readonly #ensured = new Set<string>();
  /** Published events per second of the last minute, per topic: [second, count] pairs. */
  readonly #recent = new Map<string, [number, number][]>();
  readonly #ticker: NodeJS.Timeout;

  constructor(options: OutboxRouterOptions) {
    this.#o = options;
    this.#parked = new ParkedEvents(options.parked);
    for (const p of options.parked) if (p.topic) this.#topicStatus(p.topic);
    this.#ticker = setInterval(() => this.#rates(), 5_000);
    this.#ticker.unref();
  }

  close(): void {
    clearInterval(this.#ticker);
  }

  row(row: Row, position: string): PreparedEvent | Promise<PreparedEvent> {
    return this.#prepare(routeRow(this.#o.owner, row), position);
  }

  message(content: Buffer, position: string): PreparedEvent | Promise<PreparedEvent> {
    return this.#prepare(routeMessage(this.#o.owner, content), position);
  }

  /** The parked events of this session's source (oldest first per aggregate). */
  parked(): ParkedEvent[] {
    return this.#parked.all();
  }

  /**
   * Retry: publishes an aggregate's parked events in order while they now can be (the schema read anew),
   * stopping at the first that still cannot. Skip: drops the oldest, then does the same with the rest.
   */
  async resolve(topic: string, key: string, action: "retry" | "skip"): Promise<ResolveResult> {
    if (this.#parked.of(topic, key).length === 0)
      throw new MeshError(
        "MESH_NOT_FOUND",
        `no parked event of aggregate "${key}" on ${topic || "(unroutable)"}`,
        {
          topic,
          key,
        },
      );
    const routable = topic !== "" && !reservedBy(topic);
    if (routable) {
      await this.#ensure(topic);
      await this.#load(topic);
    }
    // From here on synchronous: no stream event of this aggregate can come between.
    const pending = this.#parked.of(topic, key);
    let skipped = 0;
    if (action === "skip") {
      const oldest = pending.shift();
      if (oldest) this.#unpark(oldest);
      skipped = 1;
    }
    let published = 0;
    let reason: ParkReason | null = null;
    for (const p of pending) {
      const ev = eventOf(p);
      const r = routable ? this.#attempt(ev) : { reason: p.reason };
      if ("reason" in r) {
        if (r.reason.code !== p.reason.code || r.reason.message !== p.reason.message)
          this.#writeParked({ ...p, reason: r.reason });
        reason = r.reason;
        break;
      }
      this.#publish(ev, r.value, r.untyped);
      this.#unpark(p);
      published++;
    }
    const seq = this.#o.sink.lastSeq;
    // Answer once Kafka has them (exactly-once: once the transaction they are in commits, at the next boundary).
    const until = Date.now() + (this.#o.ackWaitMs ?? 15_000);
    while (this.#o.sink.ackedSeq < seq && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    return { published, skipped, stillParked: this.#parked.of(topic, key).length, reason };
  }

  #prepare(routed: Routed, position: string): PreparedEvent | Promise<PreparedEvent> {
    const ev = routed.event;
    if ("unroutable" in routed) {
      const reason = {
        code: "MESH_EVENT_UNROUTABLE",
        message: `${routed.unroutable}; skip it, it cannot be published`,
      };
      return () => this.#park(ev, position, reason);
    }
    const owner = reservedBy(ev.topic);
    if (owner) {
      const reason = {
        code: "MESH_TOPIC_OWNED",
        message: `aggregatetype "${ev.headers.aggregatetype}" routes to ${ev.topic}, a name of ${owner}; use an aggregatetype without dots`,
      };
      return () => this.#park(ev, position, reason);
    }
    const entry = this.#codecs.get(ev.topic);
    if (entry && this.#ensured.has(ev.topic)) {
      const r = this.#attempt(ev);
      if (!this.#reread(entry, r)) return this.#writer(ev, position, r);
    }
    return (async () => {
      await this.#ensure(ev.topic);
      const held = this.#codecs.get(ev.topic);
      if (!held) await this.#load(ev.topic);
      let r = this.#attempt(ev);
      const now = this.#codecs.get(ev.topic);
      if (held && now && this.#reread(now, r)) {
        await this.#load(ev.topic);
        r = this.#attempt(ev);
      }
      return this.#writer(ev, position, r);
    })();
  }

  /**
   * Whether to read the topic's schema again before deciding: the event does not fit the schema held, or
   * goes out untyped while the topic may have got a schema since (then it must not go out untyped).
   */
  #reread(entry: CodecEntry, r: Attempt): boolean {
    return ("reason" in r || r.untyped) && this.#stale(entry);
  }

  #writer(ev: OutboxEvent, position: string, r: Attempt): PreparedEvent {
    return () => {
      const key = ev.key.toString("utf8");
      if (this.#parked.blocks(ev.topic, key)) {
        this.#park(ev, position, {
          code: "MESH_EVENT_BEHIND_PARKED",
          message: `an earlier event of aggregate "${key}" is parked; this one follows it once that one is retried or skipped`,
        });
      } else if ("reason" in r) this.#park(ev, position, r.reason);
      else this.#publish(ev, r.value, r.untyped);
    };
  }

  #stale(entry: CodecEntry): boolean {
    return this.#o.now() - entry.loadedAt >= (this.#o.refreshMs ?? 2_000);
  }

  async #ensure(topic: string): Promise<void> {
    if (this.#ensured.has(topic)) return;
    await this.#o.ensureTopic(topic);
    this.#ensured.add(topic);
  }

  /** Reads the topic's latest schema (registry failures are thrown: the session retries, nothing is parked). */
  async #load(topic: string): Promise<void> {
    const at = this.#o.now();
    let entry: CodecEntry;
    try {
      const codec = this.#o.schemas ? await loadLatestCodec(this.#o.schemas, topic) : null;
      entry = { codec, error: null, loadedAt: at };
    } catch (err) {
      if (!(err instanceof PayloadError)) throw err;
      entry = { codec: null, error: err.message, loadedAt: at };
    }
    this.#codecs.set(topic, entry);
  }

  #attempt(ev: OutboxEvent): Attempt {
    const entry = this.#codecs.get(ev.topic);
    const type = ev.headers.type ?? "";
    const declare = `declare it with PUT /v1/events/${ev.topic}/types/${type || "<type>"}, then retry`;
    if (!entry?.codec) {
      if (entry?.error)
        return {
          reason: {
            code: "MESH_EVENT_INVALID",
            message: `the schema of ${ev.topic} cannot be used: ${entry.error}`,
          },
        };
      if (this.#o.untyped === "json") return { value: ev.value, untyped: true };
      const why = this.#o.schemas ? `${ev.topic} has no event types` : "the connector has no schema registry";
      return { reason: { code: "MESH_EVENT_TYPE_UNDECLARED", message: `${why}; ${declare}` } };
    }
    if (!entry.codec.has(type))
      return {
        reason: {
          code: "MESH_EVENT_TYPE_UNDECLARED",
          message: `event type "${type}" has no schema on ${ev.topic} (declared: ${entry.codec.types.join(", ") || "none"}); ${declare}`,
        },
      };
    let payload: unknown;
    try {
      payload = ev.value === null ? null : (JSON.parse(ev.value.toString("utf8")) as unknown);
    } catch {
      return { reason: { code: "MESH_EVENT_INVALID", message: `the payload of ${type} is not JSON` } };
    }
    try {
      return { value: entry.codec.encode(type, payload), untyped: false };
    } catch (err) {
      if (!(err instanceof PayloadError)) throw err;
      return {
        reason: {
          code: "MESH_EVENT_INVALID",
          message: `the payload does not fit ${type}'s schema (${ev.topic}-value id ${entry.codec.id}): ${err.message}; fix the schema (a new compatible version) or skip the event`,
        },
      };
    }
  }

  #publish(ev: OutboxEvent, value: Buffer | null, untyped: boolean): void {
    this.#o.sink.enqueue({ topic: ev.topic, key: ev.key, value, headers: ev.headers });
    const s = this.#topicStatus(ev.topic);
    s.published++;
    if (untyped) s.untyped++;
    s.lastEventAt = new Date(this.#o.now()).toISOString();
    const second = Math.floor(this.#o.now() / 1000);
    const recent = this.#recent.get(ev.topic) ?? [];
    const last = recent.at(-1);
    if (last && last[0] === second) last[1]++;
    else recent.push([second, 1]);
    this.#recent.set(ev.topic, recent);
  }

  #park(ev: OutboxEvent, position: string, reason: ParkReason): void {
    const p: ParkedEvent = {
      id: parkedKey(this.#o.source, position, ev.headers.id ?? ""),
      source: this.#o.source,
      topic: ev.topic,
      key: ev.key.toString("utf8"),
      headers: ev.headers,
      ...storedPayload(ev.value),
      reason,
      parkedAt: new Date(this.#o.now()).toISOString(),
      position,
    };
    this.#writeParked(p);
    this.#o.logger.warn(
      { source: this.#o.source, topic: p.topic, key: p.key, type: p.headers.type, reason },
      "domain event parked",
    );
  }

  #writeParked(p: ParkedEvent): void {
    this.#o.sink.enqueue({
      topic: PARKED_EVENTS_TOPIC,
      key: Buffer.from(p.id),
      value: Buffer.from(JSON.stringify(p)),
      partition: 0,
    });
    this.#parked.add(p);
    if (p.topic) this.#topicStatus(p.topic).parked = this.#parked.count(p.topic);
  }

  #unpark(p: ParkedEvent): void {
    this.#o.sink.enqueue({ topic: PARKED_EVENTS_TOPIC, key: Buffer.from(p.id), value: null, partition: 0 });
    this.#parked.delete(p.id);
    if (p.topic) this.#topicStatus(p.topic).parked = this.#parked.count(p.topic);
  }

  #topicStatus(topic: string): OutboxTopicStatus {
    let s = this.#o.status[topic];
    if (!s) {
      s = { published: 0, untyped: 0, parked: 0, perSecond: 0, lastEventAt: null };
      this.#o.status[topic] = s;
    }
    s.parked = this.#parked.count(topic);
    return s;
  }

  /** Events per second over the last minute, per topic. */
  #rates(): void {
    const since = Math.floor(this.#o.now() / 1000) - RATE_WINDOW_S;
    for (const [topic, recent] of this.#recent) {
      while (recent.length > 0 && recent[0]![0] <= since) recent.shift();
      const s = this.#o.status[topic];
      if (s) s.perSecond = recent.reduce((n, [, c]) => n + c, 0) / RATE_WINDOW_S;
    }
  }
}

/** Whose name an event topic would take: a table, transactions or heartbeat topic form (null: none). */
function reservedBy(topic: string): string | null {
  const parsed = parseTopic(topic);
  if (parsed.kind === "other") return null;
  if (parsed.kind === "internal") return "an internal topic";
  return `source ${parsed.source}'s ${parsed.kind === "table" ? "table" : parsed.kind} topics`;
}

function eventOf(p: ParkedEvent): OutboxEvent {
  return { topic: p.topic, key: Buffer.from(p.key, "utf8"), value: payloadBytes(p), headers: p.headers };
}
