// Turns what the Kafka client throws into MeshErrors with stable MESH_KAFKA_* codes, so that callers decide
// retries by code (lib/errors.ts), never by the client's message text or error classes.
import { TimeoutError } from "@platformatic/kafka";
import { MeshError, type ErrorCode } from "../errors.ts";

interface ClientErrorLike {
  code?: unknown;
  apiId?: unknown;
  canRetry?: unknown;
  closed?: unknown;
  producerFenced?: unknown;
  errors?: unknown;
  cause?: unknown;
  message?: unknown;
}

const fencedIds = new Set(["PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH", "TRANSACTION_COORDINATOR_FENCED"]);
const authIds = new Set(["SASL_AUTHENTICATION_FAILED", "UNSUPPORTED_SASL_MECHANISM", "ILLEGAL_SASL_STATE"]);
const missingTopicIds = new Set(["UNKNOWN_TOPIC_OR_PARTITION", "UNKNOWN_TOPIC_ID"]);

/** The error and everything nested in it (MultipleErrors' `errors`, `cause`), depth first. */
function* walk(err: unknown, depth = 0): Generator<ClientErrorLike> {
  if (!err || typeof err !== "object" || depth > 8) return;
  const e = err as ClientErrorLike;
  yield e;
  if (Array.isArray(e.errors)) for (const inner of e.errors) yield* walk(inner, depth + 1);
  if (e.cause) yield* walk(e.cause, depth + 1);
}

/** Kafka's own error name (e.g. NOT_LEADER_OR_FOLLOWER) found anywhere in the error, if any. */
export function kafkaErrorId(err: unknown): string | undefined {
  for (const e of walk(err)) if (typeof e.apiId === "string") return e.apiId;
  return undefined;
}

function classify(err: unknown): ErrorCode {
  const all = [...walk(err)];
  const has = (test: (e: ClientErrorLike) => boolean): boolean => all.some(test);
  const id = (e: ClientErrorLike): string => (typeof e.apiId === "string" ? e.apiId : "");
  if (has((e) => e.producerFenced === true || fencedIds.has(id(e)))) return "MESH_KAFKA_FENCED";
  if (
    has(
      (e) =>
        e.code === "PLT_KFK_AUTHENTICATION" || authIds.has(id(e)) || id(e).endsWith("_AUTHORIZATION_FAILED"),
    )
  )
    return "MESH_KAFKA_AUTH";
  if (has((e) => missingTopicIds.has(id(e)))) return "MESH_KAFKA_TOPIC_MISSING";
  if (has((e) => e.code === "PLT_KFK_NETWORK" && e.closed === true)) return "MESH_KAFKA_CLOSED";
  // The client's TimeoutError carries the network error's code: known by its class.
  if (has((e) => e instanceof TimeoutError || e.code === "PLT_KFK_TIMEOUT")) return "MESH_KAFKA_TIMEOUT";
  if (has((e) => e.code === "PLT_KFK_NETWORK")) return "MESH_KAFKA_UNAVAILABLE";
  // A protocol error the client would have retried (leader moving, coordinator loading, ...) that outlived
  // the retries is a cluster in trouble: retryable. One it would not retry is a refusal.
  const protocol = all.filter((e) => id(e) !== "");
  if (protocol.length > 0)
    return protocol.every((e) => e.canRetry === true) ? "MESH_KAFKA_UNAVAILABLE" : "MESH_KAFKA_REJECTED";
  return "MESH_INTERNAL";
}

/** A MeshError for `err`; `what` says what was being done ("producing to t", "creating topics"). */
export function kafkaError(err: unknown, what: string, details: Record<string, unknown> = {}): MeshError {
  if (err instanceof MeshError) return err;
  const code = classify(err);
  const kafkaCode = kafkaErrorId(err);
  const text = err instanceof Error ? err.message : String(err);
  return new MeshError(
    code,
    `Kafka: ${what} failed: ${kafkaCode ? `${kafkaCode}: ` : ""}${text}`,
    { ...details, ...(kafkaCode ? { kafkaCode } : {}) },
    { cause: err },
  );
}
