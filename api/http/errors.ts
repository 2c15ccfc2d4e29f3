// One error shape everywhere: `{code, message, details}` with a MESH_* code from lib/errors.ts. Fastify's
// own failures (malformed JSON, schema violations, wrong content type, unknown routes) are translated
// here so a client never sees another shape.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { errorCatalogue, isMeshError, MeshError } from "../../lib/errors.ts";
import { redactUrl } from "../../lib/logger.ts";

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
  message?: string;
  params: Record<string, unknown>;
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
    const first = e.validation[0]!;
    const field =
      first.keyword === "required"
        ? joinPath(first.instancePath, String(first.params.missingProperty))
        : first.instancePath.replace(/^\//, "").replaceAll("/", ".");
    const problems = e.validation.map((v) => `${v.instancePath || where} ${v.message ?? v.keyword}`);
    return new MeshError(
      "MESH_BAD_REQUEST",
      `${where} ${field ? `field "${field}" ` : ""}${first.message ?? "is invalid"}`,
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

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const mesh = toMeshError(err);
    // Driver errors may quote a connection URL: its password never reaches the log or the client.
    if (mesh.code === "MESH_INTERNAL") request.log.error({ err: redactedError(err) }, "request failed");
    else request.log.info({ code: mesh.code }, redactUrl(mesh.message));
    const body =
      mesh.code === "MESH_INTERNAL"
        ? { ...mesh.toJSON(), details: { requestId: request.id } }
        : { ...mesh.toJSON(), message: redactUrl(mesh.message), details: redactDeep(mesh.details) };
    return reply.status(mesh.status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const err = new MeshError(
      "MESH_NOT_FOUND",
      `no route ${request.method} ${request.url.split("?")[0]}; see /docs for the API`,
      {
        method: request.method,
      },
    );
    return reply.status(404).send(err.toJSON());
  });
}

export function notFound(what: string, name: string): MeshError {
  return new MeshError("MESH_NOT_FOUND", `no ${what} named "${name}"; list them with GET /v1/${what}s`, {
    [what]: name,
  });
}
