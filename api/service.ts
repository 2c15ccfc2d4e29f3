// Starts the API role: catalog (replayed from `_mesh_catalog`), runtimes, the reconciler and the HTTP
// server; stop() shuts them down in reverse order. `mesh api` and `mesh up` both call it.
import type { AddressInfo } from "node:net";
import { Kafka, logLevel } from "kafkajs";
import type { FastifyInstance } from "fastify";
import { MeshError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import type { ViewEngine } from "../materializer/contract.ts";
import { ConnectorRuntime } from "./adapters/connector-runtime.ts";
import { EngineViews } from "./adapters/engine-views.ts";
import { DependencyHealth } from "./adapters/health.ts";
import { NoViews } from "./adapters/no-views.ts";
import { Catalog } from "./catalog/catalog.ts";
import { KafkaCatalogLog } from "./catalog/kafka-log.ts";
import type { ApiConfig } from "./config.ts";
import { Reconciler } from "./control/reconciler.ts";
import { buildApi } from "./http/server.ts";
import type { SourceRecord } from "./catalog/records.ts";
import type { SourceProblem, SourceRuntime, SourceStatus } from "./runtime.ts";
import { KafkaTopics } from "./topics/kafka-topics.ts";
import { RegistryClient } from "./topics/registry-client.ts";

export interface RunningApi {
  url: string;
  port: number;
  app: FastifyInstance;
  catalog: Catalog;
  stop(): Promise<void>;
}

export interface StartApiOptions {
  logger: Logger;
  /** The materializer's engine when this process runs one (mesh up); without it views are refused. */
  viewEngine?: ViewEngine;
  /** Where the other roles listen, merged into GET /v1/status. */
  roles?: () => Record<string, unknown>;
  /** Connector timings (tests shorten them). */
  connector?: { heartbeatIntervalMs?: number; retryDelayMs?: number };
}

export async function startApi(config: ApiConfig, options: StartApiOptions): Promise<RunningApi> {
  const logger = options.logger;
  const kafka = new Kafka({
    brokers: config.brokers,
    clientId: "mesh-api",
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => logger.warn({ kafka: entry.log }, String(entry.log.message)),
  });
  const catalog = new Catalog(new KafkaCatalogLog({ kafka, logger, topic: config.catalogTopic }));
  await catalog.start();
  const registry = new RegistryClient(config.registryUrl);
  const connectors = config.connect
    ? new ConnectorRuntime({ kafka, registryUrl: config.registryUrl, logger, ...options.connector })
    : null;
  const sources: SourceRuntime = connectors ?? new ElsewhereSources();
  const views = options.viewEngine ? new EngineViews(options.viewEngine) : new NoViews();
  const topics = new KafkaTopics({ kafka, registry, catalog, logger });
  const health = new DependencyHealth(kafka, registry);
  const reconciler = new Reconciler({ catalog, sources, views, logger });
  reconciler.start();
  let url = "";
  const app = await buildApi(
    {
      catalog,
      reconciler,
      sources,
      views,
      topics,
      health,
      status: () => ({
        roles: {
          api: { url },
          registry: { url: config.registryUrl },
          kafka: { brokers: config.brokers.join(",") },
          connect: { inProcess: config.connect },
          materialize: { inProcess: options.viewEngine !== undefined },
          ...options.roles?.(),
        },
      }),
    },
    { logger },
  );
  await app.listen({ host: config.host, port: config.port });
  const port = (app.server.address() as AddressInfo).port;
  url = `http://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${port}`;
  logger.info({ address: url }, "datamesh API listening");
  return {
    url,
    port,
    app,
    catalog,
    async stop() {
      // Stop taking requests first (open SSE streams end), then the runtimes, then the catalog.
      await app.close();
      await reconciler.stop();
      await connectors?.stop();
      await topics.stop();
      await catalog.stop();
    },
  };
}

/** Connectors run in another process (`--connect false`): check prerequisites here, run nothing. */
class ElsewhereSources implements SourceRuntime {
  async check(def: SourceRecord): Promise<SourceProblem[]> {
    const { checkSourcePrerequisites } = await import("../connectors/core/change-source.ts");
    const { toDefinition, toSourceProblem } = await import("./adapters/connector-runtime.ts");
    return (await checkSourcePrerequisites(toDefinition(def))).map(toSourceProblem);
  }
  ensure(): Promise<void> {
    return Promise.resolve();
  }
  remove(): Promise<void> {
    return Promise.resolve();
  }
  snapshot(name: string): Promise<void> {
    return Promise.reject(
      new MeshError(
        "MESH_CONFLICT",
        `source ${name} runs in another process (this API runs with --connect false); send the request to an API process that runs connectors`,
        { source: name },
      ),
    );
  }
  status(): SourceStatus | undefined {
    return undefined;
  }
}
