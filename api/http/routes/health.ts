// /healthz (alive, no dependencies), /readyz (every dependency reachable, the failing one named) and
// /v1/status (where each role listens; `mesh status --json` prints it).
import type { FastifyInstance } from "fastify";
import { errorResponses } from "../../../lib/http/error-responses.ts";
import type { ApiContext } from "../context.ts";

const checkSchema = {
  type: "object",
  required: ["name", "ok"],
  properties: { name: { type: "string" }, ok: { type: "boolean" }, error: { type: "string" } },
} as const;

export function healthRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    "/healthz",
    {
      schema: {
        tags: ["health"],
        operationId: "healthz",
        summary: "The process is alive",
        response: {
          200: { type: "object", required: ["ok"], properties: { ok: { type: "boolean" } } },
          ...errorResponses(),
        },
      },
    },
    () => ({ ok: true }),
  );

  app.get(
    "/readyz",
    {
      schema: {
        tags: ["health"],
        operationId: "readyz",
        summary:
          "Kafka, the registry, the catalog and each role's dependencies are reachable; 503 names the failing ones",
        description: "503 `MESH_NOT_READY`: `details` = `{failing: [names], checks: [{name, ok, error?}]}`.",
        response: {
          200: {
            type: "object",
            required: ["ok", "checks"],
            properties: { ok: { type: "boolean" }, checks: { type: "array", items: checkSchema } },
          },
          ...errorResponses(),
        },
      },
    },
    async (_request, reply) => {
      const checks = [
        {
          name: "catalog",
          ok: ctx.catalog.ready,
          ...(ctx.catalog.ready ? {} : { error: "the catalog has not been replayed yet" }),
        },
        ...(await ctx.health.checks()),
      ];
      const failing = checks.filter((c) => !c.ok);
      if (failing.length === 0) return { ok: true, checks };
      // The response schemas' keys are not literal types (errorResponses), so the status is widened here.
      return reply.status(503 as 200).send({
        code: "MESH_NOT_READY",
        message: `not ready: ${failing.map((c) => `${c.name} (${c.error ?? "unreachable"})`).join("; ")}`,
        details: { failing: failing.map((c) => c.name), checks },
      });
    },
  );

  app.get(
    "/v1/status",
    {
      schema: {
        tags: ["health"],
        operationId: "status",
        summary: "Where each role listens, and counts of sources and views",
        response: {
          200: {
            type: "object",
            required: ["sources", "views"],
            additionalProperties: true,
            properties: {
              sources: { type: "integer" },
              views: { type: "integer" },
              principal: {
                description: "who the request's token is (the console shows the Audit page to admins)",
                type: "object",
                required: ["id", "service", "admin", "internal", "scopes"],
                properties: {
                  id: { type: "string" },
                  service: { type: ["string", "null"] },
                  admin: { type: "boolean" },
                  internal: { type: "boolean" },
                  scopes: { type: "array", items: { type: "string" } },
                },
              },
            },
          },
          ...errorResponses(),
        },
      },
    },
    (request) => {
      const p = request.principal;
      return {
        ...ctx.status(),
        sources: ctx.catalog.sources().length,
        views: ctx.catalog.views().length,
        ...(p
          ? {
              principal: {
                id: p.id,
                service: p.service,
                admin: p.admin,
                internal: p.internal,
                scopes: p.scopes,
              },
            }
          : {}),
      };
    },
  );
}
