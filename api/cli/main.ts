// The `mesh` command: dispatches the first word(s) to a command module. Each command lives in its own
// file under api/cli/ and exports `run(args: string[]): Promise<number>` (the exit code).
// Exit codes: 0 ok, 1 the operation failed, 2 usage error, 3 a service/API was unreachable.
import { silenceKnownWarnings } from "../../lib/warnings.ts";

silenceKnownWarnings();

const commands: Record<string, () => Promise<{ run: (args: string[]) => Promise<number> }>> = {
  stack: () => import("./stack.ts"),
  registry: () => import("../../registry/main.ts"),
  api: () => import("../main.ts"),
  source: () => import("./source.ts"),
  view: () => import("./view.ts"),
  topic: () => import("./topic.ts"),
  status: () => import("./status.ts"),
  up: () => import("./up.ts"),
};

const usage = `usage: mesh <command> [args]

commands:
  stack up|down|status|env   run the local stack (Kafka, Postgres, MariaDB) under .mesh/
${Object.keys(commands)
  .filter((c) => c !== "stack")
  .map((c) => `  ${c}`)
  .join("\n")}

Run \`mesh <command> --help\` for a command's options.`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage);
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    console.error(`mesh: unknown command "${name}"\n\n${usage}`);
    return 2;
  }
  const command = await load();
  return command.run(rest);
}

process.exitCode = await main(process.argv.slice(2));
