// Owns the API's rate limits (@fastify/rate-limit): per token (the principal's id; the caller's address
// without one), the query routes (a view's rows and row lookups) share one budget and the stream routes
// (a view's change stream, a topic's events: each request opens a stream) another, both counted over a
// fixed window. Over the limit: 429 MESH_RATE_LIMITED with `Retry-After` (seconds). Other datamesh
// processes (internal credentials: forwarded queries, split-view members) are not limited. The 429 is
// declared on each limited route, so the OpenAPI document lists it. Registered by buildApi before
// swagger and the routes (the routes are matched as they are declared).
import type { FastifyInstance, FastifyRequest, RouteOptions } from "fastify";
import rateLimit, { type errorResponseBuilderContext } from "@fastify/rate-limit";
import { MeshError } from "../../lib/errors.ts";
import { errorBodySchema } from "../../lib/http/error-responses.ts";

export interface RateLimits {
  /** Requests per token per window to the query routes; 0: no limit. */
  queryMax: number;
  /** Streams opened per token per window; 0: no limit. */
  streamMax: number;
  windowMs: number;
}

export const QUERY_ROUTES: readonly string[] = ["/v1/views/:name/rows", "/v1/views/:name/rows/:key"];
export const STREAM_ROUTES: readonly string[] = ["/v1/views/:name/changes", "/v1/topics/:topic/events"];

function keyOf(request: FastifyRequest): string {
  return request.principal ? `token:${request.principal.id}` : `ip:${request.ip}`;
}

function limited(context: errorResponseBuilderContext, what: string, windowMs: number): MeshError {
  const retryAfter = Math.max(1, Math.ceil(context.ttl / 1000));
  return new MeshError(
    "MESH_RATE_LIMITED",
    `this token made more than ${context.max} ${what} in ${windowMs / 1000} s; retry after ${retryAfter} s (Retry-After)`,
    { limit: context.max, windowSeconds: windowMs / 1000, retryAfterSeconds: retryAfter },
  );
}

const tooMany = {
  ...errorBodySchema(
    ["MESH_RATE_LIMITED"],
    "`MESH_RATE_LIMITED`: this token's requests to this kind of route passed the limit of the window; wait `Retry-After` seconds.",
  ),
  headers: {
    "retry-after": { type: "integer", description: "seconds until the window lets this token in again" },
  },
};

export async function registerRateLimits(app: FastifyInstance, limits: RateLimits): Promise<void> {
  await app.register(rateLimit, {
    global: false,
    keyGenerator: keyOf,
    allowList: (request) => request.principal?.internal === true,
    // Only the answer over the limit carries headers: Retry-After and the limit.
    addHeadersOnExceeding: {
      "x-ratelimit-limit": false,
      "x-ratelimit-remaining": false,
      "x-ratelimit-reset": false,
    },
    addHeaders: {
      "x-ratelimit-limit": true,
      "x-ratelimit-remaining": false,
      "x-ratelimit-reset": false,
      "retry-after": true,
    },
  });
  type Hook = ReturnType<FastifyInstance["rateLimit"]>;
  const hooks = new Map<string, Hook>();
  const limiter = (max: number, group: string, what: string): void => {
    if (max <= 0) return;
    const hook = app.rateLimit({
      max,
      timeWindow: limits.windowMs,
      keyGenerator: (request) => `${keyOf(request)}|${group}`,
      errorResponseBuilder: (_request, context) => limited(context, what, limits.windowMs),
    });
    for (const route of group === "query" ? QUERY_ROUTES : STREAM_ROUTES) hooks.set(route, hook);
  };
  limiter(limits.queryMax, "query", "row queries");
  limiter(limits.streamMax, "stream", "change streams");
  app.addHook("onRoute", (route) => {
    const hook =
      route.method === "GET" || (Array.isArray(route.method) && route.method.includes("GET"))
        ? hooks.get(route.url)
        : undefined;
    if (!hook) return;
    const existing = route.onRequest;
    route.onRequest = [...(existing ? [existing].flat() : []), hook] as NonNullable<
      RouteOptions["onRequest"]
    >;
    if (route.schema?.response) {
      route.schema.response = { ...(route.schema.response as Record<string, unknown>), 429: tooMany };
    }
  });
}
