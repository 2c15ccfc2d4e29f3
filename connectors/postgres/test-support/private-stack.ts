// Private services for fault tests: a Kafka or a Postgres cluster of our own (own folder, own ports, via
// deploy/local), so stopping or restarting it never disturbs the shared stack other tests run on.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { KafkaService } from "../../../deploy/local/kafka.ts";
import { kafkaSuperUser } from "../../../deploy/local/kafka-sasl.ts";
import type { KafkaSasl } from "../../../lib/kafka/index.ts";
import { stackLayout, type StackLayout } from "../../../deploy/local/layout.ts";
import { PostgresService } from "../../../deploy/local/postgres.ts";

export interface PrivateService<S> {
  service: S;
  layout: StackLayout;
  /** Stops the service and removes its folder. */
  remove(): Promise<void>;
}

function privateLayout(portBase: number): { layout: StackLayout; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), "mesh-fault-"));
  // Postgres runs as its own user (when we are root): it must get through to the data folder.
  chmodSync(dir, 0o755);
  return { layout: stackLayout(dir, portBase), dir };
}

export async function privateKafka(
  portBase: number,
): Promise<PrivateService<KafkaService> & { brokers: string[]; sasl: KafkaSasl }> {
  const { layout, dir } = privateLayout(portBase);
  const service = new KafkaService(layout.kafka);
  await service.up();
  return {
    service,
    layout,
    brokers: [`127.0.0.1:${layout.kafka.port}`],
    sasl: kafkaSuperUser(layout.kafka.dir),
    remove: async () => {
      await service.down().catch(() => false);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function privatePostgres(
  portBase: number,
): Promise<
  PrivateService<PostgresService> & { url(db: string): string; createDatabase(name: string): Promise<string> }
> {
  const { layout, dir } = privateLayout(portBase);
  const service = new PostgresService(layout.postgres);
  await service.up();
  const { port, user, password } = layout.postgres;
  const url = (db: string): string => `postgres://${user}:${password}@127.0.0.1:${port}/${db}`;
  return {
    service,
    layout,
    url,
    createDatabase: async (name) => {
      const c = new pg.Client({ connectionString: url("postgres") });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return url(name);
    },
    remove: async () => {
      await service.down().catch(() => false);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
