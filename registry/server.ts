// Entry point for embedding the registry: starts one registry process (replays `_schemas`, joins the leader
// election, serves the Confluent REST API) and returns its URL and a stop function.
import pino from "pino";
import { realClock } from "../lib/clock.ts";
import { TokenFollower } from "../lib/http/auth-follower.ts";
import {
  checkAdminToken,
  internalCredential,
  TokenAuthenticator,
  TokenTable,
} from "../lib/http/auth-tokens.ts";
import { KafkaClient, type KafkaSasl } from "../lib/kafka/index.ts";
import type { Logger } from "../lib/logger.ts";
import { auditTopicOf } from "../protocol/audit.ts";
import { AuditWriter } from "../protocol/audit-writer.ts";
import { CATALOG_TOPIC, SCHEMAS_TOPIC } from "../protocol/topics.ts";
import { RegistryCore } from "./core.ts";
import { buildApp } from "./http/app.ts";

export interface RegistryOptions {
  brokers: string[];
  /** Kafka's SASL login (MESH_KAFKA_SASL_*); never logged. */
  sasl?: KafkaSasl;
  host?: string;
  /** 0 picks a free port. Default 8081 (Confluent's). */
  port?: number;
  /** The schemas topic. Default `_schemas`. */
  topic?: string;
  /** Consumer group of the leader election; processes sharing it form one registry cluster. */
  groupId?: string;
  /** URL other registry processes forward writes to; default http://<host>:<port>. */
  advertisedUrl?: string;
  logger?: Logger;
  /** How long a write waits for a leader election to settle. */
  electionWaitMs?: number;
  /**
   * The admin token (MESH_ADMIN_TOKEN): every route then needs it, a service token, or another process's
   * internal credential derived from it; writes forwarded to the leader carry this process's.
   */
  adminToken: string;
  /** The catalog topic whose service tokens this registry accepts (default `_mesh_catalog`). */
  catalogTopic?: string;
  /** Where denials are audited; default `_mesh_audit` (`<catalog topic>_audit` beside another catalog topic). */
  auditTopic?: string;
}

export interface RunningRegistry {
  url: string;
  core: RegistryCore;
  stop(): Promise<void>;
}

export async function startRegistry(options: RegistryOptions): Promise<RunningRegistry> {
  checkAdminToken(options.adminToken);
  const logger = options.logger ?? pino({ level: "info" });
  const host = options.host ?? "127.0.0.1";
  const topic = options.topic ?? SCHEMAS_TOPIC;
  const groupId = options.groupId ?? `schema-registry${topic === SCHEMAS_TOPIC ? "" : `-${topic}`}`;
  const kafka = new KafkaClient({
    brokers: options.brokers,
    ...(options.sasl ? { sasl: options.sasl } : {}),
    clientId: "datamesh-registry",
    logger,
  });
  // Listen first (to learn the port), but serve only once the core has replayed the topic.
  let core: RegistryCore | undefined = undefined;
  const backendProxy = {
    get state() {
      if (!core) throw new Error("registry not started");
      return core.state;
    },
    status: () => {
      if (!core) throw new Error("registry not started");
      return core.status();
    },
    write: ((request, op) => {
      if (!core) throw new Error("registry not started");
      return core.write(request, op);
    }) as RegistryCore["write"],
  };
  const tokens = new TokenTable();
  // Auth is never off (the constructor refuses a missing or short admin token).
  const auth = new TokenAuthenticator({ adminToken: options.adminToken, tokens });
  const follower = new TokenFollower({
    kafka,
    logger,
    topic: options.catalogTopic ?? CATALOG_TOPIC,
    table: tokens,
  });
  // Every 401/403 of this registry is written to the audit topic (protocol/audit.ts).
  const audit = new AuditWriter({
    kafka,
    topic: options.auditTopic ?? auditTopicOf(options.catalogTopic ?? CATALOG_TOPIC),
    logger,
    clock: realClock,
  });
  const app = buildApp({ backend: backendProxy, logger, audit, auth });
  let ready = false;
  app.addHook("onRequest", (_req, reply, done) => {
    if (ready) return done();
    void reply.code(503).send({ error_code: 50002, message: "The registry is starting; retry shortly" });
  });
  try {
    await app.listen({ host, port: options.port ?? 8081 });
  } catch (e) {
    await kafka.close();
    throw e;
  }
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : (options.port ?? 8081);
  const url = options.advertisedUrl ?? `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;
  const started = new RegistryCore({
    kafka,
    topic,
    groupId,
    url,
    logger,
    ...(options.electionWaitMs !== undefined ? { electionWaitMs: options.electionWaitMs } : {}),
    credential: internalCredential(options.adminToken, "registry"),
  });
  core = started;
  try {
    await Promise.all([started.start(), follower.start()]);
  } catch (e) {
    await app.close();
    await started.stop();
    await follower.stop();
    await audit.close();
    await kafka.close();
    throw e;
  }
  ready = true;
  logger.info({ url, topic, groupId }, "schema registry listening");
  return {
    url,
    core: started,
    async stop() {
      await app.close();
      await started.stop();
      await follower.stop();
      await audit.close();
      await kafka.close();
    },
  };
}
