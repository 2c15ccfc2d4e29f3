// Owns who a request is: every datamesh server (API, registry, materializer member, metrics listener) gets
// an onRequest hook from registerCommon (server.ts) that reads the caller's token and sets
// `request.principal`, or answers 401 MESH_UNAUTHORIZED in the server's error shape (the registry's is
// Confluent's, error_code 40101). `/healthz` and `/readyz` stay open. Tokens come as `Authorization: Bearer
// <token>`; a server that speaks to Confluent clients (the registry) also takes the token as the password of
// HTTP Basic auth with any user name, as those clients send it. What a token means is the Authenticator's
// (auth-tokens.ts: the admin token, internal credentials, service tokens from the catalog); routes then ask
// for a scope with requireScope(), or for the principal with principalOf(). There is no way to turn it off.
import type { FastifyInstance, FastifyRequest } from "fastify";
import { MeshError } from "../errors.ts";

/** What a service token may be given. Admin and internal principals pass every scope check. */
export const SCOPES = ["read", "write", "metrics"] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * Who is calling. `admin`: the admin token. `internal`: another datamesh process (a credential derived from
 * the admin token). `service`: the service a service token belongs to (null for admin and internal).
 */
export interface Principal {
  /** The token's id (service tokens), `admin`, or `internal:<role>`. Never a secret. */
  id: string;
  service: string | null;
  admin: boolean;
  internal: boolean;
  scopes: readonly string[];
}

/** Turns a presented token into a principal; null when it is unknown, expired or revoked. */
export interface Authenticator {
  authenticate(token: string): Principal | null;
}

declare module "fastify" {
  interface FastifyRequest {
    /** Set by the auth hook before any route runs; null only on the open paths (/healthz, /readyz). */
    principal: Principal | null;
  }
}

/** Paths every server answers without a token (liveness and readiness probes). */
export const OPEN_PATHS: readonly string[] = ["/healthz", "/readyz"];

export interface AuthOptions {
  /** Also take the token as the password of HTTP Basic auth (the registry: Confluent clients). */
  basic?: boolean;
  /** More paths answered without a token (exact paths, or prefixes ending in `/`). */
  open?: readonly string[];
}

/** How a 401 tells the caller what to send. */
function challenge(basic: boolean): string {
  return basic ? 'Basic realm="datamesh", Bearer realm="datamesh"' : 'Bearer realm="datamesh"';
}

/**
 * The token a request presents: `Authorization: Bearer <token>`, or with `basic` the password of
 * `Authorization: Basic base64(user:password)`; null when there is none.
 */
export function presentedToken(authorization: string | undefined, basic: boolean): string | null {
  if (!authorization) return null;
  const space = authorization.indexOf(" ");
  if (space < 0) return null;
  const scheme = authorization.slice(0, space).toLowerCase();
  const value = authorization.slice(space + 1).trim();
  if (scheme === "bearer") return value === "" ? null : value;
  if (scheme === "basic" && basic) {
    const decoded = Buffer.from(value, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    const password = colon < 0 ? "" : decoded.slice(colon + 1);
    return password === "" ? null : password;
  }
  return null;
}

function isOpen(path: string, open: readonly string[]): boolean {
  return open.some((p) => (p.endsWith("/") ? path.startsWith(p) : path === p));
}

/** The MESH_UNAUTHORIZED of a request without a usable token (the message never quotes the token). */
export function unauthorized(presented: boolean, basic = false): MeshError {
  const how = basic
    ? "send Authorization: Bearer <token>, or the token as the password of HTTP Basic auth"
    : "send Authorization: Bearer <token>";
  return new MeshError(
    "MESH_UNAUTHORIZED",
    presented
      ? `the token is not valid (unknown, expired or revoked); ${how} with a valid token (an admin creates them: POST /v1/tokens)`
      : `this route needs a token; ${how} (the admin token, or a service token from POST /v1/tokens)`,
    { reason: presented ? "invalid token" : "no token" },
  );
}

/**
 * Registers the auth hook: runs on every request before the route (and before a body is parsed). Called by
 * registerCommon for every server; not meant to be called twice on one instance.
 */
export function registerAuth(app: FastifyInstance, auth: Authenticator, options: AuthOptions = {}): void {
  const basic = options.basic ?? false;
  const open = [...OPEN_PATHS, ...(options.open ?? [])];
  app.decorateRequest("principal", null);
  app.addHook("onRequest", (request, reply, done) => {
    const path = request.url.split("?")[0] ?? "/";
    if (isOpen(path, open)) return done();
    const token = presentedToken(request.headers.authorization, basic);
    const principal = token === null ? null : auth.authenticate(token);
    if (!principal) {
      void reply.header("www-authenticate", challenge(basic));
      return done(unauthorized(token !== null, basic));
    }
    request.principal = principal;
    done();
  });
}

/** The request's principal; a 401 when there is none (a route on an open path must not ask). */
export function principalOf(request: FastifyRequest): Principal {
  const principal = request.principal;
  if (!principal) throw unauthorized(false);
  return principal;
}

/** Whether `principal` holds `scope` (admin and internal principals hold every scope). */
export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.admin || principal.internal || principal.scopes.includes(scope);
}

/** The principal, when it holds `scope`; otherwise 403 MESH_FORBIDDEN with `details.scope`. */
export function requireScope(request: FastifyRequest, scope: Scope): Principal {
  const principal = principalOf(request);
  if (hasScope(principal, scope)) return principal;
  throw new MeshError(
    "MESH_FORBIDDEN",
    `this route needs the "${scope}" scope, which this token (service "${principal.service ?? principal.id}") lacks; ask an admin for a token with it`,
    { scope, service: principal.service },
  );
}

/** The scope a request's method needs where a server asks by method: `read` to read, `write` to change. */
export function scopeOfMethod(method: string): Scope {
  return method === "GET" || method === "HEAD" ? "read" : "write";
}

/**
 * Every request but those on open paths and `skip` ones needs its method's scope (scopeOfMethod): the API's
 * and the registry's rule (routes may ask for more: admin, ownership, policies).
 */
export function registerMethodScopes(app: FastifyInstance, skip: (path: string) => boolean): void {
  app.addHook("onRequest", (request, _reply, done) => {
    if (request.principal === null || skip(request.url.split("?")[0] ?? "/")) return done();
    try {
      requireScope(request, scopeOfMethod(request.method));
    } catch (err) {
      return done(err as Error);
    }
    done();
  });
}

/** Only the admin token (and internal credentials) may do this; 403 MESH_FORBIDDEN otherwise. */
export function requireAdmin(request: FastifyRequest, why = "only the admin token may do this"): Principal {
  const principal = principalOf(request);
  if (principal.admin || principal.internal) return principal;
  throw new MeshError("MESH_FORBIDDEN", why, {
    scope: "admin",
    service: principal.service,
  });
}
