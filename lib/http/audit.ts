// Owns what a server tells its audit sink: one `AuditedRequest` per control-plane change (a POST, PUT, PATCH
// or DELETE answered by a route of a server that audits changes: the API) and per denied access (any 401 or
// 403 on any server), successful or failed. Who (the principal's id and service, never its token), what
// (method, route template, resource, action), when, outcome (status, code) and the request id. The sink
// (protocol/audit-writer.ts's AuditWriter writes `_mesh_audit`) takes it without waiting: the answer never
// waits for the audit log. Registered by registerCommon (server.ts) when a sink is given.
import type { FastifyInstance, FastifyRequest } from "fastify";
import { routeOf } from "./metrics.ts";

/** The principal as the audit log names it (lib/http/auth.ts's Principal, less its scopes). */
export interface AuditedPrincipal {
  id: string;
  service: string | null;
  admin: boolean;
  internal: boolean;
}

export interface AuditedRequest {
  /** ms since the epoch, when the answer was sent. */
  at: number;
  /** The server's name: api, registry, materializer. */
  server: string;
  /** Null when the request carried no valid token. */
  principal: AuditedPrincipal | null;
  /** The caller's address. */
  ip: string | null;
  method: string;
  /** The route template (`/v1/sources/:name`), never the raw path. */
  route: string;
  /** The resource the request names: its path parameters, else the name it creates. */
  resource: string | null;
  /** `<resource kind>.<verb>`: `sources.create`, `sources.pause`, `views.parked.retry`, `tokens.delete`. */
  action: string;
  status: number;
  /** The answer's error code (MESH_* or a Confluent error_code); null on success. */
  code: string | null;
  /** A 403's missing scope or refusing policy (`details.scope`, `details.policy`). */
  scope: string | null;
  policy: string | null;
  /** A denial's `details.reason` (`no token`, `invalid token`, a policy's reason). */
  reason: string | null;
  requestId: string;
}

export interface AuditSink {
  /** Takes the entry and returns at once (the writer sends it in the background). */
  write(entry: AuditedRequest): void;
}

export interface AuditOptions {
  sink: AuditSink;
  /** Audit every POST/PUT/PATCH/DELETE a route answers (the API); denials are audited either way. */
  changes?: boolean;
}

/** A route's `config.audit`: false takes a POST that changes nothing (a check) out of the change log. */
export interface RouteAuditConfig {
  audit?: false | { action?: string };
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** lib/http/audit.ts: false, a route that changes nothing; `action`, its audit action's name. */
    audit?: false | { action?: string };
  }
}

const CHANGE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const VERBS: Record<string, string> = {
  POST: "create",
  PUT: "put",
  PATCH: "update",
  DELETE: "delete",
  GET: "read",
  HEAD: "read",
};

/**
 * `<kind>.<verb>` from the method and the route template: the static segments after `/v1` name the kind;
 * a POST to a path ending in a static segment after the first (`/v1/sources/:name/pause`,
 * `/v1/views/:name/parked/retry`) is that action itself; otherwise the method names the verb.
 */
export function actionOf(method: string, route: string): string {
  const segments = route.split("/").filter((s) => s !== "");
  if (segments[0] === "v1") segments.shift();
  const statics = segments.filter((s) => !s.startsWith(":") && s !== "*");
  const verb = VERBS[method] ?? method.toLowerCase();
  if (statics.length === 0) return verb;
  const last = segments[segments.length - 1] ?? "";
  if (method === "POST" && statics.length > 1 && !last.startsWith(":")) return statics.join(".");
  return [...statics, verb].join(".");
}

/** `CREATE VIEW name AS ...` → name (the view a failed declaration meant). */
function viewNameOf(sql: unknown): string | null {
  if (typeof sql !== "string") return null;
  return /^\s*create\s+(?:materialized\s+)?view\s+"?([A-Za-z0-9_.]+)"?/i.exec(sql)?.[1] ?? null;
}

function nameIn(value: unknown): string | null {
  if (value === null || typeof value !== "object") return null;
  const v = value as { name?: unknown; id?: unknown; sql?: unknown };
  if (typeof v.name === "string") return v.name;
  if (typeof v.id === "string") return v.id;
  return viewNameOf(v.sql);
}

/** The path parameters' values, else the name the body or the answer gives (a create has no parameter). */
function resourceOf(request: FastifyRequest, answer: unknown): string | null {
  const params = Object.entries((request.params ?? {}) as Record<string, unknown>)
    .filter(([k, v]) => k !== "*" && typeof v === "string" && v !== "")
    .map(([, v]) => v as string);
  if (params.length > 0) return params.join("/");
  return nameIn(request.body) ?? nameIn(answer);
}

/** The principal set by auth.ts's onRequest hook; null when the request carried no valid token. */
function principalIn(request: FastifyRequest): AuditedPrincipal | null {
  const p = (request as unknown as { principal?: AuditedPrincipal | null }).principal;
  if (!p || typeof p.id !== "string") return null;
  return { id: p.id, service: p.service ?? null, admin: p.admin === true, internal: p.internal === true };
}

interface Answered {
  code: string | null;
  scope: string | null;
  policy: string | null;
  reason: string | null;
  body: unknown;
}

const answers = new WeakMap<object, Answered>();

/** The fields the audit keeps of a JSON answer (an error's code and reason, a created resource's name). */
function readAnswer(payload: unknown): Answered {
  const none: Answered = { code: null, scope: null, policy: null, reason: null, body: null };
  if (typeof payload !== "string" && !Buffer.isBuffer(payload)) return none;
  if (payload.length > 1_000_000) return none;
  let body: unknown;
  try {
    body = JSON.parse(payload.toString());
  } catch {
    return none;
  }
  const b = (body ?? {}) as { code?: unknown; error_code?: unknown; details?: unknown };
  const code = b.code ?? b.error_code;
  const details = (b.details ?? {}) as { scope?: unknown; policy?: unknown; reason?: unknown };
  const text = (v: unknown): string | null => (typeof v === "string" ? v.slice(0, 500) : null);
  return {
    code: typeof code === "string" || typeof code === "number" ? String(code) : null,
    scope: text(details.scope),
    policy: text(details.policy),
    reason: text(details.reason),
    // Only a created resource's `name`/`id` is read from it (never a token's secret field).
    body: { name: (body as { name?: unknown } | null)?.name, id: (body as { id?: unknown } | null)?.id },
  };
}

function audited(request: FastifyRequest, status: number, changes: boolean): boolean {
  if (status === 401 || status === 403) return true;
  if (!changes || !CHANGE_METHODS.has(request.method) || request.is404) return false;
  const config = request.routeOptions.config as RouteAuditConfig | undefined;
  return config?.audit !== false;
}

export function registerAudit(app: FastifyInstance, server: string, options: AuditOptions): void {
  const changes = options.changes ?? false;
  app.addHook("onSend", (request, reply, payload, done) => {
    if (audited(request, reply.statusCode, changes)) answers.set(request.raw, readAnswer(payload));
    done(null, payload);
  });
  app.addHook("onResponse", (request, reply, done) => {
    const status = reply.statusCode;
    if (!audited(request, status, changes)) return done();
    const answer = answers.get(request.raw);
    answers.delete(request.raw);
    const route = routeOf(request);
    const denied = status === 401 || status === 403;
    const config = request.routeOptions.config as RouteAuditConfig | undefined;
    const action = (config?.audit !== false && config?.audit?.action) || actionOf(request.method, route);
    try {
      options.sink.write({
        at: Date.now(),
        server,
        principal: principalIn(request),
        ip: request.ip ?? null,
        method: request.method,
        route,
        resource: request.is404 ? null : resourceOf(request, answer?.body),
        action,
        status,
        code: status >= 400 ? (answer?.code ?? null) : null,
        // Why it was denied; other failures' details stay out of the log (they may quote what was sent).
        scope: denied ? (answer?.scope ?? null) : null,
        policy: denied ? (answer?.policy ?? null) : null,
        reason: denied ? (answer?.reason ?? null) : null,
        requestId: String(request.id),
      });
    } catch (err) {
      request.log.warn({ err }, "the audit sink refused an entry");
    }
    done();
  });
}
