// Owns the registry's error shape for lib/http: Confluent's `{error_code, message}` bodies (what clients in
// every language switch on). A RegistryError carries its code and status (errors.ts); fastify's own failures
// (malformed JSON, wrong content type) keep their HTTP status as the code; anything else is a 500.
import { isMeshError } from "../../lib/errors.ts";
import type { ErrorShape } from "../../lib/http/errors.ts";
import { RegistryError } from "../errors.ts";

/** lib/http's auth failures in Confluent's codes (what its clients show: 40101 unauthorized, 40301 forbidden). */
const AUTH_CODES: Partial<Record<string, { status: number; code: number }>> = {
  MESH_UNAUTHORIZED: { status: 401, code: 40101 },
  MESH_FORBIDDEN: { status: 403, code: 40301 },
};

export const confluentErrors: ErrorShape = {
  answer(err) {
    // The registry's own failures are coded and expected (a store or election hiccup is retryable).
    if (err instanceof RegistryError) {
      return {
        status: err.status,
        body: err.body(),
        internal: false,
        code: err.errorCode,
        message: err.message,
      };
    }
    const auth = isMeshError(err) ? AUTH_CODES[err.code] : undefined;
    if (auth && isMeshError(err)) {
      return {
        status: auth.status,
        body: { error_code: auth.code, message: err.message },
        internal: false,
        code: auth.code,
        message: err.message,
      };
    }
    const message = err instanceof Error ? err.message : String(err);
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    return {
      status,
      body: {
        error_code: status >= 500 ? 500 : status,
        message:
          status >= 500
            ? `Internal Server Error: ${message}`
            : // Jersey's own answer to a body type no resource consumes.
              status === 415
              ? "HTTP 415 Unsupported Media Type"
              : message,
      },
      internal: status >= 500,
      code: status,
      message,
    };
  },
  notFound: () => ({ status: 404, body: { error_code: 404, message: "HTTP 404 Not Found" } }),
  methodNotAllowed: () => ({
    status: 405,
    body: { error_code: 405, message: "HTTP 405 Method Not Allowed" },
  }),
};
