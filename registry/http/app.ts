// Owns the fastify app serving Confluent's Schema Registry REST API over a RegistryBackend: content types,
// the route modules, and Confluent's `{error_code, message}` error bodies (confluent-errors.ts) in lib/http's
// error handling. The server comes from lib/http (request ids; the request log at debug: clients poll).
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { AuditSink } from "../../lib/http/audit.ts";
import type { Authenticator } from "../../lib/http/auth.ts";
import { METRICS_PATH } from "../../lib/http/metrics.ts";
import { createServer } from "../../lib/http/server.ts";
import type { RegistryBackend } from "../backend.ts";
import { configRoutes } from "./config-routes.ts";
import { confluentErrors } from "./confluent-errors.ts";
import { CONSUMED, negotiate, V1_JSON } from "./content-type.ts";
import { schemaRoutes } from "./schema-routes.ts";
import { subjectRoutes } from "./subject-routes.ts";

export const CONTENT_TYPE = V1_JSON;
// A subject is `<topic>-value` at most, and topic names go to 249 characters; percent-encoding can triple
// that. The request line's own limit (Node's 16 KiB of headers) is the real bound, as in Confluent.
const MAX_PARAM_LENGTH = 16 * 1024;

declare module "fastify" {
  interface FastifyRequest {
    /** The content type negotiated from Accept (content-type.ts); null before negotiation. */
    answerType: string | null;
  }
}

export interface AppOptions {
  backend: RegistryBackend;
  logger?: Logger;
  /**
   * Who a token is (lib/http/auth-tokens.ts): every route but /healthz and /readyz needs one, as a Bearer
   * token or as the password of HTTP Basic auth (any user name: Confluent clients' `basic.auth.user.info`).
   */
  auth: Authenticator;
  /** Where its denials (401/403) are audited (lib/http/audit.ts; protocol/audit-writer.ts). */
  audit?: AuditSink;
}

export function buildApp(options: AppOptions): FastifyInstance {
  const app = createServer({
    ...(options.logger ? { logger: options.logger } : {}),
    errors: confluentErrors,
    // Reads need the `read` scope, writes (register, delete, config, mode) `write` (lib/http/auth.ts).
    auth: options.auth,
    basicAuth: true,
    methodScopes: true,
    ...(options.audit ? { audit: { sink: options.audit } } : {}),
    logLevel: "debug",
    name: "registry",
    fastify: {
      bodyLimit: 16 * 1024 * 1024,
      routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    },
  });
  // Bodies of the types Confluent's resources consume, all read as JSON; any other type (text/plain
  // included, which fastify would take) is 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(CONSUMED, { parseAs: "string" }, (_req, body, done) => {
    try {
      done(null, body === "" ? undefined : JSON.parse(body as string));
    } catch (e) {
      (e as { statusCode?: number }).statusCode = 400;
      done(e as Error, undefined);
    }
  });
  // The answer's type is negotiated from Accept before anything runs (406 when none is acceptable), and set
  // again on send: fastify adds `; charset=utf-8` to JSON types and error answers reset it.
  // The chosen type is a request property (a WeakMap entry per request cost more than the negotiation).
  app.decorateRequest("answerType", null);
  app.addHook("onRequest", (req, reply, done) => {
    // GET /metrics (lib/http) answers Prometheus' own text format.
    if (req.url === METRICS_PATH) return done();
    const type = negotiate(req.headers.accept);
    if (type === undefined) {
      void reply.code(406).type(CONTENT_TYPE).send({ error_code: 406, message: "HTTP 406 Not Acceptable" });
      return;
    }
    req.answerType = type;
    reply.header("content-type", type);
    done();
  });
  app.addHook("onSend", (req, reply, payload, done) => {
    if (req.url === METRICS_PATH) return done(null, payload);
    reply.header("content-type", req.answerType ?? CONTENT_TYPE);
    done(null, payload);
  });
  app.get("/", () => ({}));
  // Not Confluent's: which role this process has and where the leader is (for `mesh status` and tests).
  app.get("/v1/registry/status", () => options.backend.status());
  subjectRoutes(app, options.backend);
  schemaRoutes(app, options.backend);
  configRoutes(app, options.backend);
  return app;
}
