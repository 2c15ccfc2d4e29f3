// `mesh login` / `mesh logout`, and which token the client commands send: MESH_TOKEN when set, else the one
// `mesh login` stored in the user's config (`$XDG_CONFIG_HOME/datamesh/token`, or `~/.config/datamesh/token`),
// a file only its owner may read (0600, in a 0700 directory). `mesh login --token <token>` or the token on
// stdin (`mesh login < file`, or typed: it is not echoed back); the token is checked against the API
// (GET /v1/status) before it is stored, so a typo is said at once. The token itself is never printed.
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { apiUrl, call, CliExit, exit, flag, parseArgs, runCommand, setToken, tokenFile } from "./client.ts";

const usage = `usage: mesh login [--token TOKEN] [--api URL]   (without --token: the token is read from stdin)
       mesh logout

Stores the token client commands send (Authorization: Bearer) in ${"$"}XDG_CONFIG_HOME/datamesh/token
(default ~/.config/datamesh/token), readable by you only. MESH_TOKEN, when set, wins over it.`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8").trim();
}

export async function run(args: string[]): Promise<number> {
  return login(args, process.env);
}

export async function login(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return runCommand(false, async () => {
    const p = parseArgs(args, ["help"], ["token", "api"]);
    if (p.flags.has("help")) {
      console.log(usage);
      return exit.ok;
    }
    const token = flag(p, "token") ?? (await readStdin());
    if (!token) throw new CliExit(exit.usage, `no token given\n\n${usage}`);
    const base = apiUrl(p, env);
    // Checked before it is kept: a wrong token is a 401 here, with the usual message and exit code.
    setToken(token);
    await call(base, "GET", "/v1/status");
    const file = tokenFile(env);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    // writeFile keeps the mode of a file that existed: make sure.
    chmodSync(file, 0o600);
    console.log(`logged in to ${base}; the token is stored in ${file} (mode 0600)`);
    if (env.MESH_TOKEN) console.log("note: MESH_TOKEN is set in this shell and wins over the stored token");
    return exit.ok;
  });
}

export function logout(env: NodeJS.ProcessEnv): Promise<number> {
  const file = tokenFile(env);
  rmSync(file, { force: true });
  console.log(`logged out: ${file} removed`);
  return Promise.resolve(exit.ok);
}

export const logoutCommand = { run: (): Promise<number> => logout(process.env) };
