// Helpers for integration tests: the stack's addresses, unique names, and clients that clean up.
import { afterAll, inject } from "vitest";
import { KafkaClient, kafkaSaslFromEnv, type KafkaSasl } from "../../lib/kafka/index.ts";
import pg from "pg";
import mysql from "mysql2/promise";
import type { StackEnv } from "../../deploy/local/layout.ts";
import { uniqueName } from "./names.ts";

export function stackEnv(): StackEnv {
  const env = inject("stackEnv");
  if (!env) throw new Error("the integration global setup did not provide the stack; run through `npm test`");
  return env;
}

export { uniqueName };

const clients = new Set<KafkaClient>();

// Registered when a test file first imports this module, so it runs after the file's own afterAll hooks
// (vitest runs after-hooks in reverse order): clients they create for clean-up are closed too.
afterAll(async () => {
  const open = [...clients];
  clients.clear();
  await Promise.all(open.map((c) => c.close()));
});

/**
 * How to reach the stack's Kafka as the platform's super user: brokers and SASL login, for a KafkaConfig
 * (`{ ...kafkaConnection(), clientId }`) or a role's config. No `sasl` when the Kafka named by the
 * environment has none.
 */
export function kafkaConnection(): { brokers: string[]; sasl?: KafkaSasl } {
  const env = stackEnv();
  const sasl = kafkaSaslFromEnv(env);
  return { brokers: env.MESH_KAFKA_BROKERS.split(","), ...(sasl ? { sasl } : {}) };
}

/** The Kafka variables a spawned role or client process needs: MESH_KAFKA_BROKERS and MESH_KAFKA_SASL_*. */
export function kafkaEnv(): Record<string, string> {
  const env = stackEnv();
  const out: Record<string, string> = { MESH_KAFKA_BROKERS: env.MESH_KAFKA_BROKERS };
  for (const name of [
    "MESH_KAFKA_SASL_MECHANISM",
    "MESH_KAFKA_SASL_USERNAME",
    "MESH_KAFKA_SASL_PASSWORD",
  ] as const) {
    const value = env[name];
    if (value) out[name] = value;
  }
  return out;
}

/** A KafkaClient on the stack's brokers, logged in as the super user; closed after the calling file's tests. */
export function kafka(clientId = uniqueName("test")): KafkaClient {
  const client = new KafkaClient({ ...kafkaConnection(), clientId });
  clients.add(client);
  return client;
}

/** Creates a fresh Postgres database; returns its URL and a drop function (terminating its backends). */
export async function createPgDatabase(
  prefix = "t",
): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = uniqueName(prefix);
  const admin = new pg.Client({ connectionString: stackEnv().MESH_PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(stackEnv().MESH_PG_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const c = new pg.Client({ connectionString: stackEnv().MESH_PG_URL });
      await c.connect();
      try {
        await c.query(
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active",
          [name],
        );
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Creates a fresh MariaDB database; returns its name, an admin URL on it and a drop function. */
export async function createMysqlDatabase(
  prefix = "t",
): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = uniqueName(prefix);
  const conn = await mysql.createConnection(stackEnv().MESH_MYSQL_URL);
  await conn.query(`CREATE DATABASE ${name}`);
  await conn.end();
  const url = new URL(stackEnv().MESH_MYSQL_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const c = await mysql.createConnection(stackEnv().MESH_MYSQL_URL);
      await c.query(`DROP DATABASE IF EXISTS ${name}`);
      await c.end();
    },
  };
}
