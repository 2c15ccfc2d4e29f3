// Owns telling "no such path" from "not with this method": a request whose path a route serves with other
// methods answers 405 with `Allow` listing them (RFC 9110 15.5.6), so a client (or a fuzzer driven by the
// OpenAPI document) learns the path exists; only a path no route serves is a 404.
import type { FastifyInstance, FastifyRequest } from "fastify";

// Every method fastify routes; HEAD is answered for each GET route (exposeHeadRoutes).
const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "QUERY", "TRACE"] as const;

/** The methods some route serves at the request's path, in METHODS order (empty: no route has the path). */
export function allowedMethods(app: FastifyInstance, request: FastifyRequest): string[] {
  const path = request.url.split("?")[0] ?? "/";
  return METHODS.filter((method) => {
    if (method === request.method) return false;
    try {
      return app.findRoute({ method, url: path }) !== null;
    } catch {
      // A method the router was not built with.
      return false;
    }
  });
}
