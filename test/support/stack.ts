// Helpers for integration tests: the stack's addresses, unique names, and clients that clean up.
import { afterAll, inject } from "vitest";
import { KafkaClient } from "../../lib/kafka/index.ts";
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

/** A KafkaClient on the stack's brokers; closed after the calling test file's tests. */
export function kafka(clientId = uniqueName("test")): KafkaClient {
  const client = new KafkaClient({ brokers: stackEnv().MESH_KAFKA_BROKERS.split(","), clientId });
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
