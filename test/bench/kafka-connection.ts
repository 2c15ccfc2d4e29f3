// Where the benches reach Kafka: MESH_KAFKA_BROKERS and MESH_KAFKA_SASL_* from the environment, else the local
// stack of this checkout (`mesh stack env`: 127.0.0.1:19092 as the super user). The login is also put into
// process.env, so the roles and clients the benches spawn (connect, materialize, SSE clients) inherit it
// instead of carrying it in their arguments.
import { LocalStack } from "../../deploy/local/stack.ts";
import { kafkaSaslFromEnv, type KafkaSasl } from "../../lib/kafka/index.ts";

export function benchKafka(): { brokers: string[]; sasl?: KafkaSasl } {
  if (!process.env.MESH_KAFKA_BROKERS) {
    const env = new LocalStack().env();
    process.env.MESH_KAFKA_BROKERS = env.MESH_KAFKA_BROKERS;
    if (env.MESH_KAFKA_SASL_MECHANISM) process.env.MESH_KAFKA_SASL_MECHANISM = env.MESH_KAFKA_SASL_MECHANISM;
    if (env.MESH_KAFKA_SASL_USERNAME) process.env.MESH_KAFKA_SASL_USERNAME = env.MESH_KAFKA_SASL_USERNAME;
    if (env.MESH_KAFKA_SASL_PASSWORD) process.env.MESH_KAFKA_SASL_PASSWORD = env.MESH_KAFKA_SASL_PASSWORD;
  }
  const sasl = kafkaSaslFromEnv(process.env);
  return { brokers: process.env.MESH_KAFKA_BROKERS.split(","), ...(sasl ? { sasl } : {}) };
}

/** The Kafka variables (brokers and login) for a role's config parser, after benchKafka(). */
export function benchKafkaEnv(): Record<string, string | undefined> {
  return {
    MESH_KAFKA_BROKERS: process.env.MESH_KAFKA_BROKERS,
    MESH_KAFKA_SASL_MECHANISM: process.env.MESH_KAFKA_SASL_MECHANISM,
    MESH_KAFKA_SASL_USERNAME: process.env.MESH_KAFKA_SASL_USERNAME,
    MESH_KAFKA_SASL_PASSWORD: process.env.MESH_KAFKA_SASL_PASSWORD,
  };
}
