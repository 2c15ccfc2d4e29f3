// Owns creating a server: every datamesh HTTP server (the API, the schema registry, a materializer member)
// is a fastify instance made here, with the lib/http plugins registered in one place, registerCommon(), in
// the order they must run. The instance does not listen: the role listens, tests use inject().
import fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from "fastify";
import type { Logger } from "../logger.ts";
import { registerAudit, type AuditOptions } from "./audit.ts";
import { registerAuth, registerMethodScopes, type Authenticator } from "./auth.ts";
import { meshErrors, registerErrors, type ErrorShape } from "./errors.ts";
import { METRICS_PATH, registerMetrics } from "./metrics.ts";
import { registerRequestIds, requestId, RequestLog } from "./request-log.ts";

export interface CommonOptions {
  /** The server's error shape (default: MESH `{code, message, details}`). */
  errors?: ErrorShape;
  /** The level of the per-request line and of expected failures (default info). */
  logLevel?: "info" | "debug";
  /** The server's name in its metrics' `server` label: api, registry, materializer (default http). */
  name?: string;
  /**
   * Who a token is (auth.ts, auth-tokens.ts): every route but /healthz and /readyz needs one, and GET
   * /metrics the `metrics` scope. Required: no server is made without auth.
   */
  auth: Authenticator;
  /** Also take the token as an HTTP Basic password (the registry, for Confluent clients). */
  basicAuth?: boolean;
  /** More paths open without a token (exact, or prefixes ending in `/`). */
  openPaths?: readonly string[];
  /**
   * Every request needs its method's scope: `read` for GET and HEAD, `write` for the rest (auth.ts
   * scopeOfMethod; GET /metrics needs `metrics` instead). The API and the registry.
   */
  methodScopes?: boolean;
  /** Where denials (401/403) and, with `changes`, control-plane changes are audited (audit.ts). */
  audit?: AuditOptions;
}

export interface ServerOptions extends CommonOptions {
  /** Without one the server logs nothing. */
  logger?: Logger;
  /** The role's own fastify options (validation, body limit, router...). */
  fastify?: Omit<FastifyServerOptions, "logger" | "loggerInstance" | "genReqId" | "logController">;
}

export function createServer(options: ServerOptions): FastifyInstance {
  const app = fastify({
    ...options.fastify,
    ...(options.logger ? { loggerInstance: asBaseLogger(options.logger) } : { logger: false }),
    genReqId: requestId,
    logController: new RequestLog(options.logLevel ?? "info"),
    // Keys of composite row keys are JSON in the path; keep them readable.
    routerOptions: { maxParamLength: 2000, ...options.fastify?.routerOptions },
  }) as unknown as FastifyInstance;
  registerCommon(app, options);
  return app;
}

/**
 * The plugins every server registers, before its routes, in the order they run on a request: the request id
 * first (every later log line carries it), then the error shape, then metrics (`GET /metrics`, the request
 * latency histogram, failures by code: metrics.ts), then auth (auth.ts: `request.principal`, or a 401 in
 * the server's error shape).
 */
export function registerCommon(app: FastifyInstance, options: CommonOptions): void {
  const level = options.logLevel ?? "info";
  registerRequestIds(app);
  registerErrors(app, options.errors ?? meshErrors, level);
  registerMetrics(app, options.name ?? "http", { scoped: true });
  registerAuth(app, options.auth, {
    basic: options.basicAuth ?? false,
    ...(options.openPaths ? { open: options.openPaths } : {}),
  });
  if (options.methodScopes) registerMethodScopes(app, (path) => path === METRICS_PATH);
  if (options.audit) registerAudit(app, options.name ?? "http", options.audit);
}

// pino's Logger is generic over custom levels; fastify wants its base logger type.
function asBaseLogger(logger: Logger): FastifyBaseLogger {
  return logger;
}
