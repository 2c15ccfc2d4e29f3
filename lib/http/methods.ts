// Owns telling "no such path" from "not with this method": a request whose path a route serves with other
// methods answers 405 with `Allow` listing them (RFC 9110 15.5.6), so a client (or a fuzzer driven by the
// OpenAPI document) learns the path exists; only a path no route serves is a 404.
import type { FastifyInstance, FastifyRequest } from "fastify";

// Every method fastify routes; HEAD is answered for each GET route (exposeHeadRoutes).
const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "QUERY", "TRACE"] as const;

/**
 * The methods some route serves at the request's path, in METHODS order (empty: no route has the path). Where
 * a static route has the path (`/v1/views/check`), only static routes count: a parametric sibling
 * (`/v1/views/{name}`) is not what the API documents at that path.
 */
export function allowedMethods(app: FastifyInstance, request: FastifyRequest): string[] {
  const path = request.url.split("?")[0] ?? "/";
  const matches: { method: string; parametric: boolean }[] = [];
  for (const method of METHODS) {
    if (method === request.method) continue;
    try {
      const route = app.findRoute({ method, url: path });
      if (route) matches.push({ method, parametric: Object.keys(route.params ?? {}).length > 0 });
    } catch {
      // A method the router was not built with.
    }
  }
  const anyStatic = matches.some((m) => !m.parametric);
  return matches.filter((m) => !anyStatic || !m.parametric).map((m) => m.method);
}
