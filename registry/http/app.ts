// Owns the fastify app serving Confluent's Schema Registry REST API over a RegistryBackend: content types,
// Confluent's `{error_code, message}` error bodies, and the route modules.
import Fastify, { LogController, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { RegistryBackend } from "../backend.ts";
import { RegistryError } from "../errors.ts";
import { configRoutes } from "./config-routes.ts";
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
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : {}),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 16 * 1024 * 1024,
    routerOptions: { ignoreTrailingSlash: true },
  }) as unknown as FastifyInstance;
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
  app.setErrorHandler((err: Error, _req, reply) => {
    if (err instanceof RegistryError) return reply.code(err.status).send(err.body());
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    if (status >= 500) options.logger?.error({ err }, "registry request failed");
    const code = status === 400 ? 400 : status === 415 ? 415 : status < 500 ? status : 500;
    return reply.code(status).send({
      error_code: code,
      message: status >= 500 ? `Internal Server Error: ${err.message}` : err.message,
    });
  });
  app.setNotFoundHandler((_req, reply) =>
    reply.code(404).send({ error_code: 404, message: "HTTP 404 Not Found" }),
  );
  app.get("/", () => ({}));
  // Not Confluent's: which role this process has and where the leader is (for `mesh status` and tests).
  app.get("/v1/registry/status", () => options.backend.status());
  subjectRoutes(app, options.backend);
  schemaRoutes(app, options.backend);
  configRoutes(app, options.backend);
  return app;
}
