// The HTTP API as a fastify instance (not listening: main() listens, tests use inject()), made by lib/http
// (request ids, request log, the MESH error shape). Every route has JSON schemas; unknown fields are refused
// (ajv removeAdditional off, strict-input.ts), and OpenAPI is served at /docs.
import type { FastifyInstance } from "fastify";
import swagger, { type SwaggerTransformObject } from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import { errorSchema } from "../../lib/http/errors.ts";
import { answerLocally } from "../../lib/http/member-answers.ts";
import { createServer } from "../../lib/http/server.ts";
import type { Logger } from "../../lib/logger.ts";
import type { ApiContext } from "./context.ts";
import { completeOpenApi } from "./openapi.ts";
import { healthRoutes } from "./routes/health.ts";
import { sourceRoutes } from "./routes/sources.ts";
import { topicRoutes } from "./routes/topics.ts";
import { viewRoutes } from "./routes/views.ts";
import { refuseUndeclaredInput } from "./strict-input.ts";

export async function buildApi(ctx: ApiContext, options: { logger?: Logger } = {}): Promise<FastifyInstance> {
  const app = createServer({
    ...(options.logger ? { logger: options.logger } : {}),
    fastify: {
      // Default coercion would turn an unknown field into a silent no-op: refuse it instead.
      ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } },
    },
  });
  // The API speaks JSON only; a text body is refused with "send JSON" rather than parsed as a string.
  app.removeContentTypeParser("text/plain");
  app.addSchema(errorSchema);
  await app.register(swagger, {
    transformObject: (document) => completeOpenApi(document) as ReturnType<SwaggerTransformObject>,
    openapi: {
      info: {
        title: "datamesh API",
        version: "0.1.0",
        description:
          "Register source databases, subscribe to their change topics, declare and query join views. Errors are `{code, message, details}` with a MESH_* code.",
      },
      tags: [
        { name: "sources", description: "source databases and table ownership" },
        { name: "topics", description: "change topics and their events" },
        { name: "views", description: "materialized join views" },
        { name: "health", description: "liveness, readiness, status" },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  refuseUndeclaredInput(app);
  // Query strings use fastify's default parser: `total[gte]=1` stays the key "total[gte]".
  healthRoutes(app, ctx);
  sourceRoutes(app, ctx);
  topicRoutes(app, ctx);
  viewRoutes(app, ctx);
  // An embedded engine in a split view's group answers the other members' forwarded queries.
  const local = ctx.localAnswers;
  if (local) answerLocally(app, () => local);
  return app;
}
