// `mesh connect`: runs one or more connectors until SIGTERM/SIGINT, then drains (everything read is
// acknowledged by Kafka and its offset confirmed) and exits. Config is read once, here: a JSON file
// (`--config path`), overridable by flags and MESH_* env; nothing below this file reads process.env.
//   { "brokers": ["host:9092"], "registryUrl": "http://host:8081", "logLevel": "info",
//     "heartbeatIntervalMs": 10000, "sources": [ <SourceDefinition>, ... ] }
// Usable as `mesh connect --config f.json` (exports run) and directly: `node connectors/main.ts --config f.json`.
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { TokenFollower } from "../lib/http/auth-follower.ts";
import {
  checkAdminToken,
  internalCredential,
  TokenAuthenticator,
  TokenTable,
} from "../lib/http/auth-tokens.ts";
import { KafkaClient, kafkaSaslFromEnv, type KafkaSasl } from "../lib/kafka/index.ts";
import {
  listenMetrics,
  parseListenAddress,
  type ListenAddress,
  type MetricsListener,
} from "../lib/http/metrics-listener.ts";
import { createLogger } from "../lib/logger.ts";
import { CATALOG_TOPIC, checkSourceName } from "../protocol/topics.ts";
import { registerBuiltInBackends } from "./backends.ts";
import { createConnector, type Connector, type SourceDefinition } from "./core/change-source.ts";
import { DELIVERY_MODES } from "./core/contract.ts";
import { kafkaOffsetStore } from "./core/offset-store.ts";
import { RegistryClient } from "../lib/registry-client.ts";

export interface ConnectConfig {
  brokers: string[];
  /** Kafka's SASL login: MESH_KAFKA_SASL_* only (never in the file or a flag), never logged. */
  sasl?: KafkaSasl;
  registryUrl: string;
  logLevel: string;
  heartbeatIntervalMs: number;
  snapshotChunkRows: number;
  sources: SourceDefinition[];
  /** Where GET /metrics answers (`--metrics-listen host:port`); none without it. */
  metricsListen?: ListenAddress;
  /** MESH_ADMIN_TOKEN (env only): the metrics listener's tokens and this process's registry credential. */
  adminToken?: string;
  /** The catalog topic whose service tokens (`metrics` scope) the metrics listener accepts. */
  catalogTopic: string;
}

const usage = `usage: mesh connect --config <file.json> [--brokers h:p,...] [--registry-url URL] [--log-level info]
       [--metrics-listen host:port]   (GET /metrics in the Prometheus format: docs/metrics.md)
env: MESH_KAFKA_BROKERS, MESH_REGISTRY_URL, MESH_LOG_LEVEL, MESH_METRICS_LISTEN (flags win over env, env over the file),
     MESH_ADMIN_TOKEN (required: the registry and /metrics need tokens), MESH_CATALOG_TOPIC (_mesh_catalog),
     MESH_KAFKA_SASL_MECHANISM, MESH_KAFKA_SASL_USERNAME, MESH_KAFKA_SASL_PASSWORD: Kafka's SASL login (env only)`;

export async function loadConfig(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<ConnectConfig> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: "string" },
      brokers: { type: "string" },
      "registry-url": { type: "string" },
      "log-level": { type: "string" },
      "metrics-listen": { type: "string" },
    },
  });
  const file = values.config
    ? (JSON.parse(await readFile(values.config, "utf8")) as Partial<ConnectConfig>)
    : {};
  const brokers = values.brokers ?? env.MESH_KAFKA_BROKERS;
  const sasl = kafkaSaslFromEnv(env);
  const config: ConnectConfig = {
    brokers: brokers ? brokers.split(",") : (file.brokers ?? []),
    ...(sasl ? { sasl } : {}),
    registryUrl:
      values["registry-url"] ?? env.MESH_REGISTRY_URL ?? file.registryUrl ?? "http://127.0.0.1:8081",
    logLevel: values["log-level"] ?? env.MESH_LOG_LEVEL ?? file.logLevel ?? "info",
    heartbeatIntervalMs: file.heartbeatIntervalMs ?? 10_000,
    snapshotChunkRows: file.snapshotChunkRows ?? 10_000,
    sources: file.sources ?? [],
    catalogTopic: env.MESH_CATALOG_TOPIC ?? CATALOG_TOPIC,
    ...(env.MESH_ADMIN_TOKEN ? { adminToken: env.MESH_ADMIN_TOKEN } : {}),
  };
  const metricsListen = values["metrics-listen"] ?? env.MESH_METRICS_LISTEN ?? file.metricsListen;
  if (metricsListen !== undefined)
    config.metricsListen =
      typeof metricsListen === "string"
        ? parseListenAddress(metricsListen, "--metrics-listen")
        : metricsListen;
  if (config.brokers.length === 0)
    throw new Error("no Kafka brokers: set brokers in the file, --brokers or MESH_KAFKA_BROKERS");
  if (config.sources.length === 0) throw new Error("no sources in the config file");
  // Both prefix topic names (`<name>.<schema>.<table>`, `<owner>.<aggregatetype>`): protocol/topics.ts.
  for (const [i, source] of config.sources.entries()) {
    checkSourceName(source.name, `sources[${i}].name`);
    checkSourceName(source.owner, `sources[${i}].owner`);
    if (source.delivery !== undefined && !DELIVERY_MODES.includes(source.delivery))
      throw new Error(`sources[${i}].delivery must be one of ${DELIVERY_MODES.join(", ")}`);
  }
  return config;
}

export async function run(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(usage);
    return 0;
  }
  let config: ConnectConfig;
  try {
    config = await loadConfig(args, process.env);
  } catch (err) {
    console.error(`mesh connect: ${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  // Auth is never off: the registry needs this process's credential, the metrics listener tokens.
  const adminToken = config.adminToken;
  try {
    checkAdminToken(adminToken);
  } catch (err) {
    console.error(`mesh connect: ${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  registerBuiltInBackends();
  const logger = createLogger({ level: config.logLevel, name: "connect" });
  const kafka = new KafkaClient({
    brokers: config.brokers,
    ...(config.sasl ? { sasl: config.sasl } : {}),
    clientId: "datamesh-connect",
    logger,
  });
  // Listening first: the snapshot's progress is worth watching, and a taken port is said before any work.
  let metrics: MetricsListener | null = null;
  const tokens = new TokenTable();
  const follower = config.metricsListen
    ? new TokenFollower({ kafka, logger, topic: config.catalogTopic, table: tokens })
    : null;
  if (config.metricsListen) {
    try {
      metrics = await listenMetrics(config.metricsListen, {
        name: "connect",
        logger,
        auth: new TokenAuthenticator({ adminToken, tokens }),
      });
      await follower?.start();
    } catch (err) {
      console.error(`mesh connect: --metrics-listen: ${(err as Error).message}`);
      await metrics?.close();
      await kafka.close();
      return 1;
    }
    logger.info({ url: `${metrics.url}/metrics` }, "metrics listening");
  }
  const credential = internalCredential(adminToken, "connect");
  const offsets = kafkaOffsetStore(kafka);
  const connectors: Connector[] = config.sources.map((def) =>
    createConnector(def, {
      kafka,
      registry: new RegistryClient({ url: config.registryUrl, token: credential }),
      offsets,
      logger: logger.child({ source: def.name }),
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      snapshotChunkRows: config.snapshotChunkRows,
    }),
  );
  const stopped = new Promise<void>((resolve) => {
    process.once("SIGTERM", () => resolve());
    process.once("SIGINT", () => resolve());
  });
  try {
    await Promise.all(connectors.map((c) => c.start()));
  } catch (err) {
    logger.error({ err }, "a connector could not start");
    await metrics?.close();
    await follower?.stop();
    await Promise.all(connectors.map((c) => c.stop()));
    await kafka.close();
    return 1;
  }
  logger.info({ sources: config.sources.map((s) => s.name) }, "connectors running");
  await stopped;
  logger.info("draining");
  await Promise.all(connectors.map((c) => c.stop()));
  await follower?.stop();
  await kafka.close();
  await metrics?.close();
  logger.info("stopped");
  return 0;
}

if (import.meta.main) {
  process.exitCode = await run(process.argv.slice(2));
  // pg may keep timers alive after a clean stop; the drain above is what matters.
  process.exit();
}
