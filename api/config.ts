// The `mesh api` role's configuration: one typed object, read once in main from flags, then MESH_* env,
// then defaults. Nothing below main reads process.env.
import { join } from "node:path";
import { MeshError } from "../lib/errors.ts";
import { kafkaSaslFromEnv, type KafkaSasl } from "../lib/kafka/index.ts";
import { auditTopicOf } from "../protocol/audit.ts";
import { CATALOG_TOPIC } from "../protocol/topics.ts";

export interface ApiConfig {
  host: string;
  port: number;
  brokers: string[];
  /** Kafka's SASL login, from MESH_KAFKA_SASL_* (env only: never a flag, never logged). */
  sasl?: KafkaSasl;
  registryUrl: string;
  /** Where the materializer keeps its LevelDB (when this process runs one). */
  dataDir: string;
  logLevel: string;
  /** Run the source connectors in this process (the embedded default). */
  connect: boolean;
  /** The control-plane topic; separate deployments (and tests) sharing a Kafka use their own. */
  catalogTopic: string;
  /** The URL other API processes reach this one at (source leases, forwarding); default: the listen address. */
  advertiseUrl: string | undefined;
  /** MESH_SECRET_KEY (env only, never a flag: flags show in `ps`): base64 AES-256 key for credentials. */
  secretKey: string | undefined;
  /** Used without MESH_SECRET_KEY: read if present, generated (mode 0600) on the first write otherwise. */
  secretKeyFile: string;
  /**
   * MESH_ADMIN_TOKEN (env only, never a flag): the admin token. Every route needs it, a service token
   * (POST /v1/tokens) or another datamesh process's internal credential derived from it.
   */
  adminToken: string | undefined;
  /**
   * `mesh materialize --listen` processes that answer this API's view routes (remote-views.ts); empty: the
   * views are served by an embedded engine (mesh up) or not at all.
   */
  materializerUrls: string[];
  /** `_mesh_audit`, or `<catalog topic>_audit` beside another catalog topic (protocol/audit.ts). */
  auditTopic: string;
  /** Requests per token per window on the query routes and the SSE routes (0: no limit); docs/governance.md. */
  rateLimit: { queryMax: number; streamMax: number; windowMs: number };
}

const flags: Record<string, { env: string; key: keyof ApiConfig }> = {
  host: { env: "MESH_API_HOST", key: "host" },
  port: { env: "MESH_API_PORT", key: "port" },
  brokers: { env: "MESH_KAFKA_BROKERS", key: "brokers" },
  registry: { env: "MESH_REGISTRY_URL", key: "registryUrl" },
  "data-dir": { env: "MESH_DATA_DIR", key: "dataDir" },
  "log-level": { env: "MESH_LOG_LEVEL", key: "logLevel" },
  connect: { env: "MESH_API_CONNECT", key: "connect" },
  "catalog-topic": { env: "MESH_CATALOG_TOPIC", key: "catalogTopic" },
  "secret-key-file": { env: "MESH_SECRET_KEY_FILE", key: "secretKeyFile" },
  "advertise-url": { env: "MESH_API_ADVERTISE_URL", key: "advertiseUrl" },
  materializer: { env: "MESH_MATERIALIZER_URLS", key: "materializerUrls" },
  "audit-topic": { env: "MESH_AUDIT_TOPIC", key: "auditTopic" },
  "rate-limit-query": { env: "MESH_RATE_LIMIT_QUERY", key: "rateLimit" },
  "rate-limit-stream": { env: "MESH_RATE_LIMIT_STREAM", key: "rateLimit" },
  "rate-limit-window": { env: "MESH_RATE_LIMIT_WINDOW", key: "rateLimit" },
};

export const apiConfigHelp = `options (flag, then env, then default):
  --host        MESH_API_HOST        127.0.0.1
  --port        MESH_API_PORT        8080 (0 picks a free port)
  --brokers     MESH_KAFKA_BROKERS   127.0.0.1:19092 (comma-separated)
                MESH_KAFKA_SASL_MECHANISM, MESH_KAFKA_SASL_USERNAME, MESH_KAFKA_SASL_PASSWORD
                (env only) Kafka's SASL login (\`mesh stack env\` prints the local stack's)
  --registry    MESH_REGISTRY_URL    http://127.0.0.1:8081
  --data-dir    MESH_DATA_DIR        .mesh/data
  --log-level   MESH_LOG_LEVEL       info
  --connect     MESH_API_CONNECT     true (run connectors in this process)
  --catalog-topic MESH_CATALOG_TOPIC _mesh_catalog
  --advertise-url MESH_API_ADVERTISE_URL http://<host>:<port> (how other API processes reach this one)
  --materializer MESH_MATERIALIZER_URLS (none) http://host:port[,..] of \`mesh materialize --listen\`
                processes answering the view routes (their catalog topic must be this API's)
  --secret-key-file MESH_SECRET_KEY_FILE <data dir>/secret.key (generated once, mode 0600)
                MESH_SECRET_KEY      (env only) base64 of a 32-byte key; wins over the key file
                MESH_ADMIN_TOKEN     (env only, required) the admin token: every route but /healthz and
                                     /readyz needs a token (\`mesh up\` generates one into .mesh/admin-token)
  --audit-topic MESH_AUDIT_TOPIC     _mesh_audit (<catalog topic>_audit beside another catalog topic)
  --rate-limit-query MESH_RATE_LIMIT_QUERY 1200 requests per token per window to view rows and lookups (0: none)
  --rate-limit-stream MESH_RATE_LIMIT_STREAM 60 change streams (SSE) opened per token per window (0: none)
  --rate-limit-window MESH_RATE_LIMIT_WINDOW 60 the window, in seconds`;

export function parseApiConfig(args: string[], env: Record<string, string | undefined>): ApiConfig {
  const given = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--"))
      throw new MeshError("MESH_BAD_REQUEST", `unexpected argument "${arg}"`, { arg });
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (!(name in flags))
      throw new MeshError("MESH_BAD_REQUEST", `unknown option --${name}\n\n${apiConfigHelp}`, {
        option: name,
      });
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined)
      throw new MeshError("MESH_BAD_REQUEST", `--${name} needs a value`, { option: name });
    given.set(name, value);
  }
  const get = (name: string, fallback: string): string =>
    given.get(name) ?? env[flags[name]!.env] ?? fallback;
  const port = Number(get("port", "8080"));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new MeshError(
      "MESH_BAD_REQUEST",
      `--port / MESH_API_PORT must be a port number (got ${get("port", "")})`,
      { option: "port" },
    );
  }
  const connect = get("connect", "true");
  if (connect !== "true" && connect !== "false") {
    throw new MeshError("MESH_BAD_REQUEST", "--connect / MESH_API_CONNECT must be true or false", {
      option: "connect",
    });
  }
  const dataDir = get("data-dir", ".mesh/data");
  const materializerUrls = get("materializer", "")
    .split(",")
    .map((u) => u.trim())
    .filter(Boolean);
  for (const u of materializerUrls) {
    let parsed: URL | null = null;
    try {
      parsed = new URL(u);
    } catch {
      // reported below
    }
    if (!parsed || !["http:", "https:"].includes(parsed.protocol) || parsed.username || parsed.password)
      throw new MeshError(
        "MESH_BAD_REQUEST",
        `--materializer / MESH_MATERIALIZER_URLS must be http(s)://host:port URLs, comma-separated (got "${u}")`,
        { option: "materializer" },
      );
  }
  const count = (name: string, fallback: string): number => {
    const value = Number(get(name, fallback));
    if (!Number.isInteger(value) || value < 0)
      throw new MeshError(
        "MESH_BAD_REQUEST",
        `--${name} / ${flags[name]!.env} must be a whole number, 0 or more (got ${get(name, "")})`,
        { option: name },
      );
    return value;
  };
  const windowSeconds = count("rate-limit-window", "60");
  if (windowSeconds === 0)
    throw new MeshError(
      "MESH_BAD_REQUEST",
      "--rate-limit-window / MESH_RATE_LIMIT_WINDOW must be 1 or more",
      {
        option: "rate-limit-window",
      },
    );
  const catalogTopic = get("catalog-topic", CATALOG_TOPIC);
  const sasl = kafkaSaslFromEnv(env);
  return {
    host: get("host", "127.0.0.1"),
    port,
    brokers: get("brokers", "127.0.0.1:19092")
      .split(",")
      .map((b) => b.trim())
      .filter(Boolean),
    ...(sasl ? { sasl } : {}),
    registryUrl: get("registry", "http://127.0.0.1:8081"),
    dataDir,
    logLevel: get("log-level", "info"),
    connect: connect === "true",
    catalogTopic,
    advertiseUrl: get("advertise-url", "") || undefined,
    secretKey: env.MESH_SECRET_KEY || undefined,
    adminToken: env.MESH_ADMIN_TOKEN || undefined,
    secretKeyFile: get("secret-key-file", join(dataDir, "secret.key")),
    materializerUrls: materializerUrls.map((u) => u.replace(/\/+$/, "")),
    auditTopic: get("audit-topic", auditTopicOf(catalogTopic)),
    rateLimit: {
      queryMax: count("rate-limit-query", "1200"),
      streamMax: count("rate-limit-stream", "60"),
      windowMs: windowSeconds * 1000,
    },
  };
}
