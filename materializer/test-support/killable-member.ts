// A `mesh materialize` child process for the SIGKILL tests. `running` resolves when the child logs
// "materializer running" (its views are open and reading): the tests kill at a random point after that fact,
// not after a fixed time from spawn, so a slow start (module loading on a busy machine) cannot make every kill
// land before the first apply.
import { spawn, type ChildProcess } from "node:child_process";
import { TEST_AUTH_ENV } from "../../test/support/auth.ts";
import { kafkaEnv } from "../../test/support/stack.ts";

export interface KillableMember {
  proc: ChildProcess;
  /** Resolves once the child is running its views; rejects if it exits first. */
  running: Promise<void>;
  /** Resolves with the signal that ended the child. */
  exited: Promise<NodeJS.Signals | null>;
}

/** `args` are `mesh materialize` flags; the child logs at info so its start can be seen (only warnings are shown). */
export function spawnMember(args: string[], label = "materialize"): KillableMember {
  const proc = spawn(process.execPath, ["materializer/main.ts", ...args, "--log-level", "info"], {
    stdio: ["ignore", "pipe", "pipe"],
    // The stack's SASL login (MESH_KAFKA_SASL_*) reaches the child in its environment, never in its argv.
    env: { ...process.env, ...TEST_AUTH_ENV, ...kafkaEnv() },
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    proc.once("exit", (_code, signal) => resolve(signal)),
  );
  const running = new Promise<void>((resolve, reject) => {
    let seen = "";
    const onData = (d: Buffer): void => {
      for (const line of d.toString().split("\n")) {
        if (line.includes('"msg":"materializer running"')) resolve();
        // pino levels: 40 warn, 50 error, 60 fatal — only those reach the test's output.
        const level = /"level":(\d+)/.exec(line)?.[1];
        if (level !== undefined && Number(level) >= 40) process.stderr.write(`[${label}] ${line}\n`);
      }
      seen = (seen + d.toString()).slice(-2000);
    };
    proc.stdout?.on("data", onData);
    proc.stderr?.on("data", onData);
    void exited.then((signal) => reject(new Error(`${label} exited (${signal}) before running: ${seen}`)));
  });
  running.catch(() => undefined);
  return { proc, running, exited };
}
