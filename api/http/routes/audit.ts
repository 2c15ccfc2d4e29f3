// GET /v1/audit: the audit log (`_mesh_audit`: every control-plane change and every denied access, on every
// server), filtered and paged, for admins only (a service token is refused with 403, and that refusal is
// audited like any other). api/audit/audit-log.ts reads it.
import type { FastifyInstance } from "fastify";
import { MeshError } from "../../../lib/errors.ts";
import { requireAdmin } from "../../../lib/http/auth.ts";
import { ISO_TIME_PATTERN } from "../../../lib/http/change-start.ts";
import { errorResponses } from "../../../lib/http/error-responses.ts";
import { AUDIT_OUTCOMES } from "../../../protocol/audit.ts";
import { AUDIT_CURSOR_PATTERN, type AuditLogReader, type AuditOrder } from "../../audit/audit-log.ts";

const nullableString = { type: ["string", "null"] } as const;

export const auditEntrySchema = {
  $id: "AuditEntry",
  type: "object",
  required: [
    "id",
    "at",
    "server",
    "principal",
    "kind",
    "service",
    "ip",
    "method",
    "route",
    "resource",
    "action",
    "status",
    "code",
    "outcome",
    "scope",
    "policy",
    "reason",
    "requestId",
  ],
  properties: {
    id: { type: "string", description: "the entry's offset in `_mesh_audit`" },
    v: { type: "integer", description: "the record's version" },
    at: { type: "string", format: "date-time", description: "when the answer was sent" },
    server: { type: "string", description: "the server that answered: api, registry, materializer" },
    principal: {
      ...nullableString,
      description:
        "who: a service token's id, `admin`, `internal:<role>`; null without a valid token (never a token)",
    },
    kind: { type: "string", enum: ["admin", "internal", "service", "anonymous"] },
    service: { ...nullableString, description: "the service a service token belongs to" },
    ip: nullableString,
    method: { type: "string" },
    route: {
      type: "string",
      description: "the route template (`/v1/sources/:name`); `unmatched` for no route",
    },
    resource: { ...nullableString, description: "the resource named: path parameters, or the name created" },
    action: {
      type: "string",
      description: "`<kind>.<verb>`: `sources.create`, `sources.pause`, `tokens.delete`",
    },
    status: { type: "integer" },
    code: { ...nullableString, description: "the answer's error code; null on success" },
    outcome: { type: "string", enum: [...AUDIT_OUTCOMES] },
    scope: { ...nullableString, description: "a 403's missing scope" },
    policy: { ...nullableString, description: "a 403's refusing policy" },
    reason: { ...nullableString, description: "why a 401/403 was answered" },
    requestId: { type: "string", description: "the request's x-request-id (the servers' logs carry it)" },
  },
} as const;

export const auditPageSchema = {
  $id: "AuditPage",
  type: "object",
  required: ["entries", "next"],
  properties: {
    entries: { type: "array", items: { $ref: "AuditEntry#" } },
    next: {
      ...nullableString,
      description:
        "the cursor of the next page (it may follow a page with fewer than `limit` entries: each page reads a bounded part of the log); null: no more",
    },
  },
} as const;

export const auditSchemas = [auditEntrySchema, auditPageSchema];

interface AuditQuerystring {
  server?: string;
  principal?: string;
  service?: string;
  outcome?: (typeof AUDIT_OUTCOMES)[number];
  action?: string;
  resource?: string;
  since?: string;
  until?: string;
  order?: AuditOrder;
  limit?: number;
  cursor?: string;
}

const word = (description: string) => ({ type: "string", minLength: 1, maxLength: 300, description });
const time = (description: string) => ({ type: "string", pattern: `^${ISO_TIME_PATTERN}$`, description });

function timeOf(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new MeshError("MESH_BAD_REQUEST", `${name} "${value}" is not an ISO-8601 time`, { field: name });
  return ms;
}

export function auditRoutes(app: FastifyInstance, audit: AuditLogReader): void {
  app.get<{ Querystring: AuditQuerystring }>(
    "/v1/audit",
    {
      schema: {
        tags: ["audit"],
        operationId: "listAudit",
        summary: "The audit log: every control-plane change and every denied access (admins only)",
        description:
          "Entries of `_mesh_audit`, newest first (`order=asc`: oldest first), matching every filter given. " +
          "Pass `next` as `cursor` for the next page (the cursor carries the order).",
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            server: word("only entries of this server: api, registry, materializer"),
            principal: word("only this principal (a token id, `admin`, `internal:<role>`)"),
            service: word("only requests of this service's tokens"),
            outcome: { type: "string", enum: [...AUDIT_OUTCOMES] },
            action: word("an action (`sources.create`) or its leading parts (`sources`)"),
            resource: word("only entries naming this resource (a source, a view, `topic/type`, a token id)"),
            since: time("entries at or after this ISO-8601 time"),
            until: time("entries before this ISO-8601 time"),
            order: { type: "string", enum: ["desc", "asc"], description: "default desc (newest first)" },
            limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
            cursor: {
              type: "string",
              pattern: AUDIT_CURSOR_PATTERN,
              description: "a previous page's `next`",
            },
          },
        },
        response: {
          200: { $ref: "AuditPage#" },
          ...errorResponses("MESH_UNAUTHORIZED", "MESH_FORBIDDEN", "MESH_BAD_CURSOR"),
        },
      },
    },
    async (request) => {
      requireAdmin(request);
      const q = request.query;
      const since = timeOf("since", q.since);
      const until = timeOf("until", q.until);
      return audit.page({
        ...(q.server !== undefined ? { server: q.server } : {}),
        ...(q.principal !== undefined ? { principal: q.principal } : {}),
        ...(q.service !== undefined ? { service: q.service } : {}),
        ...(q.outcome !== undefined ? { outcome: q.outcome } : {}),
        ...(q.action !== undefined ? { action: q.action } : {}),
        ...(q.resource !== undefined ? { resource: q.resource } : {}),
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
        ...(q.order !== undefined ? { order: q.order } : {}),
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
        limit: q.limit ?? 100,
      });
    },
  );
}
