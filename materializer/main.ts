// `mesh materialize`: the materializer role as its own process. Config is parsed once here (flags, then
// MESH_* environment); nothing below reads process.env. Views persist in the LevelDB under --data-dir and
// resume on start; they follow the control-plane catalog (`_mesh_catalog`: catalog-views.ts), and
// `--view "CREATE VIEW ..."` creates a view at start-up unless it exists. `--listen` serves the views'
// rows over HTTP (serve.ts); `--group` splits every view's driving topic among the processes of the group
// (docs/views.md "Split views"), each reachable at its `--advertise` URL.
import { ClassicLevel } from "classic-level";
import { realClock } from "../lib/clock.ts";
import { TokenFollower } from "../lib/http/auth-follower.ts";
import {
  checkAdminToken,
  internalCredential,
  TokenAuthenticator,
  TokenTable,
} from "../lib/http/auth-tokens.ts";
import { HttpClient } from "../lib/http/client.ts";
import { isMeshError, MeshError } from "../lib/errors.ts";
import { KafkaClient, kafkaSaslFromEnv, type KafkaSasl } from "../lib/kafka/index.ts";
import { createLogger, type Logger } from "../lib/logger.ts";
import { auditTopicOf } from "../protocol/audit.ts";
import { AuditWriter } from "../protocol/audit-writer.ts";
import { CATALOG_TOPIC } from "../protocol/topics.ts";
import { CatalogViews } from "./catalog-views.ts";
import { MaterializerEngine } from "./engine.ts";
import { buildViewServer } from "./serve.ts";
import { DB_OPTIONS, type Db } from "./engine/reader.ts";
import { RegistryClient } from "../lib/registry-client.ts";

export interface MaterializerConfig {
  brokers: string[];
  /** Kafka's SASL login (MESH_KAFKA_SASL_*, env only); never logged. */
  sasl?: KafkaSasl;
  registryUrl: string;
  dataDir: string;
  views: string[];
  logLevel: string;
  /**
   * Follow this catalog topic's view records (default `_mesh_catalog`; `--catalog-topic off`: unset, only
   * `views`, as when embedded beside the API).
   */
  catalogTopic?: string;
  /** Serve rows on host:port (port 0: any free port). */
  listen?: { host: string; port: number };
  /** Split mode: the group shared by the processes that split each view's driving topic. */
  group?: string;
  /** Where other processes reach this one's --listen address (default http://<listen host>:<port>). */
  advertise?: string;
  /**
   * MESH_ADMIN_TOKEN (env only): the --listen endpoint answers it and other processes' internal credentials
   * derived from it; this process calls the registry and the other members with its own.
   */
  adminToken?: string;
  /** Where the --listen endpoint's denials are audited (default `_mesh_audit`, or `<catalog topic>_audit`). */
  auditTopic?: string;
}

const USAGE =
  "usage: mesh materialize --brokers host:port[,..] --registry http://host:8081 --data-dir DIR [--view SQL]... " +
  "[--catalog-topic _mesh_catalog|off] [--audit-topic _mesh_audit] [--listen host:port] [--group NAME --advertise http://host:port] [--log-level info]\n" +
  "env: MESH_ADMIN_TOKEN (required; env only): the --listen endpoint answers tokens only, and this process calls the registry with a credential derived from it; " +
  "MESH_KAFKA_SASL_MECHANISM, _USERNAME, _PASSWORD (env only): Kafka's SASL login";

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
  const known = new Set([
    "brokers",
    "registry",
    "data-dir",
    "view",
    "log-level",
    "catalog-topic",
    "listen",
    "group",
    "advertise",
    "audit-topic",
  ]);
  for (const name of flags.keys()) if (!known.has(name)) throw new Error(`unknown flag --${name}; ${USAGE}`);
  const one = (flag: string, envName: string, fallback?: string): string => {
    const v = flags.get(flag)?.at(-1) ?? env[envName] ?? fallback;
    if (v === undefined || v === "") throw new Error(`missing --${flag} (or ${envName}); ${USAGE}`);
    return v;
  };
  const optional = (flag: string, envName: string): string | undefined => {
    const v = flags.get(flag)?.at(-1) ?? env[envName];
    return v === undefined || v === "" ? undefined : v;
  };
  const catalogTopic = one("catalog-topic", "MESH_CATALOG_TOPIC", CATALOG_TOPIC);
  const listenText = optional("listen", "MESH_MATERIALIZER_LISTEN");
  let listen: MaterializerConfig["listen"];
  if (listenText !== undefined) {
    const m = /^(.*):(\d+)$/.exec(listenText);
    if (!m) throw new Error(`--listen must be host:port (got ${listenText}); ${USAGE}`);
    listen = { host: m[1] || "127.0.0.1", port: Number(m[2]) };
  }
  const group = optional("group", "MESH_MATERIALIZER_GROUP");
  const advertise = optional("advertise", "MESH_MATERIALIZER_ADVERTISE");
  if (group !== undefined && listen === undefined)
    throw new Error(`--group needs --listen: other members forward queries to this process; ${USAGE}`);
  if (group !== undefined && !/^[A-Za-z0-9._-]+$/.test(group))
    throw new Error(`--group may hold letters, digits, ".", "_" and "-" only (got ${group}); ${USAGE}`);
  const sasl = kafkaSaslFromEnv(env);
  return {
    brokers: one("brokers", "MESH_KAFKA_BROKERS", "127.0.0.1:9092")
      .split(",")
      .map((b) => b.trim()),
    ...(sasl ? { sasl } : {}),
    registryUrl: one("registry", "MESH_REGISTRY_URL", "http://127.0.0.1:8081"),
    dataDir: one("data-dir", "MESH_MATERIALIZER_DIR", ".mesh/materializer"),
    views: flags.get("view") ?? [],
    logLevel: one("log-level", "MESH_LOG_LEVEL", "info"),
    ...(catalogTopic === "off" ? {} : { catalogTopic }),
    ...(listen ? { listen } : {}),
    ...(group !== undefined ? { group } : {}),
    ...(advertise !== undefined ? { advertise } : {}),
    ...(env.MESH_ADMIN_TOKEN ? { adminToken: env.MESH_ADMIN_TOKEN } : {}),
    auditTopic:
      optional("audit-topic", "MESH_AUDIT_TOPIC") ??
      auditTopicOf(catalogTopic === "off" ? CATALOG_TOPIC : catalogTopic),
  };
}

export interface RunningMaterializer {
  engine: MaterializerEngine;
  /** The --listen address's URL as advertised (null without --listen). */
  url: string | null;
  /** Null unless following the catalog. */
  catalog: CatalogViews | null;
  stop(): Promise<void>;
}

export async function startMaterializer(
  config: MaterializerConfig,
  logger: Logger,
): Promise<RunningMaterializer> {
  // Auth is never off: the registry and the --listen endpoint need tokens.
  const adminToken = config.adminToken;
  checkAdminToken(adminToken);
  const db: Db = new ClassicLevel<Buffer, Buffer>(config.dataDir, DB_OPTIONS);
  await db.open();
  // The role's one Kafka handle: every view's reader and group member, the catalog table, the admin.
  const kafka = new KafkaClient({
    brokers: config.brokers,
    ...(config.sasl ? { sasl: config.sasl } : {}),
    clientId: "mesh-materialize",
    logger,
  });
  let engine: MaterializerEngine | null = null;
  const getEngine = (): MaterializerEngine => {
    if (!engine) throw new MeshError("MESH_NOT_READY", "the materializer is starting; retry");
    return engine;
  };
  const credential = internalCredential(adminToken, "materializer");
  const tokens = new TokenTable();
  // The --listen endpoint's service tokens (a scraper's `metrics` token) from the catalog's tail.
  const follower = config.listen
    ? new TokenFollower({ kafka, logger, topic: config.catalogTopic ?? CATALOG_TOPIC, table: tokens })
    : null;
  // The --listen endpoint's 401/403 answers are written to the audit topic (protocol/audit.ts).
  const audit = config.listen
    ? new AuditWriter({
        kafka,
        topic: config.auditTopic ?? auditTopicOf(config.catalogTopic ?? CATALOG_TOPIC),
        logger,
        clock: realClock,
      })
    : null;
  // Listen before the engine starts: a split engine advertises the URL, which needs the bound port.
  const server = config.listen
    ? buildViewServer(getEngine, {
        logger,
        ...(audit ? { audit } : {}),
        auth: new TokenAuthenticator({ adminToken, tokens }),
        client: new HttpClient({ headers: { authorization: `Bearer ${credential}` } }),
      })
    : null;
  let catalog: CatalogViews | null = null;
  const close = async (): Promise<void> => {
    await server?.close();
    await audit?.close();
    await follower?.stop();
    await catalog?.stop();
    await engine?.stop();
    await kafka.close();
    await db.close();
  };
  try {
    await follower?.start();
    let url: string | null = null;
    if (server && config.listen) {
      await server.listen({ host: config.listen.host, port: config.listen.port });
      const address = server.server.address();
      const port = typeof address === "object" && address ? address.port : config.listen.port;
      const host = ["0.0.0.0", "::", ""].includes(config.listen.host) ? null : config.listen.host;
      url = config.advertise ?? (host ? `http://${host.includes(":") ? `[${host}]` : host}:${port}` : null);
      if (!url)
        throw new Error("--listen on all interfaces needs --advertise http://<reachable host>:<port>");
    }
    // Embedded beside the API (mesh up --materializer-group): the API's server answers for it at `advertise`.
    if (!server && config.group && config.advertise) url = config.advertise;
    const running = new MaterializerEngine({
      db,
      kafka,
      registry: new RegistryClient({ url: config.registryUrl, token: credential }),
      logger,
      ...(config.group && url ? { group: { name: config.group, advertisedUrl: url } } : {}),
    });
    engine = running;
    await running.start();
    for (const sql of config.views) {
      try {
        const info = await running.createView(sql);
        logger.info({ view: info.name }, "view created");
      } catch (err) {
        if (!(isMeshError(err) && err.code === "MESH_CONFLICT")) throw err;
      }
    }
    catalog = config.catalogTopic
      ? new CatalogViews({ kafka, logger, engine: running, topic: config.catalogTopic })
      : null;
    await catalog?.start();
    return { engine: running, url, catalog, stop: close };
  } catch (err) {
    // A start that fails half-way leaves nothing open (a caller may retry in the same process).
    await close().catch((closing: unknown) =>
      logger.warn({ err: closing }, "closing after a failed start failed"),
    );
    throw err;
  }
}

/** `mesh materialize [flags]`: runs until SIGTERM/SIGINT. */
export async function run(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  await main(args);
  return new Promise<number>(() => undefined);
}

async function main(argv = process.argv.slice(2)): Promise<void> {
  const config = parseMaterializerConfig(argv, process.env);
  const logger = createLogger({ level: config.logLevel, name: "materialize" });
  const running = await startMaterializer(config, logger);
  logger.info(
    {
      dataDir: config.dataDir,
      views: running.engine.listViews().map((v) => v.name),
      url: running.url,
      group: config.group ?? null,
    },
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
