// The domain-event topics as the API shows them (EventRuntime): every `<owner>.<aggregatetype>` topic with
// declared types (the catalog's `events/<topic>` records), fed by a source's outbox (its status), or holding
// parked events; owner, types and schema versions, throughput from the feeding connectors' status, parked
// events from `_mesh_parked_events` (parked-view.ts). Also how /v1/topics/{topic}/events streams an event
// topic: the key is the aggregate id (text), the value the payload decoded with the writer's topic schema
// (connectors/core/outbox-schemas.ts; untyped JSON events as their JSON), the headers kept.
import type { ParkedResolution } from "../../connectors/core/change-source.ts";
import { loadCodecById, type TopicCodec } from "../../connectors/core/outbox-schemas.ts";
import type { ParkedEvent } from "../../connectors/core/outbox-parked.ts";
import { MeshError } from "../../lib/errors.ts";
import type { InRecord } from "../../lib/kafka/index.ts";
import { eventTopicOwner, type SourceRecord } from "../../protocol/catalog.ts";
import { parseTopic, valueSubject } from "../../protocol/topics.ts";
import type { Catalog } from "../catalog/catalog.ts";
import type { SourceRuntime, TopicEvent } from "../runtime.ts";
import { EventDeclarations, type EventRegistry } from "./declare.ts";
import type {
  DeclaredType,
  DeclareTypeInput,
  EventRuntime,
  EventTopicInfo,
  ParkedEventInfo,
} from "./event-runtime.ts";
import type { ParkedView } from "./parked-view.ts";

export interface EventTopicsOptions {
  catalog: Catalog;
  sources: SourceRuntime;
  registry: EventRegistry;
  parked: ParkedView;
}

function info(p: ParkedEvent): ParkedEventInfo {
  return {
    source: p.source,
    topic: p.topic,
    key: p.key,
    eventId: p.headers.id ?? "",
    type: p.headers.type ?? "",
    reason: p.reason,
    parkedAt: p.parkedAt,
    payload: p.payload,
    payloadEncoding: p.payloadEncoding,
  };
}

export class EventTopics implements EventRuntime {
  readonly #o: EventTopicsOptions;
  readonly #declarations: EventDeclarations;
  /** Writer schemas by id (an id never changes meaning). */
  readonly #codecs = new Map<number, Promise<TopicCodec | null>>();

  constructor(options: EventTopicsOptions) {
    this.#o = options;
    this.#declarations = new EventDeclarations(options.catalog, options.registry);
  }

  /** Sources with an outbox, by owner. */
  #feeders(owner: string): SourceRecord[] {
    return this.#o.catalog.sources().filter((s) => s.outbox && s.owner === owner);
  }

  /** Whether `topic` is a domain-event topic (declared, or of an owner with an outbox). No I/O. */
  known(topic: string): boolean {
    if (this.#o.catalog.eventTopic(topic)) return true;
    if (parseTopic(topic).kind !== "other" || !topic.includes(".")) return false;
    return this.#feeders(eventTopicOwner(topic)).length > 0;
  }

  list(): EventTopicInfo[] {
    const topics = new Set(this.#o.catalog.eventTopics().map((e) => e.topic));
    for (const s of this.#o.catalog.sources()) {
      if (!s.outbox) continue;
      for (const t of Object.keys(this.#o.sources.status(s.name)?.outbox ?? {})) topics.add(t);
    }
    for (const p of this.#o.parked.events.all()) if (p.topic) topics.add(p.topic);
    return [...topics].sort().flatMap((t) => this.get(t) ?? []);
  }

  get(topic: string): EventTopicInfo | undefined {
    const record = this.#o.catalog.eventTopic(topic);
    const owner = eventTopicOwner(topic);
    const feeders = this.#feeders(owner);
    const parked = this.#o.parked.events.count(topic);
    const statuses = feeders.flatMap((s) => this.#o.sources.status(s.name)?.outbox?.[topic] ?? []);
    if (!record && statuses.length === 0 && parked === 0 && !this.known(topic)) return undefined;
    const last = statuses
      .map((s) => s.lastEventAt)
      .filter((t): t is string => t !== null)
      .sort()
      .at(-1);
    return {
      topic,
      owner,
      sources: feeders.map((s) => s.name),
      format: record?.format ?? null,
      types: (record?.types ?? []).map((t) => ({ ...t })),
      valueSubject: valueSubject(topic),
      valueVersion: record ? record.valueVersion : null,
      untyped: !record && feeders.some((s) => s.outbox?.untyped === "json"),
      published: statuses.reduce((n, s) => n + s.published, 0),
      publishedUntyped: statuses.reduce((n, s) => n + s.untyped, 0),
      perSecond: statuses.reduce((n, s) => n + s.perSecond, 0),
      lastEventAt: last ?? null,
      parked,
    };
  }

  parked(topic: string, limit: number): { events: ParkedEventInfo[]; count: number } {
    const all = this.#o.parked.events.all().filter((p) => p.topic === topic);
    return { events: all.slice(0, limit).map(info), count: all.length };
  }

  declare(
    topic: string,
    type: string,
    input: DeclareTypeInput,
  ): Promise<{ created: boolean; type: DeclaredType }> {
    return this.#declarations.declare(topic, type, input);
  }

  async type(topic: string, type: string): Promise<DeclaredType | undefined> {
    const record = this.#o.catalog.eventTopic(topic);
    const t = record?.types.find((x) => x.type === type);
    if (!record || !t) return undefined;
    const held = await this.#o.registry.subjectVersion(t.subject, t.version);
    return { ...t, topic, format: record.format, schema: held?.schema ?? "" };
  }

  async resolveParked(
    topic: string,
    key: string,
    action: "retry" | "skip",
    options: { forwarded: boolean },
  ): Promise<ParkedResolution & { source: string }> {
    await this.#o.parked.caughtUp();
    const first = this.#o.parked.events.of(topic, key)[0];
    if (!first)
      throw new MeshError(
        "MESH_NOT_FOUND",
        `no parked event of aggregate "${key}" on ${topic}; list them with GET /v1/events/${topic}`,
        { topic, key },
      );
    const resolve = this.#o.sources.resolveParked?.bind(this.#o.sources);
    if (!resolve)
      throw new MeshError("MESH_CONFLICT", `this API process runs no connectors; retry on one that does`, {
        source: first.source,
      });
    const result = await resolve(first.source, { topic, key }, action, options);
    // Shown at once by the next GET: the view has read the connector's tombstones.
    await this.#o.parked.caughtUp();
    return { ...result, source: first.source };
  }

  /** A record of an event topic as a stream shows it. */
  async decode(record: InRecord): Promise<TopicEvent> {
    const headers = Object.fromEntries(
      Object.entries(record.headers).map(([k, v]) => [k, v.toString("utf8")]),
    );
    return {
      partition: record.partition,
      offset: String(record.offset),
      timestamp: new Date(record.timestamp).toISOString(),
      key: record.key?.toString("utf8") ?? null,
      value: await this.#value(record.topic, record.value),
      headers,
    };
  }

  async #value(topic: string, value: Buffer | null): Promise<unknown> {
    if (value === null) return null;
    if (value.length >= 5 && value[0] === 0) {
      const id = value.readUInt32BE(1);
      let codec = this.#codecs.get(id);
      if (!codec) {
        codec = loadCodecById(this.#o.registry, topic, id);
        codec.catch(() => this.#codecs.delete(id));
        this.#codecs.set(id, codec);
      }
      const c = await codec;
      if (c) return c.decode(value);
    }
    // Untyped events: their JSON (or text).
    const text = value.toString("utf8");
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
}
