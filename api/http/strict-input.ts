// docs/api.md promises MESH_UNKNOWN_FIELD for anything the API does not know. A route declares the query
// parameters and the body it takes; one that declares none takes none, so `?x=1` or `{"x":1}` on it is refused
// instead of silently ignored (a misspelt option would otherwise look accepted).
import type { FastifyInstance, FastifyRequest, RouteOptions } from "fastify";
import { MeshError } from "../../lib/errors.ts";

const bodyMethods = new Set(["POST", "PUT", "PATCH", "DELETE"]);

function refuseBody(request: FastifyRequest): void {
  const body: unknown = request.body;
  if (body === undefined || body === null) return;
  if (typeof body === "object" && !Array.isArray(body)) {
    const field = Object.keys(body)[0];
    if (field === undefined) return;
    throw new MeshError(
      "MESH_UNKNOWN_FIELD",
      `unknown field "${field}" in the body; ${request.method} ${request.routeOptions.url ?? ""} takes no body`,
      { field, in: "body" },
    );
  }
  throw new MeshError(
    "MESH_BAD_REQUEST",
    `${request.method} ${request.routeOptions.url ?? ""} takes no body; send none`,
    {},
  );
}

/** Call before registering the API's routes: those registered after it get the rules. */
export function refuseUndeclaredInput(app: FastifyInstance): void {
  app.addHook("onRoute", (route: RouteOptions) => {
    const schema = (route.schema ??= {});
    schema.querystring ??= { type: "object", additionalProperties: false, properties: {} };
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (schema.body !== undefined || !methods.some((m) => bodyMethods.has(m))) return;
    const existing = route.preValidation;
    const check = (request: FastifyRequest, _reply: unknown, done: (err?: Error) => void): void => {
      try {
        refuseBody(request);
        done();
      } catch (err) {
        done(err as Error);
      }
    };
    route.preValidation = existing === undefined ? [check] : [check, ...[existing].flat()];
  });
}
