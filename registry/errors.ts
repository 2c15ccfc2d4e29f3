// Owns the registry's error catalogue: Confluent's error codes (what clients in every language switch on),
// each with its HTTP status, whether a retry can help, and a message that tells the user what to do.

export const ERROR_CODES = {
  ROUTE_NOT_FOUND: { code: 404, status: 404, retryable: false },
  SUBJECT_NOT_FOUND: { code: 40401, status: 404, retryable: false },
  VERSION_NOT_FOUND: { code: 40402, status: 404, retryable: false },
  SCHEMA_NOT_FOUND: { code: 40403, status: 404, retryable: false },
  SUBJECT_SOFT_DELETED: { code: 40404, status: 404, retryable: false },
  SUBJECT_NOT_SOFT_DELETED: { code: 40405, status: 404, retryable: false },
  VERSION_SOFT_DELETED: { code: 40406, status: 404, retryable: false },
  VERSION_NOT_SOFT_DELETED: { code: 40407, status: 404, retryable: false },
  SUBJECT_COMPATIBILITY_NOT_CONFIGURED: { code: 40408, status: 404, retryable: false },
  SUBJECT_MODE_NOT_CONFIGURED: { code: 40409, status: 404, retryable: false },
  INCOMPATIBLE_SCHEMA: { code: 409, status: 409, retryable: false },
  INVALID_SCHEMA: { code: 42201, status: 422, retryable: false },
  INVALID_VERSION: { code: 42202, status: 422, retryable: false },
  INVALID_COMPATIBILITY_LEVEL: { code: 42203, status: 422, retryable: false },
  INVALID_MODE: { code: 42204, status: 422, retryable: false },
  OPERATION_NOT_PERMITTED: { code: 42205, status: 422, retryable: false },
  REFERENCE_EXISTS: { code: 42206, status: 422, retryable: false },
  STORE_ERROR: { code: 50001, status: 500, retryable: true },
  OPERATION_TIMEOUT: { code: 50002, status: 500, retryable: true },
  FORWARDING_ERROR: { code: 50003, status: 500, retryable: true },
  UNKNOWN_LEADER: { code: 50004, status: 500, retryable: true },
} as const;

export type ErrorName = keyof typeof ERROR_CODES;

export class RegistryError extends Error {
  override name = "RegistryError";
  readonly errorCode: number;
  readonly status: number;
  readonly retryable: boolean;
  constructor(kind: ErrorName, message: string) {
    super(message);
    const e = ERROR_CODES[kind];
    this.errorCode = e.code;
    this.status = e.status;
    this.retryable = e.retryable;
  }
  body(): { error_code: number; message: string } {
    return { error_code: this.errorCode, message: this.message };
  }
}

export const errors = {
  subjectNotFound: (s: string) => new RegistryError("SUBJECT_NOT_FOUND", `Subject '${s}' not found.`),
  versionNotFound: (v: number | string) => new RegistryError("VERSION_NOT_FOUND", `Version ${v} not found.`),
  schemaNotFound: (what = "Schema not found") => new RegistryError("SCHEMA_NOT_FOUND", what),
  invalidVersion: (v: string) =>
    new RegistryError(
      "INVALID_VERSION",
      `The specified version '${v}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`,
    ),
  // Confluent's text for a missing or blank schema (KafkaSchemaRegistry.canonicalizeSchema).
  emptySchema: () => new RegistryError("INVALID_SCHEMA", "Empty schema"),
  invalidSchema: (why: string) => new RegistryError("INVALID_SCHEMA", `Invalid schema: ${why}`),
  // Confluent's RestInvalidCompatibilityException text, which does not repeat the value.
  invalidLevel: () =>
    new RegistryError(
      "INVALID_COMPATIBILITY_LEVEL",
      "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive",
    ),
  invalidMode: (m: unknown) =>
    new RegistryError(
      "INVALID_MODE",
      `Invalid mode ${JSON.stringify(m)}. Valid values are READWRITE, READONLY, IMPORT`,
    ),
  notPermitted: (why: string) => new RegistryError("OPERATION_NOT_PERMITTED", why),
};
