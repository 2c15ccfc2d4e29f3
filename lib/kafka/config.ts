// How a role reaches Kafka: brokers, client id, optional SASL. Parsed once in each role's main and passed down;
// `clientOptions` turns it into the client library's base options (the one place that knows their names).
import { MeshError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { kafkaClientMetrics } from "../metrics.ts";

export interface KafkaSasl {
  mechanism: "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512";
  username: string;
  password: string;
}

export interface KafkaConfig {
  brokers: string[];
  clientId: string;
  sasl?: KafkaSasl;
  logger?: Logger;
}

/** The environment variables kafkaSaslFromEnv reads (any env record, or the stack's env, has this shape). */
export interface KafkaSaslEnv {
  MESH_KAFKA_SASL_MECHANISM?: string | undefined;
  MESH_KAFKA_SASL_USERNAME?: string | undefined;
  MESH_KAFKA_SASL_PASSWORD?: string | undefined;
}

const MECHANISMS: readonly KafkaSasl["mechanism"][] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

/**
 * The SASL credentials every role reads from MESH_KAFKA_SASL_MECHANISM / _USERNAME / _PASSWORD (env only,
 * never flags: flags show in `ps`). None set: no SASL. Some but not all, or an unknown mechanism: a
 * MESH_BAD_REQUEST naming the variables, never their values.
 */
export function kafkaSaslFromEnv(env: Readonly<KafkaSaslEnv>): KafkaSasl | undefined {
  const mechanism = env.MESH_KAFKA_SASL_MECHANISM || undefined;
  const username = env.MESH_KAFKA_SASL_USERNAME || undefined;
  const password = env.MESH_KAFKA_SASL_PASSWORD || undefined;
  if (mechanism === undefined && username === undefined && password === undefined) return undefined;
  const missing = [
    ...(mechanism === undefined ? ["MESH_KAFKA_SASL_MECHANISM"] : []),
    ...(username === undefined ? ["MESH_KAFKA_SASL_USERNAME"] : []),
    ...(password === undefined ? ["MESH_KAFKA_SASL_PASSWORD"] : []),
  ];
  if (missing.length > 0)
    throw new MeshError(
      "MESH_BAD_REQUEST",
      `Kafka SASL needs MESH_KAFKA_SASL_MECHANISM, _USERNAME and _PASSWORD together; ${missing.join(", ")} missing (\`mesh stack env\` prints the local stack's)`,
      { missing },
    );
  if (!MECHANISMS.includes(mechanism as KafkaSasl["mechanism"]))
    throw new MeshError(
      "MESH_BAD_REQUEST",
      `MESH_KAFKA_SASL_MECHANISM must be one of ${MECHANISMS.join(", ")} (got "${mechanism}")`,
      { option: "MESH_KAFKA_SASL_MECHANISM" },
    );
  return { mechanism: mechanism as KafkaSasl["mechanism"], username: username!, password: password! };
}

/** Base options shared by every @platformatic/kafka client this folder creates. */
export function clientOptions(config: KafkaConfig, suffix: string): Record<string, unknown> {
  return {
    clientId: `${config.clientId}-${suffix}`,
    bootstrapBrokers: config.brokers,
    connectTimeout: 5_000,
    timeout: 30_000,
    retries: 10,
    retryDelay: 250,
    // The client's own metrics (kafka_produced_messages, kafka_consumers_lags, ...) in the process's registry.
    metrics: kafkaClientMetrics,
    ...(config.sasl ? { sasl: { ...config.sasl } } : {}),
  };
}
