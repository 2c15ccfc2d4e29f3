// /v1/tokens: the admin creates service tokens (the secret is answered once, at creation; the catalog keeps
// its SHA-256 only), lists them (never a secret) and revokes them. A token is `mesh_<id>_<secret>`
// (lib/http/auth-tokens.ts); its record is `token/<id>` in the catalog (protocol/tokens.ts), which every
// process follows, so a revocation holds everywhere within a second.
import type { FastifyInstance } from "fastify";
import { MeshError } from "../../../lib/errors.ts";
import { requireAdmin, SCOPES, type Scope } from "../../../lib/http/auth.ts";
import { newServiceToken, TokenAuthenticator, TokenTable } from "../../../lib/http/auth-tokens.ts";
import { errorResponses } from "../../../lib/http/error-responses.ts";
import { SOURCE_NAME_PATTERN } from "../../../protocol/topics.ts";
import { publicToken, type TokenRecord } from "../../../protocol/tokens.ts";
import type { Catalog } from "../../catalog/catalog.ts";
import type { ApiContext } from "../context.ts";

/**
 * The API's Authenticator: the admin token, internal credentials, and the service tokens of `catalog` (a
 * started one), kept equal to it as it applies records, so a token created or revoked through any API
 * process holds here as soon as this process's catalog tail applies it.
 */
export function apiAuthenticator(catalog: Catalog, adminToken: string): TokenAuthenticator {
  const table = new TokenTable();
  // In one tick: nothing is applied between the copy and the subscription.
  for (const t of catalog.tokens()) table.apply(t.id, t);
  catalog.onChange((change) => {
    if (change.type === "token") table.apply(change.name, change.after);
  });
  return new TokenAuthenticator({ adminToken, tokens: table });
}

export const tokenSchema = {
  $id: "Token",
  type: "object",
  required: ["id", "service", "scopes", "createdAt", "expiresAt", "revokedAt"],
  properties: {
    id: { type: "string", description: "the token's id (the `<id>` of `mesh_<id>_<secret>`)" },
    service: { type: "string", description: "the service the token acts for" },
    scopes: { type: "array", items: { type: "string", enum: [...SCOPES] } },
    createdAt: { type: "string", format: "date-time" },
    expiresAt: { type: ["string", "null"], format: "date-time" },
    revokedAt: { type: ["string", "null"], format: "date-time" },
  },
} as const;

const createdSchema = {
  $id: "CreatedToken",
  type: "object",
  required: [...tokenSchema.required, "token"],
  properties: {
    ...tokenSchema.properties,
    token: {
      type: "string",
      description:
        "the secret token, `mesh_<id>_<secret>`: shown this once, never again; send it as `Authorization: Bearer <token>`",
    },
  },
} as const;

export const tokenSchemas = [tokenSchema, createdSchema];

const idParams = {
  type: "object",
  required: ["id"],
  additionalProperties: false,
  properties: { id: { type: "string", pattern: "^[0-9a-f]{16}$", description: "the token's id" } },
} as const;

interface CreateBody {
  service: string;
  scopes: Scope[];
  expiresAt?: string;
}

export function tokenRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post<{ Body: CreateBody }>(
    "/v1/tokens",
    {
      schema: {
        tags: ["tokens"],
        operationId: "createToken",
        summary:
          "Create a service token (admin only); the answer holds the secret token, shown only this once",
        body: {
          type: "object",
          required: ["service", "scopes"],
          additionalProperties: false,
          properties: {
            service: {
              type: "string",
              pattern: SOURCE_NAME_PATTERN,
              description: "the service the token acts for (owner names of sources and views)",
            },
            scopes: {
              type: "array",
              minItems: 1,
              uniqueItems: true,
              items: { type: "string", enum: [...SCOPES] },
              description:
                "read: rows, lookups, change streams, topic events, the topic catalog; write: register and manage its own sources, views, event types and policies; metrics: GET /metrics",
            },
            expiresAt: {
              type: "string",
              format: "date-time",
              description: "when the token stops working (absent: never)",
            },
          },
        },
        response: {
          201: { $ref: "CreatedToken#" },
          ...errorResponses("MESH_UNAUTHORIZED", "MESH_FORBIDDEN", "MESH_UNPROCESSABLE"),
        },
      },
    },
    async (request, reply) => {
      requireAdmin(request);
      const { service, scopes, expiresAt } = request.body;
      if (expiresAt !== undefined && !(Date.parse(expiresAt) > Date.now()))
        throw new MeshError("MESH_UNPROCESSABLE", `expiresAt ${expiresAt} is not in the future`, {
          field: "expiresAt",
        });
      const minted = newServiceToken();
      const record: TokenRecord = {
        type: "token",
        id: minted.id,
        service,
        scopes,
        secretSha256: minted.secretSha256,
        createdAt: new Date().toISOString(),
        expiresAt: expiresAt === undefined ? null : new Date(expiresAt).toISOString(),
        revokedAt: null,
      };
      await ctx.catalog.putToken(record);
      return reply.status(201).send({ ...publicToken(record), token: minted.token });
    },
  );

  app.get(
    "/v1/tokens",
    {
      schema: {
        tags: ["tokens"],
        operationId: "listTokens",
        summary: "Service tokens, revoked ones included (admin only); never a secret",
        response: {
          200: {
            type: "object",
            required: ["tokens"],
            properties: { tokens: { type: "array", items: { $ref: "Token#" } } },
          },
          ...errorResponses("MESH_UNAUTHORIZED", "MESH_FORBIDDEN"),
        },
      },
    },
    (request) => {
      requireAdmin(request);
      return { tokens: ctx.catalog.tokens().map(publicToken) };
    },
  );

  app.delete<{ Params: { id: string } }>(
    "/v1/tokens/:id",
    {
      schema: {
        tags: ["tokens"],
        operationId: "revokeToken",
        summary: "Revoke a service token (admin only): it stops working on every process within a second",
        params: idParams,
        response: {
          200: { $ref: "Token#" },
          ...errorResponses("MESH_UNAUTHORIZED", "MESH_FORBIDDEN", "MESH_NOT_FOUND"),
        },
      },
    },
    async (request) => {
      requireAdmin(request);
      const { id } = request.params;
      const record = ctx.catalog.token(id);
      if (!record)
        throw new MeshError("MESH_NOT_FOUND", `no token with id ${id}; list them with GET /v1/tokens`, {
          token: id,
        });
      if (record.revokedAt !== null) return publicToken(record);
      const revoked: TokenRecord = { ...record, revokedAt: new Date().toISOString() };
      await ctx.catalog.putToken(revoked);
      return publicToken(revoked);
    },
  );
}
