#!/usr/bin/env node
// Launcher for the `mesh` CLI: datamesh runs its TypeScript directly on Node 24 (type stripping).
// When started by an older node, re-run under the Node 24 that the project's `node` dependency provides.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";

const main = fileURLToPath(new URL("../api/cli/main.ts", import.meta.url));
const major = Number(process.versions.node.split(".")[0]);
if (major >= 24) {
  await import(main);
} else {
  const node24 = fileURLToPath(new URL("../node_modules/node/bin/node", import.meta.url));
  if (!existsSync(node24)) {
    console.error(
      `mesh needs Node 24 or later (this is ${process.version}); run \`npm ci\` in the datamesh folder`,
    );
    process.exit(2);
  }
  // The child gets its own process group and every signal through us, so `kill <launcher pid>` stops it too
  // and a terminal Ctrl-C reaches it once (not once from the terminal and once forwarded).
  const child = spawn(node24, [main, ...process.argv.slice(2)], { stdio: "inherit", detached: true });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"]) {
    process.on(signal, () => child.kill(signal));
  }
  child.on("exit", (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
}
