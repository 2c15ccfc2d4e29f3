// How a role reaches Kafka: brokers, client id, optional SASL. Parsed once in each role's main and passed down;
// `clientOptions` turns it into the client library's base options (the one place that knows their names).
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
