// The set-up the materializer's Kafka tests share: a schema registry on a `_schemas` topic of its own, a
// LevelDB in a temp dir opened as the engine opens it, and a started engine on the local stack's Kafka.
// Tests combine the pieces they need; each piece has its own clean-up.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import { silentLogger } from "../../lib/logger.ts";
import { RegistryClient } from "../../lib/registry-client.ts";
import { startRegistry, type RunningRegistry } from "../../registry/server.ts";
import { kafka, kafkaConnection, uniqueName } from "../../test/support/stack.ts";
import { MaterializerEngine, type EngineOptions } from "../engine.ts";
import { DB_OPTIONS, type Db } from "../engine/reader.ts";
import { TEST_ADMIN_TOKEN } from "../../test/support/auth.ts";

/** A registry on a private schemas topic (`_schemas_<name>_...`), on a free port. */
export function startTestRegistry(name: string): Promise<RunningRegistry> {
  return startRegistry({
    adminToken: TEST_ADMIN_TOKEN,
    ...kafkaConnection(),
    port: 0,
    topic: uniqueName(`_schemas_${name}`),
    logger: silentLogger(),
  });
}

export interface TestDb {
  db: Db;
  dir: string;
  close(): Promise<void>;
  /** Closes the database and deletes its dir. */
  remove(): Promise<void>;
}

/** Opens a LevelDB in `dir` (reopening what a test wrote before), or in a fresh temp dir `mesh-<name>-...`. */
export async function openTestDb(where: { name: string } | { dir: string }): Promise<TestDb> {
  const dir = "dir" in where ? where.dir : await mkdtemp(join(tmpdir(), `mesh-${where.name}-`));
  const db: Db = new ClassicLevel<Buffer, Buffer>(dir, DB_OPTIONS);
  await db.open();
  const close = async (): Promise<void> => {
    if (db.status === "open") await db.close();
  };
  return {
    db,
    dir,
    close,
    remove: async () => {
      await close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A started engine on the local stack's Kafka and this registry. */
export async function startTestEngine(
  db: Db,
  registryUrl: string,
  options: Partial<Omit<EngineOptions, "db" | "registry">> = {},
): Promise<MaterializerEngine> {
  const engine = new MaterializerEngine({
    db,
    kafka: kafka(),
    registry: new RegistryClient({ token: TEST_ADMIN_TOKEN, url: registryUrl }),
    logger: silentLogger(),
    ...options,
  });
  await engine.start();
  return engine;
}
