// `mesh materialize`: the materializer role as its own process. Config is parsed once here (flags, then
// MESH_* environment); nothing below reads process.env. Views persist in the LevelDB under --data-dir and
// resume on start; `--view "CREATE VIEW ..."` creates a view at start-up unless it exists.
import { ClassicLevel } from "classic-level";
import { Kafka, logLevel } from "kafkajs";
import { isMeshError } from "../lib/errors.ts";
import { createLogger, type Logger } from "../lib/logger.ts";
import { MaterializerEngine } from "./engine.ts";
import { DB_OPTIONS, type Db } from "./engine/reader.ts";
import { RegistryClient } from "./kafka/registry-client.ts";

export interface MaterializerConfig {
  brokers: string[];
  registryUrl: string;
  dataDir: string;
  views: string[];
  logLevel: string;
}

const USAGE =
  "usage: mesh materialize --brokers host:port[,..] --registry http://host:8081 --data-dir DIR [--view SQL]... [--log-level info]";

export function parseMaterializerConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): MaterializerConfig {
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (!arg.startsWith("--")) throw new Error(`unexpected argument ${arg}; ${USAGE}`);
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`--${name} needs a value; ${USAGE}`);
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  const known = new Set(["brokers", "registry", "data-dir", "view", "log-level"]);
  for (const name of flags.keys()) if (!known.has(name)) throw new Error(`unknown flag --${name}; ${USAGE}`);
  const one = (flag: string, envName: string, fallback?: string): string => {
    const v = flags.get(flag)?.at(-1) ?? env[envName] ?? fallback;
    if (v === undefined || v === "") throw new Error(`missing --${flag} (or ${envName}); ${USAGE}`);
    return v;
  };
  return {
    brokers: one("brokers", "MESH_KAFKA_BROKERS", "127.0.0.1:9092")
      .split(",")
      .map((b) => b.trim()),
    registryUrl: one("registry", "MESH_REGISTRY_URL", "http://127.0.0.1:8081"),
    dataDir: one("data-dir", "MESH_MATERIALIZER_DIR", ".mesh/materializer"),
    views: flags.get("view") ?? [],
    logLevel: one("log-level", "MESH_LOG_LEVEL", "info"),
  };
}

export interface RunningMaterializer {
  engine: MaterializerEngine;
  stop(): Promise<void>;
}

export async function startMaterializer(
  config: MaterializerConfig,
  logger: Logger,
): Promise<RunningMaterializer> {
  const db: Db = new ClassicLevel<Buffer, Buffer>(config.dataDir, DB_OPTIONS);
  await db.open();
  const kafka = new Kafka({ brokers: config.brokers, clientId: "mesh-materialize", logLevel: logLevel.WARN });
  const engine = new MaterializerEngine({
    db,
    kafka,
    registry: new RegistryClient({ url: config.registryUrl }),
    logger,
  });
  await engine.start();
  for (const sql of config.views) {
    try {
      const info = await engine.createView(sql);
      logger.info({ view: info.name }, "view created");
    } catch (err) {
      if (!(isMeshError(err) && err.code === "MESH_CONFLICT")) throw err;
    }
  }
  return {
    engine,
    async stop() {
      await engine.stop();
      await db.close();
    },
  };
}

/** `mesh materialize [flags]`: runs until SIGTERM/SIGINT. */
export async function run(args: string[]): Promise<number> {
  await main(args);
  return new Promise<number>(() => undefined);
}

async function main(argv = process.argv.slice(2)): Promise<void> {
  const config = parseMaterializerConfig(argv, process.env);
  const logger = createLogger({ level: config.logLevel, name: "materialize" });
  const running = await startMaterializer(config, logger);
  logger.info(
    { dataDir: config.dataDir, views: running.engine.listViews().map((v) => v.name) },
    "materializer running",
  );
  const timer = setInterval(() => {
    for (const v of running.engine.listViews())
      logger.info({ view: v.name, status: v.status }, "view status");
  }, 5000);
  const shutdown = (): void => {
    clearInterval(timer);
    void running.stop().then(() => process.exit(0));
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
