// The `mesh` command: dispatches the first word(s) to a command module. Each command lives in its own
// file under api/cli/ and exports `run(args: string[]): Promise<number>` (the exit code).
// Exit codes: 0 ok, 1 the operation failed, 2 usage error, 3 a service/API was unreachable, 4 the token was
// refused (401: none or invalid; 403: not allowed).

type Command = { run: (args: string[]) => Promise<number> };

const commands: Record<string, { load: () => Promise<Command>; about: string }> = {
  up: { load: () => import("./up.ts"), about: "the local stack and every role in one process [--demo]" },
  stack: {
    load: () => import("./stack.ts"),
    about: "up|down|status|env: Kafka, Postgres, MariaDB under .mesh/",
  },
  source: {
    load: () => import("./source.ts"),
    about: "add|list|show|pause|resume|snapshot|rm source databases",
  },
  view: { load: () => import("./view.ts"), about: "create|list|show|query|rm SQL views" },
  topic: { load: () => import("./topic.ts"), about: "list|tail domain topics" },
  events: {
    load: () => import("./events.ts"),
    about: "list|show|declare|schema|parked|retry|skip domain events",
  },
  login: {
    load: () => import("./login.ts"),
    about: "store the token client commands send (--token, or stdin); MESH_TOKEN wins over it",
  },
  logout: {
    load: async () => (await import("./login.ts")).logoutCommand,
    about: "forget the stored token",
  },
  status: {
    load: () => import("./status.ts"),
    about: "where each role listens and how it is doing [--json]",
  },
  api: { load: () => import("../main.ts"), about: "role: the HTTP API (port 8080)" },
  registry: { load: () => import("../../registry/main.ts"), about: "role: the schema registry (port 8081)" },
  connect: { load: () => import("../../connectors/main.ts"), about: "role: connectors from a config file" },
  materialize: { load: () => import("../../materializer/main.ts"), about: "role: the view materializer" },
};

const usage = `usage: mesh <command> [args]

commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(12)} ${c.about}`)
  .join("\n")}

Run \`mesh <command> --help\` for a command's options.`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage);
    return name ? 0 : 2;
  }
  const entry = commands[name];
  if (!entry) {
    console.error(`mesh: unknown command "${name}"\n\n${usage}`);
    return 2;
  }
  const command = await entry.load();
  return command.run(rest);
}

process.exitCode = await main(process.argv.slice(2));
