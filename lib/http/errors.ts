// Owns how a server answers a failure. Every failure (a thrown error, fastify's own: malformed JSON, schema
// violations, wrong content type; an unknown route) is answered in the server's one error shape and logged
// once, under the request id, with URL passwords masked in the log and in the answer. The shape is the
// MESH one, `{code, message, details}` with a MESH_* code from lib/errors.ts, unless the server brings its
// own (the registry answers Confluent's `{error_code, message}`). A path served with other methods is a 405
// with `Allow` (methods.ts), not a 404.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { errorCatalogue, isMeshError, MeshError, type ErrorCode } from "../errors.ts";
import { redactUrl } from "../logger.ts";
import { noteError } from "./metrics.ts";
import { allowedMethods } from "./methods.ts";

/** What a server answers to a failed request. */
export interface ErrorAnswer {
  status: number;
  body: unknown;
  /** Unexpected (a bug, a dependency's raw failure): logged at error with its stack. */
  internal: boolean;
  /** For the log line of an expected failure. */
  code: string | number;
  message: string;
}

/** A server's error shape: lib/http calls it for every failure and for unknown routes. */
export interface ErrorShape {
  answer(err: unknown, request: FastifyRequest): ErrorAnswer;
  notFound(request: FastifyRequest): { status: number; body: unknown };
  /** A path served with other methods (`allow`); without it: notFound's body with status 405. */
  methodNotAllowed?(request: FastifyRequest, allow: string[]): { status: number; body: unknown };
}

/** JSON schema of the MESH error body; `{ $ref: "MeshError#" }` in route schemas. */
export const errorSchema = {
  $id: "MeshError",
  type: "object",
  required: ["code", "message", "details"],
  properties: {
    code: { type: "string", enum: Object.keys(errorCatalogue) },
    message: { type: "string" },
    details: { type: "object", additionalProperties: true },
  },
} as const;

interface AjvError {
  keyword: string;
  instancePath: string;
  schemaPath: string;
  message?: string;
  params: Record<string, unknown>;
  /** With ajv's `verbose`: the schema holding the failed keyword (its description explains a pattern). */
  parentSchema?: { description?: string };
}

/**
 * Of a oneOf whose alternatives are told apart by a one-value enum (a source's `kind`), the errors of the
 * alternative the client meant; all of them when none was meant (the enum itself is wrong).
 */
function meantAlternative(errors: AjvError[]): AjvError[] {
  const branch = (e: AjvError): string =>
    e.schemaPath.split("#")[0] || (/^#\/oneOf\/\d+/.exec(e.schemaPath)?.[0] ?? "");
  const oneValue = (e: AjvError): boolean =>
    e.keyword === "enum" && Array.isArray(e.params.allowedValues) && e.params.allowedValues.length === 1;
  const notMeant = new Set(errors.filter(oneValue).map(branch));
  const kept = errors.filter((e) => e.keyword !== "oneOf" && !notMeant.has(branch(e)));
  return kept.length > 0 ? kept : errors.filter((e) => e.keyword !== "oneOf");
}

/** What a failed keyword asks for, in words: a pattern by its schema's description, an enum by its values. */
function explain(error: AjvError, all: AjvError[]): string {
  if (error.keyword === "pattern" && error.parentSchema?.description)
    return `must be ${error.parentSchema.description}`;
  if (error.keyword === "enum") {
    const allowed = all
      .filter((e) => e.keyword === "enum" && e.instancePath === error.instancePath)
      .flatMap((e) => (Array.isArray(e.params.allowedValues) ? (e.params.allowedValues as unknown[]) : []));
    return `must be one of ${[...new Set(allowed)].map((v) => JSON.stringify(v)).join(", ")}`;
  }
  return error.message ?? "is invalid";
}

/** Maps any error thrown in a request to a MeshError the client can act on. */
export function toMeshError(err: unknown): MeshError {
  if (isMeshError(err)) return err;
  const e = err as FastifyError & { validation?: AjvError[]; validationContext?: string };
  if (e.validation && e.validation.length > 0) {
    const where = e.validationContext ?? "body";
    const unknown = e.validation.find((v) => v.keyword === "additionalProperties");
    if (unknown) {
      const field = joinPath(unknown.instancePath, String(unknown.params.additionalProperty));
      return new MeshError(
        "MESH_UNKNOWN_FIELD",
        `unknown field "${field}" in the ${where}; remove it or check its spelling`,
        {
          field,
          in: where,
        },
      );
    }
    const validation = e.validation;
    const errors = meantAlternative(validation);
    const first = errors[0] ?? validation[0]!;
    const field =
      first.keyword === "required"
        ? joinPath(first.instancePath, String(first.params.missingProperty))
        : first.instancePath.replace(/^\//, "").replaceAll("/", ".");
    const problems = errors.map((v) => `${v.instancePath || where} ${explain(v, validation)}`);
    return new MeshError(
      "MESH_BAD_REQUEST",
      `${where} ${field ? `field "${field}" ` : ""}${explain(first, validation)}`,
      {
        field: field || null,
        in: where,
        problems,
      },
    );
  }
  switch (e.code) {
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new MeshError(
        "MESH_BAD_REQUEST",
        "send the body as JSON with Content-Type: application/json",
        {},
      );
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new MeshError("MESH_BAD_REQUEST", "the JSON body is empty; send an object", {});
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new MeshError("MESH_BAD_REQUEST", "the body is too large", {});
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return new MeshError("MESH_BAD_REQUEST", `the body is not valid JSON: ${e.message}`, {});
  }
  if (e instanceof SyntaxError || (typeof e.statusCode === "number" && e.statusCode === 400)) {
    return new MeshError("MESH_BAD_REQUEST", `the request is malformed: ${e.message}`, {});
  }
  return new MeshError(
    "MESH_INTERNAL",
    "an unexpected error; the server log has details under the request id",
    {},
    { cause: err },
  );
}

/** The MESH error shape (API, materializer members). */
export const meshErrors: ErrorShape = {
  answer(err, request) {
    const mesh = toMeshError(err);
    const internal = mesh.code === "MESH_INTERNAL";
    const body = internal
      ? { ...mesh.toJSON(), details: { requestId: request.id } }
      : { ...mesh.toJSON(), message: redactUrl(mesh.message), details: redactDeep(mesh.details) };
    return { status: mesh.status, body, internal, code: mesh.code, message: mesh.message };
  },
  notFound(request) {
    const err = new MeshError(
      "MESH_NOT_FOUND",
      `no route ${request.method} ${request.url.split("?")[0]}; see /docs for the API`,
      { method: request.method },
    );
    return { status: 404, body: err.toJSON() };
  },
  methodNotAllowed(request, allow) {
    const path = request.url.split("?")[0];
    const err = new MeshError(
      "MESH_METHOD_NOT_ALLOWED",
      `${path} does not take ${request.method}; it takes ${allow.join(", ")} (see /docs)`,
      { method: request.method, allow },
    );
    return { status: 405, body: err.toJSON() };
  },
};

/** Answers every failure of `app` in `shape`; expected ones are logged at `level`. */
export function registerErrors(app: FastifyInstance, shape: ErrorShape, level: "info" | "debug"): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const answer = shape.answer(err, request);
    noteError(request, answer.code);
    // Driver errors may quote a connection URL: its password never reaches the log or the client.
    if (answer.internal) request.log.error({ err: redactedError(err) }, "request failed");
    else request.log[level]({ code: answer.code }, redactUrl(answer.message));
    return reply.status(answer.status).send(answer.body);
  });
  // On request, before a body is parsed: a method that takes a body (QUERY, PATCH) sent without one must
  // still hear 405, not a content-type complaint.
  app.addHook("onRequest", (request, reply, done) => {
    if (!request.is404) return done();
    const allow = allowedMethods(app, request);
    if (allow.length === 0) return done();
    const answer = shape.methodNotAllowed?.(request, allow) ?? { ...shape.notFound(request), status: 405 };
    noteError(request, answerCode(answer.body));
    void reply.header("allow", allow.join(", ")).status(answer.status).send(answer.body);
  });
  app.setNotFoundHandler((request, reply) => {
    const answer = shape.notFound(request);
    noteError(request, answerCode(answer.body));
    return reply.status(answer.status).send(answer.body);
  });
}

/** The code of an answered body: MESH `code`, Confluent `error_code`. */
function answerCode(body: unknown): string | number {
  const b = body as { code?: unknown; error_code?: unknown } | null;
  const code = b?.code ?? b?.error_code;
  return typeof code === "string" || typeof code === "number" ? code : "unknown";
}

export function notFound(what: string, name: string): MeshError {
  return new MeshError("MESH_NOT_FOUND", `no ${what} named "${name}"; list them with GET /v1/${what}s`, {
    [what]: name,
  });
}

/**
 * Another process's MESH error answer, passed on as it is (the same question would get the same answer
 * here); an answer in another shape becomes MESH_INTERNAL.
 */
export function meshErrorOf(body: unknown, status: number): MeshError {
  const b = body as { code?: string; message?: string; details?: Record<string, unknown> } | null;
  const code: ErrorCode = b?.code && b.code in errorCatalogue ? (b.code as ErrorCode) : "MESH_INTERNAL";
  return new MeshError(code, b?.message ?? `a member answered ${status}`, b?.details ?? {});
}

/** Every string in `value` with URL passwords masked (details may quote a driver's message). */
function redactDeep<T>(value: T): T {
  if (typeof value === "string") return redactUrl(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => redactDeep(v)) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v)])) as T;
  }
  return value;
}

/** What pino's error serializer reads (type, message, stack, code), with URL passwords masked. */
function redactedError(err: unknown): unknown {
  if (!(err instanceof Error)) return typeof err === "string" ? redactUrl(err) : err;
  const copy = new Error(redactUrl(err.message));
  copy.name = err.name;
  copy.stack = redactUrl(err.stack ?? "");
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) Object.assign(copy, { code });
  return copy;
}

function joinPath(instancePath: string, prop: string): string {
  const base = instancePath.replace(/^\//, "").replaceAll("/", ".");
  return base ? `${base}.${prop}` : prop;
}
