// Declaring an event type's schema (PUT /v1/events/{topic}/types/{type}): the topic must be its owner's and
// a domain-event name; the schema is checked for its format, registered under the type's subject (the
// registry applies the subject's compatibility rule), then the topic's value schema over every type of the
// topic is registered under `<topic>-value` (its rule again), and the catalog records the types with their
// versions. Declarations of one topic in this process run one after the other; between processes the
// registry's compatibility rule refuses a topic schema that would drop another's new type.
import { randomUUID } from "node:crypto";
import { isMeshError, MeshError } from "../../lib/errors.ts";
import {
  checkTypeSchema,
  eventTypeSubject,
  PayloadError,
  topicSchema,
  type EventFormat,
  type EventSchemaSource,
  type SchemaReference,
  type TypeSchema,
} from "../../connectors/core/outbox-schemas.ts";
import { eventTopicOwner, type EventTopicRecord, type EventTypeRecord } from "../../protocol/catalog.ts";
import { parseTopic, valueSubject } from "../../protocol/topics.ts";
import type { Catalog } from "../catalog/catalog.ts";
import type { DeclaredType, DeclareTypeInput } from "./event-runtime.ts";

/** What declaring needs from the registry (lib/registry-client.ts). */
export interface EventRegistry extends EventSchemaSource {
  registerSchema(
    subject: string,
    schema: { schemaType: EventFormat; schema: string; references?: SchemaReference[] },
  ): Promise<number>;
  versions(subject: string): Promise<number[]>;
}

/** The version of `subject` registered under `id` (the latest first: a re-declaration keeps its version). */
async function versionOf(registry: EventRegistry, subject: string, id: number): Promise<number> {
  const versions = await registry.versions(subject);
  for (const v of [...versions].reverse()) {
    if ((await registry.subjectVersion(subject, v))?.id === id) return v;
  }
  throw new MeshError("MESH_INTERNAL", `the registry holds no version of ${subject} with id ${id}`, {
    subject,
    id,
  });
}

function badSchema(err: unknown, what: string): never {
  if (err instanceof PayloadError)
    throw new MeshError("MESH_BAD_SCHEMA", `${what}: ${err.message.replace(/^schema: /, "")}`);
  throw err;
}

/** Refuses topics that are not `<owner>.<aggregatetype>` of the caller (409 MESH_TOPIC_OWNED). */
export function checkEventTopic(topic: string, owner: string): void {
  const parsed = parseTopic(topic);
  if (parsed.kind !== "other")
    throw new MeshError(
      "MESH_TOPIC_OWNED",
      `${topic} is a name of source ${"source" in parsed ? parsed.source : "internal"}'s ${parsed.kind} topics, not a domain-event topic`,
      { topic },
    );
  const prefix = eventTopicOwner(topic);
  if (prefix !== owner)
    throw new MeshError(
      "MESH_TOPIC_OWNED",
      `topic ${topic} belongs to service "${prefix}": only its owner declares its event types (you are "${owner}")`,
      { topic, owner: prefix },
    );
}

export class EventDeclarations {
  readonly #catalog: Catalog;
  readonly #registry: EventRegistry;
  readonly #chains = new Map<string, Promise<unknown>>();

  constructor(catalog: Catalog, registry: EventRegistry) {
    this.#catalog = catalog;
    this.#registry = registry;
  }

  declare(
    topic: string,
    type: string,
    input: DeclareTypeInput,
  ): Promise<{ created: boolean; type: DeclaredType }> {
    const run = (this.#chains.get(topic) ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => this.#declare(topic, type, input));
    this.#chains.set(topic, run);
    void run
      .finally(() => {
        if (this.#chains.get(topic) === run) this.#chains.delete(topic);
      })
      .catch(() => undefined);
    return run;
  }

  async #declare(
    topic: string,
    type: string,
    input: DeclareTypeInput,
  ): Promise<{ created: boolean; type: DeclaredType }> {
    checkEventTopic(topic, input.owner);
    const now = new Date().toISOString();
    const existing = this.#catalog.eventTopic(topic);
    const draft: EventTopicRecord = existing ?? {
      type: "events",
      id: randomUUID(),
      topic,
      owner: input.owner,
      format: input.format,
      types: [],
      valueVersion: 0,
      valueSchemaId: 0,
      createdAt: now,
      updatedAt: now,
    };
    // Ownership first (a source named like the owner, another owner's record): nothing is registered then.
    this.#catalog.checkEvents(draft);
    if (existing && existing.format !== input.format)
      throw new MeshError(
        "MESH_BAD_SCHEMA",
        `the event types of ${topic} are ${existing.format} schemas; declare this one as ${existing.format} too`,
        { topic, format: existing.format },
      );
    let name: string;
    try {
      name = checkTypeSchema(input.format, type, input.schema);
    } catch (err) {
      badSchema(err, `the ${input.format} schema of ${type}`);
    }
    const subject = eventTypeSubject(topic, type);
    const schemaId = await this.#registry.registerSchema(subject, {
      schemaType: input.format,
      schema: input.schema,
    });
    const version = await versionOf(this.#registry, subject, schemaId);
    const typeRecord: EventTypeRecord = { type, subject, version, schemaId, name, updatedAt: now };
    const known = draft.types.some((t) => t.type === type);
    const types = known
      ? draft.types.map((t) => (t.type === type ? typeRecord : t))
      : [...draft.types, typeRecord];
    const schemas: TypeSchema[] = await Promise.all(
      types.map(async (t) => {
        if (t.type === type) return { type, subject, version, schema: input.schema };
        const held = await this.#registry.subjectVersion(t.subject, t.version);
        if (!held)
          throw new MeshError("MESH_INTERNAL", `${t.subject} v${t.version} is gone from the registry`);
        return { type: t.type, subject: t.subject, version: t.version, schema: held.schema };
      }),
    );
    let built: ReturnType<typeof topicSchema>;
    try {
      built = topicSchema(topic, input.format, schemas);
    } catch (err) {
      badSchema(err, `the schema of ${topic}`);
    }
    const value = valueSubject(topic);
    const valueSchemaId = await this.#registry
      .registerSchema(value, { schemaType: input.format, ...built })
      .catch((err: unknown) => {
        if (isMeshError(err) && err.code === "MESH_SCHEMA_INCOMPATIBLE")
          throw new MeshError(
            "MESH_SCHEMA_INCOMPATIBLE",
            `${type}'s new schema makes ${value} incompatible with its last version: ${err.message}`,
            err.details,
          );
        throw err;
      });
    const valueVersion = await versionOf(this.#registry, value, valueSchemaId);
    const record: EventTopicRecord = { ...draft, types, valueVersion, valueSchemaId, updatedAt: now };
    await this.#catalog.putEvents(record);
    return {
      created: !known,
      type: { ...typeRecord, topic, format: input.format, schema: input.schema },
    };
  }
}
