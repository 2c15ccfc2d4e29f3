// /healthz (alive, no dependencies), /readyz (every dependency reachable, the failing one named) and
// /v1/status (where each role listens; `mesh status --json` prints it).
import type { FastifyInstance } from "fastify";
import type { ApiContext } from "../context.ts";

const checkSchema = {
  type: "object",
  properties: { name: { type: "string" }, ok: { type: "boolean" }, error: { type: "string" } },
} as const;

export function healthRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    "/healthz",
    {
      schema: {
        tags: ["health"],
        summary: "The process is alive",
        response: { 200: { type: "object", properties: { ok: { type: "boolean" } } } },
      },
    },
    () => ({ ok: true }),
  );

  app.get(
    "/readyz",
    {
      schema: {
        tags: ["health"],
        summary:
          "Kafka, the registry, the catalog and each role's dependencies are reachable; 503 names the failing ones",
        response: {
          "2xx": {
            type: "object",
            properties: { ok: { type: "boolean" }, checks: { type: "array", items: checkSchema } },
          },
          "5xx": {
            type: "object",
            properties: {
              code: { type: "string" },
              message: { type: "string" },
              details: { type: "object", additionalProperties: true },
            },
          },
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
      return reply.status(503).send({
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
        summary: "Where each role listens, and counts of sources and views",
        response: { 200: { type: "object", additionalProperties: true } },
      },
    },
    () => ({ ...ctx.status(), sources: ctx.catalog.sources().length, views: ctx.catalog.views().length }),
  );
}
