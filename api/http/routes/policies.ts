// /v1/policies: the owner of a topic (a table's, or a domain-event topic's) grants a reader service access to
// it, optionally with columns hashed, redacted or dropped; lists what the caller owns or is granted; revokes.
// What a policy grants is decided in api/governance/decide.ts, on every path that serves data.
import { randomBytes, randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { MeshError } from "../../../lib/errors.ts";
import { principalOf, requireScope, type Principal } from "../../../lib/http/auth.ts";
import { errorResponses } from "../../../lib/http/error-responses.ts";
import { notFound } from "../../../lib/http/errors.ts";
import { MASK_MODES, masksColumns, type MaskMode, type PolicyRecord } from "../../../protocol/policies.ts";
import { SOURCE_NAME_PATTERN } from "../../../protocol/topics.ts";
import type { Access } from "../../governance/access.ts";
import type { ApiContext } from "../context.ts";

export const policySchema = {
  $id: "Policy",
  type: "object",
  required: ["id", "topic", "owner", "reader", "columns", "kafkaAcl", "createdBy", "createdAt"],
  properties: {
    id: { type: "string" },
    topic: {
      type: "string",
      description: "the granted topic (a table's `<source>.<schema>.<table>`, or `<owner>.<aggregate>`)",
    },
    owner: { type: "string", description: "the service that owns the topic and granted the policy" },
    reader: { type: "string", description: "the service granted" },
    columns: {
      type: "object",
      additionalProperties: { type: "string", enum: [...MASK_MODES] },
      description: "masked columns: hash (HMAC-SHA256 under the policy's key), redact (null), drop (absent)",
    },
    kafkaAcl: {
      type: "boolean",
      description: "a grant in full (no masks): the reader's Kafka principal may read the raw topic",
    },
    createdBy: { type: "string" },
    createdAt: { type: "string", format: "date-time" },
  },
} as const;

const policyRef = { $ref: "Policy#" } as const;

interface CreateBody {
  table?: string;
  topic?: string;
  reader: string;
  columns?: Record<string, MaskMode>;
}

const idParams = {
  type: "object",
  required: ["id"],
  additionalProperties: false,
  properties: { id: { type: "string", minLength: 1, maxLength: 100, description: "the policy's id" } },
} as const;

/** A policy as the API shows it: never its key. */
export function publicPolicy(p: PolicyRecord): Record<string, unknown> {
  return {
    id: p.id,
    topic: p.topic,
    owner: p.owner,
    reader: p.reader,
    columns: p.columns,
    kafkaAcl: !masksColumns(p),
    createdBy: p.createdBy,
    createdAt: p.createdAt,
  };
}

/** Whether the principal sees the policy: the admin, the topic's owner, the reader granted. */
function visible(principal: Principal, p: PolicyRecord): boolean {
  return (
    principal.admin || principal.internal || p.owner === principal.service || p.reader === principal.service
  );
}

/** The principal may manage grants on the topic: its owner, or the admin. */
function requireOwner(access: Access, principal: Principal, topic: string, action: string): string {
  const owner = access.grants.ownerOf(topic);
  if (owner === null)
    throw new MeshError(
      "MESH_NOT_FOUND",
      `no topic ${topic} has an owner in the catalog; list them with GET /v1/topics`,
      {
        topic,
      },
    );
  if (principal.admin || principal.internal || principal.service === owner) return owner;
  throw new MeshError(
    "MESH_FORBIDDEN",
    `only service "${owner}", the owner of ${topic}, (or the admin) may ${action}; this token is service "${principal.service ?? principal.id}"`,
    { policy: null, reason: "not the owner", topic, owner, service: principal.service },
  );
}

export function policyRoutes(app: FastifyInstance, ctx: ApiContext, access: Access): void {
  app.post<{ Body: CreateBody }>(
    "/v1/policies",
    {
      schema: {
        tags: ["policies"],
        operationId: "createPolicy",
        summary: "Grant a reader service a topic (and the views over it), optionally with columns masked",
        description:
          "Only the topic's owner (or the admin) grants. Name the topic as `table` or `topic` (the same name: " +
          "`<source>.<schema>.<table>`, or a domain-event topic `<owner>.<aggregate>`). One policy per topic and " +
          "reader (409 `MESH_CONFLICT` names the existing one). A grant without masks also gives the reader's " +
          "Kafka principal READ on the raw topic; a masked grant does not (the reader uses SSE).",
        body: {
          type: "object",
          additionalProperties: false,
          required: ["reader"],
          properties: {
            table: {
              type: "string",
              minLength: 1,
              description: "a table's topic, `<source>.<schema>.<table>`",
            },
            topic: {
              type: "string",
              minLength: 1,
              description: "any owned topic (same as `table` for tables)",
            },
            reader: { type: "string", pattern: SOURCE_NAME_PATTERN, description: "the service granted" },
            columns: {
              type: "object",
              additionalProperties: { type: "string", enum: [...MASK_MODES] },
              description: "column → hash | redact | drop; absent: every column in clear",
            },
          },
        },
        response: {
          201: { description: "Granted", ...policyRef },
          ...errorResponses(
            "MESH_FORBIDDEN",
            "MESH_NOT_FOUND",
            "MESH_CONFLICT",
            "MESH_UNPROCESSABLE",
            "MESH_KAFKA_FENCED",
          ),
        },
      },
    },
    async (request, reply) => {
      const principal = requireScope(request, "write");
      const { table, topic: named, reader } = request.body;
      if ((table === undefined) === (named === undefined) || (table && named && table !== named))
        throw new MeshError("MESH_UNPROCESSABLE", "name the granted topic once: `table` or `topic`", {
          field: "table",
        });
      const topic = (table ?? named) as string;
      const owner = requireOwner(access, principal, topic, "grant access to it");
      if (reader === owner)
        throw new MeshError(
          "MESH_UNPROCESSABLE",
          `service "${owner}" owns ${topic} and always reads it in clear; grant another service`,
          { field: "reader", reader },
        );
      // A misspelt column would leave the real one in clear: refuse names the table does not have.
      const masked = Object.keys(request.body.columns ?? {});
      const known = masked.length > 0 ? await access.columnsOf(topic) : null;
      const unknown = known ? masked.filter((c) => !known.includes(c)) : [];
      if (unknown.length > 0)
        throw new MeshError(
          "MESH_UNPROCESSABLE",
          `${topic} has no column ${unknown.join(", ")}; its columns are ${known?.join(", ")}`,
          { field: "columns", columns: unknown },
        );
      const record: PolicyRecord = {
        type: "policy",
        id: randomUUID(),
        topic,
        owner,
        reader,
        columns: { ...(request.body.columns ?? {}) },
        key: randomBytes(32).toString("base64"),
        createdBy: principal.service ?? principal.id,
        createdAt: new Date().toISOString(),
      };
      await ctx.catalog.putPolicy(record);
      await access.settled();
      return reply.status(201).send(publicPolicy(record));
    },
  );

  app.get<{ Querystring: { topic?: string; reader?: string } }>(
    "/v1/policies",
    {
      schema: {
        tags: ["policies"],
        operationId: "listPolicies",
        summary: "Policies the caller owns or is granted (the admin: all); ?topic= and ?reader= filter",
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: { topic: { type: "string", minLength: 1 }, reader: { type: "string", minLength: 1 } },
        },
        response: {
          200: {
            type: "object",
            required: ["policies"],
            properties: { policies: { type: "array", items: policyRef } },
          },
          ...errorResponses(),
        },
      },
    },
    (request) => {
      const principal = principalOf(request);
      const { topic, reader } = request.query;
      const policies = ctx.catalog
        .policies()
        .filter((p) => visible(principal, p))
        .filter(
          (p) => (topic === undefined || p.topic === topic) && (reader === undefined || p.reader === reader),
        );
      return { policies: policies.map(publicPolicy) };
    },
  );

  app.get<{ Params: { id: string } }>(
    "/v1/policies/:id",
    {
      schema: {
        tags: ["policies"],
        operationId: "getPolicy",
        summary: "A policy the caller owns or is granted",
        params: idParams,
        response: { 200: policyRef, ...errorResponses("MESH_NOT_FOUND") },
      },
    },
    (request) => {
      const p = ctx.catalog.policy(request.params.id);
      if (!p || !visible(principalOf(request), p)) throw notFound("policy", request.params.id);
      return publicPolicy(p);
    },
  );

  app.delete<{ Params: { id: string } }>(
    "/v1/policies/:id",
    {
      schema: {
        tags: ["policies"],
        operationId: "deletePolicy",
        summary: "Revoke a policy (its topic's owner, or the admin): every path stops serving the reader",
        params: idParams,
        response: {
          200: { type: "object", required: ["deleted"], properties: { deleted: { type: "string" } } },
          ...errorResponses("MESH_NOT_FOUND", "MESH_FORBIDDEN", "MESH_KAFKA_FENCED"),
        },
      },
    },
    async (request) => {
      const principal = requireScope(request, "write");
      const p = ctx.catalog.policy(request.params.id);
      if (!p || !visible(principal, p)) throw notFound("policy", request.params.id);
      const owner = access.grants.ownerOf(p.topic);
      // The granting owner may revoke even when the topic is gone (its source deleted).
      if (!(
        principal.admin ||
        principal.internal ||
        principal.service === p.owner ||
        principal.service === owner
      ))
        throw new MeshError(
          "MESH_FORBIDDEN",
          `only service "${p.owner}", the owner of ${p.topic}, (or the admin) may revoke policy ${p.id}`,
          {
            policy: p.id,
            reason: "not the owner",
            topic: p.topic,
            owner: p.owner,
            service: principal.service,
          },
        );
      await ctx.catalog.deletePolicy(p.id);
      await access.settled();
      return { deleted: p.id };
    },
  );
}
