// The registry as a process: `node registry/main.ts --brokers 127.0.0.1:19092 --port 8081`. Config is read here
// once (flags, else MESH_* env) and passed down typed; nothing below reads process.env.
import { parseArgs } from "node:util";
import pino from "pino";
import { kafkaSaslFromEnv } from "../lib/kafka/index.ts";
import { startRegistry, type RegistryOptions } from "./server.ts";

export const USAGE = `usage: mesh registry [options]   (or: node registry/main.ts [options])

A Confluent-compatible Schema Registry on Kafka. Options (flag, then env, then default):
  --brokers h:p[,h:p]   MESH_KAFKA_BROKERS             (required) Kafka bootstrap servers
                        MESH_KAFKA_SASL_MECHANISM, _USERNAME, _PASSWORD  (env only) Kafka's SASL login
  --host HOST           MESH_REGISTRY_HOST             127.0.0.1 (0.0.0.0 for all interfaces)
  --port N              MESH_REGISTRY_PORT             8081 (0 picks a free port)
  --topic NAME          MESH_REGISTRY_TOPIC            _schemas (compacted, one partition)
  --group-id NAME       MESH_REGISTRY_GROUP_ID         schema-registry (processes sharing it form one cluster)
  --advertised-url URL  MESH_REGISTRY_ADVERTISED_URL   http://<host>:<port> (where followers forward writes)
  --catalog-topic NAME  MESH_CATALOG_TOPIC             _mesh_catalog (whose service tokens are accepted)
  --audit-topic NAME    MESH_AUDIT_TOPIC               _mesh_audit (where 401/403 answers are audited)
  --log-level LEVEL     MESH_LOG_LEVEL                 info (logs go to stderr)
                        MESH_ADMIN_TOKEN               (env only, required) the admin token; every route
                                                       needs a token (Bearer, or Basic auth's password)
  -h, --help            this text

On start it prints {"registry":"<url>"} on stdout; SIGTERM or SIGINT stops it.
`;

const wantsHelp = (argv: readonly string[]): boolean => argv.includes("--help") || argv.includes("-h");

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): RegistryOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      brokers: { type: "string" },
      host: { type: "string" },
      port: { type: "string" },
      topic: { type: "string" },
      "group-id": { type: "string" },
      "advertised-url": { type: "string" },
      "log-level": { type: "string" },
      "catalog-topic": { type: "string" },
      "audit-topic": { type: "string" },
    },
  });
  const brokers = values.brokers ?? env.MESH_KAFKA_BROKERS;
  if (!brokers)
    throw new Error(
      "MESH_REGISTRY_CONFIG: give Kafka with --brokers host:port[,host:port] or MESH_KAFKA_BROKERS",
    );
  const port = Number(values.port ?? env.MESH_REGISTRY_PORT ?? "8081");
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`MESH_REGISTRY_CONFIG: bad port ${values.port}`);
  const sasl = kafkaSaslFromEnv(env);
  const options: RegistryOptions = {
    brokers: brokers.split(",").map((b) => b.trim()),
    ...(sasl ? { sasl } : {}),
    port,
    host: values.host ?? env.MESH_REGISTRY_HOST ?? "127.0.0.1",
    logger: pino({ level: values["log-level"] ?? env.MESH_LOG_LEVEL ?? "info" }, pino.destination(2)),
    // Env only, never a flag: flags show in `ps`. Required: startRegistry refuses to run without it.
    adminToken: env.MESH_ADMIN_TOKEN ?? "",
  };
  const topic = values.topic ?? env.MESH_REGISTRY_TOPIC;
  if (topic) options.topic = topic;
  const groupId = values["group-id"] ?? env.MESH_REGISTRY_GROUP_ID;
  if (groupId) options.groupId = groupId;
  const advertised = values["advertised-url"] ?? env.MESH_REGISTRY_ADVERTISED_URL;
  if (advertised) options.advertisedUrl = advertised;
  const catalogTopic = values["catalog-topic"] ?? env.MESH_CATALOG_TOPIC;
  if (catalogTopic) options.catalogTopic = catalogTopic;
  const auditTopic = values["audit-topic"] ?? env.MESH_AUDIT_TOPIC;
  if (auditTopic) options.auditTopic = auditTopic;

  return options;
}

/** `mesh registry [flags]`: runs until SIGTERM/SIGINT. */
export async function run(args: string[]): Promise<number> {
  if (wantsHelp(args)) {
    process.stdout.write(USAGE);
    return 0;
  }
  await main(args);
  return new Promise<number>(() => undefined);
}

async function main(argv = process.argv.slice(2)): Promise<void> {
  const options = parseConfig(argv, process.env);
  const registry = await startRegistry(options);
  // One line on stdout that scripts and tests can wait for.
  process.stdout.write(`${JSON.stringify({ registry: registry.url })}\n`);
  const shutdown = (): void => {
    registry.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
}

if (import.meta.main && wantsHelp(process.argv.slice(2))) {
  process.stdout.write(USAGE);
} else if (import.meta.main) {
  main().catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
