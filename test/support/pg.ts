// The Postgres tests' shared set-up, registered as vitest hooks of the calling test file: the connector
// harness (a registry on a private schemas topic, Kafka, an offsets producer; connectors/postgres/
// test-harness.ts) and fresh databases, each started before the file's tests and cleaned up after them.
import { afterAll, beforeAll } from "vitest";
import { startHarness, type Harness } from "../../connectors/postgres/test-harness.ts";
import { createPgDatabase, kafkaConnection } from "./stack.ts";

export type PgDatabase = Awaited<ReturnType<typeof createPgDatabase>>;

/** The connector harness for this file's tests: started before them, stopped after. */
export function useConnectorHarness(): Harness {
  let h: Harness | undefined;
  beforeAll(async () => {
    h = await startHarness(kafkaConnection());
  });
  afterAll(async () => {
    await h?.stop();
  });
  const get = (): Harness => {
    if (!h) throw new Error("the connector harness starts before the tests: use it inside them");
    return h;
  };
  return {
    get kafka() {
      return get().kafka;
    },
    get registryUrl() {
      return get().registryUrl;
    },
    deps: (extra) => get().deps(extra),
    stop: () => get().stop(),
  };
}

/** A fresh database for this file's tests (`prefix` names it): created before them, dropped after. */
export function usePgDatabase(prefix: string): () => PgDatabase {
  let db: PgDatabase | undefined;
  beforeAll(async () => {
    db = await createPgDatabase(prefix);
  });
  afterAll(async () => {
    await db?.drop();
  });
  return () => {
    if (!db) throw new Error("the database is created before the tests: use it inside them");
    return db;
  };
}
