// The HTTP API as a fastify instance (not listening: main() listens, tests use inject()). Every route has
// JSON schemas; unknown fields are refused (ajv removeAdditional off), and OpenAPI is served at /docs.
import fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import swagger, { type SwaggerTransformObject } from "@fastify/swagger";
import { completeOpenApi } from "./openapi.ts";
import swaggerUi from "@fastify/swagger-ui";
import type { Logger } from "../../lib/logger.ts";
import type { ApiContext } from "./context.ts";
import { errorSchema, registerErrorHandling } from "./errors.ts";
import { healthRoutes } from "./routes/health.ts";
import { sourceRoutes } from "./routes/sources.ts";
import { topicRoutes } from "./routes/topics.ts";
import { viewRoutes } from "./routes/views.ts";
import { refuseUndeclaredInput } from "./strict-input.ts";

export async function buildApi(ctx: ApiContext, options: { logger?: Logger } = {}): Promise<FastifyInstance> {
  const app = fastify({
    // pino's Logger is generic over custom levels; fastify wants its base logger type.
    ...(options.logger ? { loggerInstance: asBaseLogger(options.logger) } : { logger: false }),
    // Default coercion would turn an unknown field into a silent no-op: refuse it instead.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } },
    // Keys of composite row keys are JSON in the path; keep them readable.
    routerOptions: { maxParamLength: 2000 },
  });
  // The API speaks JSON only; a text body is refused with "send JSON" rather than parsed as a string.
  app.removeContentTypeParser("text/plain");
  app.addSchema(errorSchema);
  registerErrorHandling(app);
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
  return app;
}

function asBaseLogger(logger: Logger): FastifyBaseLogger {
  return logger;
}
