// `mesh stack up|down|status|env`: the local stack of real processes under .mesh/ (deploy/local).
import { LocalStack } from "../../deploy/local/stack.ts";
import { MissingPrerequisite } from "../../deploy/local/service.ts";

const help = `usage: mesh stack <up|down|status|env> [--json]

  up       start Kafka, Postgres and MariaDB (idempotent; restarts what stopped or crashed)
  down     stop the services this stack started
  status   each service's port, pid and health
  env      shell exports for tests and scripts: eval "$(mesh stack env)"`;

export async function run(args: string[]): Promise<number> {
  const json = args.includes("--json");
  const [verb] = args.filter((a) => !a.startsWith("--"));
  // MESH_STACK_PORT_BASE moves every port together (a second stack beside a running one, as in CI rehearsals).
  const portBase = process.env.MESH_STACK_PORT_BASE;
  const stack = new LocalStack(process.cwd(), portBase ? { portBase: Number(portBase) } : {});
  try {
    switch (verb) {
      case "up": {
        const started = Date.now();
        const results = await stack.up();
        if (json) console.log(JSON.stringify({ services: results, env: stack.env() }, null, 2));
        else {
          for (const r of results) console.log(`${r.service.padEnd(9)} ${r.result.padEnd(10)} ${r.ms} ms`);
          console.log(`stack up in ${Date.now() - started} ms; \`mesh stack env\` prints the addresses`);
        }
        return 0;
      }
      case "down": {
        const results = await stack.down();
        if (json) console.log(JSON.stringify(results, null, 2));
        else
          for (const r of results)
            console.log(`${r.service.padEnd(9)} ${r.stopped ? "stopped" : "was not running"}`);
        return 0;
      }
      case "status": {
        const statuses = await stack.status();
        if (json) console.log(JSON.stringify(statuses, null, 2));
        else {
          console.log(
            `${"service".padEnd(9)} ${"port".padEnd(6)} ${"pid".padEnd(8)} ${"rss".padEnd(8)} health`,
          );
          for (const s of statuses) {
            console.log(
              `${s.name.padEnd(9)} ${String(s.port).padEnd(6)} ${String(s.pid ?? "-").padEnd(8)} ${`${Math.round(s.rssBytes / 2 ** 20)} MB`.padEnd(8)} ${s.healthy ? "healthy" : "down"}`,
            );
          }
        }
        const total = statuses.reduce((sum, s) => sum + s.rssBytes, 0);
        if (!json) console.log(`total resident memory: ${Math.round(total / 2 ** 20)} MB`);
        return statuses.every((s) => s.healthy) ? 0 : 1;
      }
      case "env": {
        const env = stack.env();
        if (json) console.log(JSON.stringify(env, null, 2));
        else for (const [k, v] of Object.entries(env)) console.log(`export ${k}='${v}'`);
        return 0;
      }
      default:
        console.error(help);
        return verb === undefined || verb === "--help" ? 0 : 2;
    }
  } catch (err) {
    if (err instanceof MissingPrerequisite) {
      console.error(`mesh stack: ${err.message}`);
      return 2;
    }
    console.error(`mesh stack ${verb}: ${(err as Error).message}`);
    return 1;
  }
}
