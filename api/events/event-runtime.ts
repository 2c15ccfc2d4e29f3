// What the HTTP API's /v1/events routes need (routes/events.ts): the domain-event topics with their owner,
// declared event types, schema versions and throughput; declaring a type's schema; an aggregate's parked
// events and the operator's retry/skip. event-topics.ts implements it on the catalog, the registry, the
// sources' status and `_mesh_parked_events`.
import type { ParkedResolution } from "../../connectors/core/change-source.ts";
import type { EventFormat } from "../../connectors/core/outbox-schemas.ts";

export interface EventTypeInfo {
  type: string;
  /** The type's subject (`<topic>.<type>`) and its version the topic schema references. */
  subject: string;
  version: number;
  schemaId: number;
  /** What the topic schema calls it (Avro record / Protobuf message full name; JSON: the type). */
  name: string;
  updatedAt: string;
}

export interface EventTopicInfo {
  topic: string;
  owner: string;
  /** Sources of the owner with an outbox (the ones that may feed the topic). */
  sources: string[];
  /** Schema format of its types (null: none declared). */
  format: EventFormat | null;
  types: EventTypeInfo[];
  /** `<topic>-value` and its latest version over the types (null: none yet). */
  valueSubject: string;
  valueVersion: number | null;
  /** No declared type and a source publishing untyped events as plain JSON (a migration period). */
  untyped: boolean;
  /** Events published since the feeding connectors started (of which plain JSON). */
  published: number;
  publishedUntyped: number;
  /** Published per second over the last minute. */
  perSecond: number;
  lastEventAt: string | null;
  /** Events parked now. */
  parked: number;
}

export interface ParkedEventInfo {
  source: string;
  topic: string;
  /** The aggregate id: what a retry or skip names. */
  key: string;
  eventId: string;
  type: string;
  reason: { code: string; message: string };
  parkedAt: string;
  payload: string | null;
  payloadEncoding: "utf8" | "base64";
}

export interface DeclareTypeInput {
  owner: string;
  format: EventFormat;
  schema: string;
}

export interface DeclaredType extends EventTypeInfo {
  topic: string;
  format: EventFormat;
  schema: string;
}

export interface EventRuntime {
  list(): EventTopicInfo[];
  get(topic: string): EventTopicInfo | undefined;
  /** An topic's parked events, oldest first per aggregate (the first `limit`), and how many there are. */
  parked(topic: string, limit: number): { events: ParkedEventInfo[]; count: number };
  /** Registers a type's schema and the topic schema over all types, then records them in the catalog. */
  declare(
    topic: string,
    type: string,
    input: DeclareTypeInput,
  ): Promise<{ created: boolean; type: DeclaredType }>;
  /** A declared type with its schema text (the version the topic schema references). */
  type(topic: string, type: string): Promise<DeclaredType | undefined>;
  resolveParked(
    topic: string,
    key: string,
    action: "retry" | "skip",
    options: { forwarded: boolean },
  ): Promise<ParkedResolution & { source: string }>;
}
