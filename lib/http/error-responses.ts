// Owns how a route declares its failures: the MESH codes it may answer (lib/errors.ts), grouped by their
// HTTP status, each status's body the MESH error shape with `code` narrowed to those codes. Routes spread
// `errorResponses(...)` into their response schemas: fastify serializes failures with them and the OpenAPI
// document is generated from them, so what a client is told and what the server answers are one list.
import { errorCatalogue, type ErrorCode } from "../errors.ts";

/** Every route checks its input (schema, undeclared query parameters and bodies). */
export const INPUT_CODES: readonly ErrorCode[] = ["MESH_BAD_REQUEST", "MESH_UNKNOWN_FIELD"];

/** Every route but /healthz and /readyz needs a token (auth.ts), and a scope a token may lack. */
export const AUTH_CODES: readonly ErrorCode[] = ["MESH_UNAUTHORIZED", "MESH_FORBIDDEN"];

/** A dependency's failure (Kafka, the registry, a member, a bug) can reach any route: the 5xx codes. */
export const SERVER_CODES: readonly ErrorCode[] = (Object.keys(errorCatalogue) as ErrorCode[]).filter(
  (code) => errorCatalogue[code].status >= 500,
);

/** The MESH error body with `code` one of `codes`. */
export function errorBodySchema(codes: readonly ErrorCode[], description?: string): Record<string, unknown> {
  return {
    ...(description ? { description } : {}),
    type: "object",
    required: ["code", "message", "details"],
    properties: {
      code: { type: "string", enum: [...codes] },
      message: { type: "string", description: "what is wrong and what to do" },
      details: { type: "object", additionalProperties: true },
    },
  };
}

/**
 * Response schemas, by status, for the input codes, the auth codes, `codes` and the server codes. The description lists
 * each code with what it means (lib/errors.ts), so a generated client's docs say what to do.
 */
export function errorResponses(...codes: ErrorCode[]): Record<string, Record<string, unknown>> {
  const all = [...new Set([...INPUT_CODES, ...AUTH_CODES, ...codes, ...SERVER_CODES])];
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of all) {
    const status = errorCatalogue[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<string, Record<string, unknown>> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    const description = list.map((code) => `\`${code}\`: ${errorCatalogue[code].doc}`).join("\n\n");
    out[String(status)] = errorBodySchema(list, description);
  }
  return out;
}
