// /v1/events: the domain-event topics (`<owner>.<aggregatetype>`, fed by sources' outboxes) with owner, event
// types, schema versions and throughput; declaring an event type's schema; a topic's parked events and the
// operator's retry or skip (as views' parked records). Events themselves stream at /v1/topics/{topic}/events.
import type { FastifyInstance } from "fastify";
import {
  EVENT_FORMATS,
  EVENT_TYPE_PATTERN,
  type EventFormat,
} from "../../../connectors/core/outbox-schemas.ts";
import { notFound } from "../../../lib/http/errors.ts";
import { errorResponses } from "../../../lib/http/error-responses.ts";
import { SOURCE_NAME_PATTERN } from "../../../protocol/topics.ts";
import type { EventRuntime } from "../../events/event-runtime.ts";
import { FORWARDED_HEADER } from "../../runtime.ts";
import { principalOf, type Principal } from "../../../lib/http/auth.ts";
import type { Access } from "../../governance/access.ts";
import { registeringOwner, requireOwner } from "../../governance/ownership.ts";
import { eventTopicOwner } from "../../../protocol/catalog.ts";

/** `<owner>.<aggregatetype>`: the owner a source/owner name, the aggregate type letters, digits, `_`, `-`. */
export const EVENT_TOPIC_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_-]{0,99}\\.[A-Za-z0-9_-]{1,148}$";

/** How many parked events GET /v1/events/{topic} lists. */
const PARKED_LISTED = 100;

const typeSchema = {
  $id: "EventType",
  type: "object",
  required: ["type", "subject", "version", "schemaId", "name", "updatedAt"],
  properties: {
    type: { type: "string", description: "the outbox row's `type`" },
    subject: { type: "string", description: "the type's own subject, `<topic>.<type>`" },
    version: { type: "integer", description: "the version of it the topic schema references" },
    schemaId: { type: "integer" },
    name: { type: "string", description: "its Avro record / Protobuf message full name (JSON: the type)" },
    updatedAt: { type: "string", format: "date-time" },
  },
} as const;

const formatSchema = { type: "string", enum: [...EVENT_FORMATS] } as const;

export const eventTopicSchema = {
  $id: "EventTopic",
  type: "object",
  required: [
    "topic",
    "owner",
    "sources",
    "format",
    "types",
    "valueSubject",
    "valueVersion",
    "untyped",
    "published",
    "publishedUntyped",
    "perSecond",
    "lastEventAt",
    "parked",
  ],
  properties: {
    topic: { type: "string" },
    owner: { type: "string", description: "the service whose topic it is (the topic's first part)" },
    sources: { type: "array", items: { type: "string" }, description: "the owner's sources with an outbox" },
    format: {
      type: ["string", "null"],
      enum: [...EVENT_FORMATS, null],
      description: "null: no type declared",
    },
    types: { type: "array", items: { $ref: "EventType#" } },
    valueSubject: { type: "string", description: "`<topic>-value`: what stock deserializers read" },
    valueVersion: { type: ["integer", "null"] },
    untyped: {
      type: "boolean",
      description: "no type declared and a source publishes its events as plain JSON (untyped: json)",
    },
    published: { type: "integer", description: "events published since the feeding connectors started" },
    publishedUntyped: { type: "integer", description: "of those, as plain JSON" },
    perSecond: { type: "number", description: "published per second over the last minute" },
    lastEventAt: { type: ["string", "null"], format: "date-time" },
    parked: { type: "integer", description: "events parked now" },
  },
} as const;

export const parkedEventSchema = {
  $id: "ParkedEvent",
  type: "object",
  required: ["source", "topic", "key", "eventId", "type", "reason", "parkedAt", "payload", "payloadEncoding"],
  properties: {
    source: { type: "string" },
    topic: { type: "string" },
    key: { type: "string", description: "the aggregate id: what retry and skip name" },
    eventId: { type: "string" },
    type: { type: "string" },
    reason: {
      type: "object",
      required: ["code", "message"],
      properties: { code: { type: "string" }, message: { type: "string" } },
    },
    parkedAt: { type: "string", format: "date-time" },
    payload: { type: ["string", "null"] },
    payloadEncoding: { type: "string", enum: ["utf8", "base64"] },
  },
} as const;

const declaredSchema = {
  $id: "DeclaredEventType",
  type: "object",
  required: [...typeSchema.required, "topic", "format", "schema"],
  properties: {
    ...typeSchema.properties,
    topic: { type: "string" },
    format: formatSchema,
    schema: { type: "string", description: "the schema text as registered" },
  },
} as const;

const resolutionSchema = {
  $id: "ParkedEventsResolution",
  type: "object",
  required: ["source", "published", "skipped", "stillParked", "reason"],
  properties: {
    source: { type: "string", description: "the source whose connector published them" },
    published: { type: "integer" },
    skipped: { type: "integer" },
    stillParked: { type: "integer" },
    reason: {
      type: ["object", "null"],
      description: "why the first event still parked is (null: none is)",
      required: ["code", "message"],
      properties: { code: { type: "string" }, message: { type: "string" } },
    },
  },
} as const;

/** The shared schemas of the event routes (server.ts registers them; the document names them). */
export const eventSchemas = [
  typeSchema,
  eventTopicSchema,
  parkedEventSchema,
  declaredSchema,
  resolutionSchema,
];

const topicParam = {
  type: "string",
  pattern: EVENT_TOPIC_PATTERN,
  description: "`<owner>.<aggregatetype>`",
} as const;

const topicParams = {
  type: "object",
  required: ["topic"],
  additionalProperties: false,
  properties: { topic: topicParam },
} as const;

const typeParams = {
  type: "object",
  required: ["topic", "type"],
  additionalProperties: false,
  properties: {
    topic: topicParam,
    type: { type: "string", pattern: EVENT_TYPE_PATTERN, description: "the outbox row's `type`" },
  },
} as const;

export function eventRoutes(app: FastifyInstance, events: EventRuntime, access: Access): void {
  /** The topic's owner (its first part) or the admin: declares its types, sees and resolves its parked events. */
  const owns = (principal: Principal, topic: string): boolean =>
    principal.admin || principal.internal || principal.service === eventTopicOwner(topic);
  app.get(
    "/v1/events",
    {
      schema: {
        tags: ["events"],
        operationId: "listEventTopics",
        summary:
          "The domain-event topics the caller may read: owner, event types, schema versions, throughput, parked events",
        response: {
          200: {
            type: "object",
            required: ["events"],
            properties: { events: { type: "array", items: { $ref: "EventTopic#" } } },
          },
          ...errorResponses(),
        },
      },
    },
    (request) => {
      const principal = principalOf(request);
      return { events: events.list().filter((e) => access.topic(principal, e.topic).allowed) };
    },
  );

  app.get<{ Params: { topic: string } }>(
    "/v1/events/:topic",
    {
      schema: {
        tags: ["events"],
        operationId: "getEventTopic",
        summary:
          "One domain-event topic with its parked events (the first 100, oldest first per aggregate; its owner and the admin only)",
        params: topicParams,
        response: {
          200: {
            type: "object",
            required: [...eventTopicSchema.required, "parkedEvents"],
            properties: {
              ...eventTopicSchema.properties,
              parkedEvents: { type: "array", items: { $ref: "ParkedEvent#" } },
            },
          },
          ...errorResponses("MESH_NOT_FOUND", "MESH_FORBIDDEN"),
        },
      },
    },
    (request) => {
      const topic = events.get(request.params.topic);
      if (!topic) throw notFound("event topic", request.params.topic);
      const principal = principalOf(request);
      access.requireTopic(principal, topic.topic);
      // Parked events were never published: their payloads are the owner's alone.
      const parked = owns(principal, topic.topic) ? events.parked(topic.topic, PARKED_LISTED).events : [];
      return { ...topic, parkedEvents: parked };
    },
  );

  app.get<{ Params: { topic: string; type: string } }>(
    "/v1/events/:topic/types/:type",
    {
      schema: {
        tags: ["events"],
        operationId: "getEventType",
        summary: "A declared event type with its schema",
        params: typeParams,
        response: { 200: { $ref: "DeclaredEventType#" }, ...errorResponses("MESH_NOT_FOUND") },
      },
    },
    async (request) => {
      const declared = await events.type(request.params.topic, request.params.type);
      if (!declared) throw notFound("event type", `${request.params.topic} ${request.params.type}`);
      return declared;
    },
  );

  app.put<{
    Params: { topic: string; type: string };
    Body: { owner: string; format?: EventFormat; schema: string };
  }>(
    "/v1/events/:topic/types/:type",
    {
      schema: {
        tags: ["events"],
        operationId: "declareEventType",
        summary: "Declare (or change) an event type's schema; the topic's value schema covers every type",
        description:
          "Registers the schema under the type's subject `<topic>.<type>`, then the topic's value schema " +
          "(`<topic>-value`: an Avro union / JSON Schema anyOf / Protobuf oneof over every type, by reference) " +
          "under the subjects' compatibility rule (409 MESH_SCHEMA_INCOMPATIBLE), and records the type in the " +
          "catalog. Only the topic's owner declares (409 MESH_TOPIC_OWNED); every type of a topic has one format " +
          "and an Avro type is a named record, a Protobuf type the first message of its file (422 MESH_BAD_SCHEMA). " +
          "Parked events of the type publish on the next retry.",
        params: typeParams,
        body: {
          type: "object",
          additionalProperties: false,
          required: ["owner", "schema"],
          properties: {
            owner: { type: "string", pattern: SOURCE_NAME_PATTERN, description: "the declaring service" },
            format: { ...formatSchema, default: "AVRO" },
            schema: {
              type: "string",
              minLength: 1,
              description: "the schema text (Avro JSON, JSON Schema, .proto)",
            },
          },
        },
        response: {
          200: { description: "Changed: a new version of the type", $ref: "DeclaredEventType#" },
          201: { description: "Declared: a new type of the topic", $ref: "DeclaredEventType#" },
          ...errorResponses(
            "MESH_FORBIDDEN",
            "MESH_TOPIC_OWNED",
            "MESH_CONFLICT",
            "MESH_UNPROCESSABLE",
            "MESH_SCHEMA_INCOMPATIBLE",
            "MESH_BAD_SCHEMA",
          ),
        },
      },
    },
    async (request, reply) => {
      const { format, schema } = request.body;
      // A service declares only as itself; the topic's own rule (its first part) is the catalog's.
      const owner = registeringOwner(principalOf(request), "event type", request.body.owner, true) ?? "";
      const out = await events.declare(request.params.topic, request.params.type, {
        owner,
        format: format ?? "AVRO",
        schema,
      });
      return reply.status(out.created ? 201 : 200).send(out.type);
    },
  );

  for (const action of ["retry", "skip"] as const) {
    app.post<{ Params: { topic: string }; Body: { key: string } }>(
      `/v1/events/:topic/parked/${action}`,
      {
        schema: {
          tags: ["events"],
          operationId: action === "retry" ? "retryParkedEvents" : "skipParkedEvent",
          summary:
            action === "retry"
              ? "Retry an aggregate's parked events: publish them in order while they now can be"
              : "Skip an aggregate's oldest parked event, then publish the ones behind it that can be",
          description:
            "The source's connector does it (forwarded to the API process running it), reading the topic's " +
            "schema anew. 404: the aggregate has no parked event; 409: its connector is not running right now.",
          params: topicParams,
          body: {
            type: "object",
            additionalProperties: false,
            required: ["key"],
            properties: { key: { type: "string", description: "the aggregate id (a parked event's `key`)" } },
          },
          response: {
            200: { $ref: "ParkedEventsResolution#" },
            ...errorResponses("MESH_NOT_FOUND", "MESH_FORBIDDEN", "MESH_CONFLICT", "MESH_KAFKA_FENCED"),
          },
        },
      },
      (request) => {
        const principal = principalOf(request);
        if (!owns(principal, request.params.topic))
          requireOwner(principal, "topic", request.params.topic, eventTopicOwner(request.params.topic));
        return events.resolveParked(request.params.topic, request.body.key, action, {
          forwarded: request.headers[FORWARDED_HEADER] === "1",
        });
      },
    );
  }
}
