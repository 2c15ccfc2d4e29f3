// `mesh up [--demo]`: the embedded default for one machine — the local stack (Kafka, Postgres, MariaDB
// under .mesh/) and every role in this one process: registry, connectors, materializer and API. Prints
// where each listens; --demo also sets up the two-service demo and prints curl lines. Ctrl-C stops the roles
// and the stack services this run started (services already running before it are left running).
import { join } from "node:path";
import { LocalStack, type UpResult } from "../../deploy/local/stack.ts";
import { MissingPrerequisite } from "../../deploy/local/service.ts";
import { createLogger } from "../../lib/logger.ts";
import { kafkaSaslFromEnv } from "../../lib/kafka/index.ts";
import { startMaterializer } from "../../materializer/main.ts";
import { CATALOG_TOPIC } from "../../protocol/topics.ts";
import { startRegistry } from "../../registry/server.ts";
import { parseApiConfig } from "../config.ts";
import { startDemo, type RunningDemo } from "../demo/demo.ts";
import { waitForSignal } from "../main.ts";
import { startApi } from "../service.ts";
import { resolveAdminToken, tokenUsage } from "./admin-token.ts";
import { CliExit, exit, flag, has, parseArgs } from "./client.ts";

const usage = `usage: mesh up [--demo] [--json] [options]

  --demo                 create the customers/orders demo, register both, create a join view, run a workload
  --api-port 8080        the HTTP API (0 picks a free port)
  --registry-port 8081   the schema registry (0 picks a free port)
  --host 127.0.0.1       interface the API and registry listen on
  --data-dir .mesh/data  where the materializer keeps its LevelDB
  --catalog-topic _mesh_catalog
  --materializer-group NAME
                         the embedded materializer splits each view with the \`mesh materialize --group NAME\`
                         processes following the same catalog; it answers at the API's URL (needs a fixed
                         --api-port and --host other than 0.0.0.0)
  --demo-prefix ""       prefix of the demo's database, source and view names (tests)
  --log-level error      role logs (pino JSON lines on stdout; the --json summary is the line with "api")
  --stop-timeout 20      seconds each role may take to stop on Ctrl-C before it is left behind (named on
                         stderr); a second Ctrl-C exits at once
  --json                 print where each role listens as JSON (one line) once everything is up`;

/** A role's stop, named so a stop that hangs can be reported. */
export interface RoleStop {
  name: string;
  stop: () => Promise<void>;
}

/**
 * Stops the roles in reverse start order, each given at most `timeoutMs`: a stop that hangs (a connector
 * waiting on an unreachable database, a Kafka client retrying) is named on `warn` and left behind, so Ctrl-C
 * always ends. Resolves whether every role stopped cleanly.
 */
export async function stopRoles(
  stops: RoleStop[],
  timeoutMs: number,
  warn: (line: string) => void,
): Promise<boolean> {
  let clean = true;
  for (const { name, stop } of [...stops].reverse()) {
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      stop().then(
        () => null,
        (err: unknown) => `failed: ${err instanceof Error ? err.message : String(err)}`,
      ),
      new Promise<string>((resolve) => {
        timer = setTimeout(
          () => resolve(`did not finish within ${timeoutMs / 1000} s; left behind`),
          timeoutMs,
        );
      }),
    ]);
    clearTimeout(timer);
    if (outcome !== null) {
      clean = false;
      warn(`mesh up: stopping ${name} ${outcome}`);
    }
  }
  return clean;
}

/** What Ctrl-C will stop, as `mesh up` says it once everything is up. */
export function stopLine(started: string[], kept: string[]): string {
  const roles = "Ctrl-C stops the registry, connectors, materializer and API";
  const ours = started.length > 0 ? ` and ${started.join(", ")} (started by this run)` : "";
  const theirs =
    kept.length > 0
      ? `; ${kept.join(", ")} ${kept.length > 1 ? "were" : "was"} already running and stay${kept.length > 1 ? "" : "s"} up`
      : "";
  return `${roles}${ours}${theirs}.`;
}

/**
 * What `mesh up` stops of the local stack on Ctrl-C: the services its `stack.up()` started (`started`), one
 * after the other; those that were already up (`kept`) are not its own to stop.
 */
export function stackStop(
  results: UpResult[],
  stack: { service(name: string): { down(): Promise<boolean> } },
): { started: string[]; kept: string[]; stop: RoleStop | null } {
  const started = results.filter((r) => r.result === "started").map((r) => r.service);
  const kept = results.filter((r) => r.result === "already-up").map((r) => r.service);
  const stop = async (): Promise<void> => {
    for (const name of started) await stack.service(name).down();
  };
  return { started, kept, stop: started.length > 0 ? { name: started.join(", "), stop } : null };
}

export async function run(args: string[]): Promise<number> {
  let p;
  try {
    p = parseArgs(args, ["demo", "json", "help"]);
    if (has(p, "help")) {
      console.log(usage);
      return exit.ok;
    }
    if (p.positional.length > 0)
      throw new CliExit(exit.usage, `unexpected argument ${p.positional[0]}\n\n${usage}`);
  } catch (err) {
    console.error((err as Error).message);
    return exit.usage;
  }
  const json = has(p, "json");
  const say = (line: string): void => void (json ? process.stderr.write(`${line}\n`) : console.log(line));
  const host = flag(p, "host") ?? "127.0.0.1";
  const logger = createLogger({ level: flag(p, "log-level") ?? "error", name: "mesh-up" });
  const stopTimeoutMs = Number(flag(p, "stop-timeout") ?? 20) * 1000;
  if (!Number.isFinite(stopTimeoutMs) || stopTimeoutMs <= 0) {
    console.error(`--stop-timeout must be a positive number of seconds\n\n${usage}`);
    return exit.usage;
  }
  // The embedded engine of a split group advertises the API's URL, so it must be known before listening.
  const group = flag(p, "materializer-group");
  const apiPort = flag(p, "api-port") ?? "8080";
  if (group !== undefined && !/^[A-Za-z0-9._-]+$/.test(group)) {
    console.error(`--materializer-group may hold letters, digits, ".", "_" and "-" only\n\n${usage}`);
    return exit.usage;
  }
  if (group !== undefined && (apiPort === "0" || host === "0.0.0.0")) {
    console.error(`--materializer-group needs a fixed --api-port and --host\n\n${usage}`);
    return exit.usage;
  }
  const stops: RoleStop[] = [];
  const stopAll = async (): Promise<boolean> => {
    const clean = await stopRoles(stops.splice(0), stopTimeoutMs, (line) => console.error(line));
    // A role left behind may still hold sockets or timers that keep Node alive: exit once the rest is done.
    if (!clean) setTimeout(() => process.exit(exit.failed), 1000).unref();
    return clean;
  };
  try {
    // MESH_STACK_PORT_BASE moves every port together, as for `mesh stack` (a stack beside another one): without
    // it here, `mesh up` in such a checkout probed the default ports' Kafka, found it refusing this stack's
    // login, and took its own running broker for stuck.
    const portBase = process.env.MESH_STACK_PORT_BASE;
    const stack = new LocalStack(process.cwd(), portBase ? { portBase: Number(portBase) } : {});
    say("starting the local stack (Kafka, Postgres, MariaDB)...");
    const services = await stack.up();
    // Ctrl-C stops the services this run started; those already running before it (another `mesh up`, a
    // `mesh stack up`, a test run) are left running for whoever started them.
    const { started, kept, stop } = stackStop(services, stack);
    if (stop) stops.push(stop);
    const env = stack.env();
    const brokers = env.MESH_KAFKA_BROKERS.split(",");
    // Every role needs the admin token: MESH_ADMIN_TOKEN, else .mesh/admin-token (generated once, 0600).
    const admin = await resolveAdminToken(
      process.env.MESH_ADMIN_TOKEN,
      join(stack.layout.root, "admin-token"),
    );
    const catalogTopic = flag(p, "catalog-topic") ?? CATALOG_TOPIC;
    // Every role logs in to Kafka as the stack's super user (deploy/local/kafka-sasl.ts).
    const sasl = kafkaSaslFromEnv(env);
    const registry = await startRegistry({
      brokers,
      ...(sasl ? { sasl } : {}),
      host,
      port: Number(flag(p, "registry-port") ?? 8081),
      logger: logger.child({ role: "registry" }),
      adminToken: admin.token,
      catalogTopic,
    });
    stops.push({ name: "registry", stop: () => registry.stop() });
    const dataDir = flag(p, "data-dir") ?? join(stack.layout.root, "data");
    const materializer = await startMaterializer(
      {
        brokers,
        ...(sasl ? { sasl } : {}),
        registryUrl: registry.url,
        dataDir: join(dataDir, "materializer"),
        views: [],
        logLevel: "warn",
        adminToken: admin.token,
        ...(group !== undefined ? { group, advertise: `http://${host}:${apiPort}` } : {}),
      },
      logger.child({ role: "materialize" }),
    );
    stops.push({ name: "materializer", stop: () => materializer.stop() });
    const config = parseApiConfig(
      [
        "--host",
        host,
        "--port",
        apiPort,
        "--brokers",
        brokers.join(","),
        "--registry",
        registry.url,
        "--data-dir",
        dataDir,
        "--catalog-topic",
        catalogTopic,
      ],
      {
        MESH_SECRET_KEY: process.env.MESH_SECRET_KEY,
        MESH_ADMIN_TOKEN: admin.token,
        MESH_KAFKA_SASL_MECHANISM: env.MESH_KAFKA_SASL_MECHANISM,
        MESH_KAFKA_SASL_USERNAME: env.MESH_KAFKA_SASL_USERNAME,
        MESH_KAFKA_SASL_PASSWORD: env.MESH_KAFKA_SASL_PASSWORD,
      },
    );
    const roles = {
      kafka: { brokers: env.MESH_KAFKA_BROKERS },
      postgres: { url: env.MESH_PG_URL.replace(/:[^:@/]*@/, ":***@") },
      mysql: { url: env.MESH_MYSQL_URL.replace(/:[^:@/]*@/, ":***@") },
      materialize: { inProcess: true, dataDir: join(dataDir, "materializer") },
    };
    const api = await startApi(config, {
      logger: logger.child({ role: "api" }),
      viewEngine: materializer.engine,
      roles: () => roles,
    });
    stops.push({ name: "api", stop: () => api.stop() });
    const where = {
      api: api.url,
      docs: `${api.url}/docs`,
      registry: registry.url,
      kafka: env.MESH_KAFKA_BROKERS,
      postgres: roles.postgres.url,
    };
    let demo: RunningDemo | null = null;
    if (has(p, "demo")) {
      demo = await startDemo({
        apiUrl: api.url,
        token: admin.token,
        pgAdminUrl: env.MESH_PG_URL,
        mysqlAdminUrl: env.MESH_MYSQL_URL,
        prefix: flag(p, "demo-prefix") ?? "",
        progress: say,
      });
      stops.push({ name: "demo", stop: () => demo!.stop() });
    }
    // How to pass the admin token on (never the token itself): on stderr with --json.
    if (json) for (const line of tokenUsage(admin)) say(line);
    if (json)
      console.log(
        JSON.stringify({
          ...where,
          stack: { started, alreadyRunning: kept },
          // Where the admin token is (never the token): MESH_ADMIN_TOKEN, or this file.
          adminToken: { source: admin.source, file: admin.file },
          ...(demo ? { demo: { view: demo.view, topic: demo.topic, curl: demo.curl } } : {}),
        }),
      );
    else {
      console.log(
        `\ndatamesh is up:\n  api       ${where.api}   (OpenAPI: ${where.docs})\n  registry  ${where.registry}\n  kafka     ${where.kafka}\n  postgres  ${where.postgres}`,
      );
      console.log(`\n${tokenUsage(admin).join("\n")}`);
      if (demo) {
        console.log(`\ndemo: view ${demo.view} joins orders with customers across two databases; try:`);
        for (const line of demo.curl) console.log(`  ${line}`);
      }
      console.log(`\n\`mesh status --json\` tells the same; ${stopLine(started, kept)}`);
    }
    await waitForSignal();
    say("stopping... (Ctrl-C again to exit at once)");
    // waitForSignal() no longer listens: without these a second signal would kill Node without a word.
    const force = (signal: string): void => {
      console.error(`mesh up: ${signal} again: exiting without waiting for the roles to stop`);
      process.exit(130);
    };
    process.once("SIGINT", force);
    process.once("SIGTERM", force);
    return (await stopAll()) ? exit.ok : exit.failed;
  } catch (err) {
    await stopAll();
    if (err instanceof MissingPrerequisite) {
      console.error(`mesh up: ${err.message}`);
      return exit.usage;
    }
    console.error(`mesh up: ${(err as Error).message}`);
    return exit.failed;
  }
}
