// Owns the fastify app serving Confluent's Schema Registry REST API over a RegistryBackend: content types,
// the route modules, and Confluent's `{error_code, message}` error bodies (confluent-errors.ts) in lib/http's
// error handling. The server comes from lib/http (request ids; the request log at debug: clients poll).
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { createServer } from "../../lib/http/server.ts";
import type { RegistryBackend } from "../backend.ts";
import { configRoutes } from "./config-routes.ts";
import { confluentErrors } from "./confluent-errors.ts";
import { schemaRoutes } from "./schema-routes.ts";
import { subjectRoutes } from "./subject-routes.ts";

export const CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
const JSON_TYPES = [
  "application/vnd.schemaregistry.v1+json",
  "application/vnd.schemaregistry+json",
  "application/octet-stream",
];

export interface AppOptions {
  backend: RegistryBackend;
  logger?: Logger;
}

export function buildApp(options: AppOptions): FastifyInstance {
  const app = createServer({
    ...(options.logger ? { logger: options.logger } : {}),
    errors: confluentErrors,
    logLevel: "debug",
    fastify: { bodyLimit: 16 * 1024 * 1024, routerOptions: { ignoreTrailingSlash: true } },
  });
  app.addContentTypeParser(JSON_TYPES, { parseAs: "string" }, (_req, body, done) => {
    try {
      done(null, body === "" ? undefined : JSON.parse(body as string));
    } catch (e) {
      (e as { statusCode?: number }).statusCode = 400;
      done(e as Error, undefined);
    }
  });
  // Confluent's content type on every answer (fastify still serializes objects: the type contains "json").
  app.addHook("onRequest", (_req, reply, done) => {
    reply.header("content-type", CONTENT_TYPE);
    done();
  });
  app.get("/", () => ({}));
  // Not Confluent's: which role this process has and where the leader is (for `mesh status` and tests).
  app.get("/v1/registry/status", () => options.backend.status());
  subjectRoutes(app, options.backend);
  schemaRoutes(app, options.backend);
  configRoutes(app, options.backend);
  return app;
}
