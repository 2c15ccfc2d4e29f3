// Starts the API role: catalog (replayed from `_mesh_catalog`), runtimes, the reconciler and the HTTP
// server; stop() shuts them down in reverse order. `mesh api` and `mesh up` both call it.
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { checkAdminToken, internalCredential } from "../lib/http/auth-tokens.ts";
import { HttpClient } from "../lib/http/client.ts";
import { KafkaClient } from "../lib/kafka/index.ts";
import { realClock } from "../lib/clock.ts";
import type { Logger } from "../lib/logger.ts";
import { RegistryClient } from "../lib/registry-client.ts";
import type { ViewEngine } from "../materializer/contract.ts";
import { EngineViews } from "../materializer/engine-views.ts";
import { registerBuiltInBackends } from "../connectors/backends.ts";
import { checkSourcePrerequisites } from "../connectors/core/change-source.ts";
import { AuditWriter } from "../protocol/audit-writer.ts";
import { sourceTopics } from "../protocol/catalog.ts";
import { catalogLeasesTopic, catalogStatusTopic } from "../protocol/topics.ts";
import { KafkaAuditLog } from "./audit/audit-log.ts";
import { registryTables } from "../materializer/sql/registry-tables.ts";
import { Access } from "./governance/access.ts";
import { KafkaAclReconciler } from "./governance/kafka-acls.ts";
import { ConnectorRuntime, toDefinition, toSourceProblem } from "./adapters/connector-runtime.ts";
import { PlacedSources } from "./adapters/placed-sources.ts";
import { DependencyHealth } from "./adapters/health.ts";
import { NoViews } from "./adapters/no-views.ts";
import { RemoteViews } from "./adapters/remote-views.ts";
import { sourceChecks } from "./adapters/source-health.ts";
import { Catalog } from "./catalog/catalog.ts";
import { KafkaCatalogLog } from "./catalog/kafka-log.ts";
import { CredentialCipher } from "./catalog/secrets.ts";
import type { ApiConfig } from "./config.ts";
import { Reconciler } from "./control/reconciler.ts";
import { SourceLeases } from "./control/source-leases.ts";
import { StatusBoard } from "./control/status-board.ts";
import { buildApi } from "./http/server.ts";
import { apiAuthenticator } from "./http/routes/tokens.ts";
import { KafkaObserve } from "./lineage/observe.ts";
import { KafkaTopics } from "./topics/kafka-topics.ts";
import { EventTopics } from "./events/event-topics.ts";
import { KafkaParkedView } from "./events/parked-view.ts";

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
  registerBuiltInBackends();
  // The process's one Kafka handle: every piece reads and writes through it; closing it also stops the
  // tables and readers of a start that failed half-way.
  const kafka = new KafkaClient({
    brokers: config.brokers,
    ...(config.sasl ? { sasl: config.sasl } : {}),
    clientId: "mesh-api",
    logger: options.logger,
  });
  try {
    return await startOn(kafka, config, options);
  } catch (err) {
    await kafka.close();
    throw err;
  }
}

async function startOn(kafka: KafkaClient, config: ApiConfig, options: StartApiOptions): Promise<RunningApi> {
  const logger = options.logger;
  // Auth is never off: every route needs a token (lib/http/auth.ts).
  const adminToken = config.adminToken;
  checkAdminToken(adminToken);
  const cipher = new CredentialCipher({ envKey: config.secretKey, keyFile: config.secretKeyFile });
  const catalog = new Catalog(new KafkaCatalogLog({ kafka, logger, topic: config.catalogTopic, cipher }));
  await catalog.start();
  // This process's credential towards the registry, materializer members and other API processes.
  const credential = internalCredential(adminToken, "api");
  const internal = new HttpClient({ headers: { authorization: `Bearer ${credential}` } });
  const auth = apiAuthenticator(catalog, adminToken);
  const registry = new RegistryClient({
    url: config.registryUrl,
    token: credential,
  });
  const connectors = config.connect
    ? new ConnectorRuntime({ kafka, registry, logger, ...options.connector })
    : null;
  let url = "";
  // What other API processes use to reach this one (lease holder, forwarded re-snapshots).
  const advertised = (): string => config.advertiseUrl ?? url;
  // Several API processes may share this catalog: each source's connector runs in the one holding its lease.
  const board = new StatusBoard({ kafka, logger, topic: catalogStatusTopic(config.catalogTopic) });
  await board.start();
  const leases = new SourceLeases({
    kafka,
    logger,
    topic: catalogLeasesTopic(config.catalogTopic),
    groupPrefix: `mesh-source-${config.catalogTopic}-`,
    url: advertised,
  });
  const sources = new PlacedSources({
    connectors,
    leases,
    board,
    logger,
    url: advertised,
    client: internal,
    check: async (def) => (await checkSourcePrerequisites(toDefinition(def))).map(toSourceProblem),
  });
  // A view may name a registered source's table before its schema is registered: it waits for it.
  const expected = (): string[] => sourceTopics(catalog.sources());
  // Views: the embedded engine (mesh up), else the `mesh materialize` processes given with --materializer.
  const remote =
    !options.viewEngine && config.materializerUrls.length > 0
      ? new RemoteViews({ urls: config.materializerUrls, registry, logger, expected, client: internal })
      : null;
  await remote?.start();
  const engineViews = options.viewEngine ? new EngineViews(options.viewEngine, internal, { expected }) : null;
  const views = engineViews ?? remote ?? new NoViews();
  // Every source's parked domain events, followed; the event topics over them, the catalog and the statuses.
  const parked = new KafkaParkedView(kafka, logger);
  await parked.start();
  const events = new EventTopics({ catalog, sources, registry, parked });
  const topics = new KafkaTopics({ kafka, registry, catalog, logger, events });
  const observe = new KafkaObserve({ kafka, registry });
  const health = new DependencyHealth(kafka, registry, [
    () => (remote ? remote.checks() : Promise.resolve([])),
    () => sourceChecks((name) => catalog.source(name), sources.runningHere()),
  ]);
  const reconciler = new Reconciler({ catalog, sources, views, logger });
  // Views' plans are compiled here against the registry's tables to trace masked columns (api/governance).
  const access = new Access(catalog, () => registryTables(registry));
  // Logged in to Kafka (the platform's super user): services get Kafka logins, their ACLs follow the policies.
  const acls = config.sasl
    ? new KafkaAclReconciler({
        catalog,
        grants: access.grants,
        access: kafka.access(),
        logger,
        eventTopics: () => events.list().map((e) => ({ topic: e.topic, owner: e.owner })),
      })
    : null;
  const kafkaLogins = acls
    ? {
        access: kafka.access(),
        reconciler: acls,
        bootstrapServers: config.brokers.join(","),
        mechanism:
          config.sasl?.mechanism === "SCRAM-SHA-256"
            ? ("SCRAM-SHA-256" as const)
            : ("SCRAM-SHA-512" as const),
        securityProtocol: "SASL_PLAINTEXT" as const,
      }
    : null;
  // Every change and denial of this server is written to the audit topic; GET /v1/audit reads it.
  const auditWriter = new AuditWriter({ kafka, topic: config.auditTopic, logger, clock: realClock });
  const audit = { sink: auditWriter, log: new KafkaAuditLog({ kafka, topic: config.auditTopic }) };
  const app = await buildApi(
    {
      catalog,
      reconciler,
      sources,
      views,
      topics,
      health,
      observe,
      events,
      audit,
      access,
      ...(kafkaLogins ? { kafkaLogins } : {}),
      status: () => ({
        roles: {
          api: { url },
          registry: { url: config.registryUrl },
          kafka: { brokers: config.brokers.join(",") },
          connect: { inProcess: config.connect, running: sources.runningHere() },
          materialize: { inProcess: options.viewEngine !== undefined, urls: config.materializerUrls },
          ...options.roles?.(),
        },
      }),
      ...(engineViews ? { localAnswers: engineViews } : {}),
    },
    { logger, rateLimits: config.rateLimit, auth },
  );
  await app.listen({ host: config.host, port: config.port });
  const port = (app.server.address() as AddressInfo).port;
  url = `http://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${port}`;
  logger.info({ address: url }, "datamesh API listening");
  // After listen: source leases advertise this process's URL.
  reconciler.start();
  await acls?.start();
  return {
    url,
    port,
    app,
    catalog,
    async stop() {
      // Stop taking requests first (open SSE streams end), then the runtimes, then the catalog.
      await app.close();
      await auditWriter.close();
      await reconciler.stop();
      acls?.stop();
      await sources.stop();
      await board.stop();
      await topics.stop();
      await parked.stop();
      remote?.stop();
      await catalog.stop();
      await kafka.close();
    },
  };
}
