// The admin token `mesh up` runs every role with: MESH_ADMIN_TOKEN when set; otherwise the one kept in
// `.mesh/admin-token` (readable by its owner only), generated there on the first run and reused after, so
// tokens and scripts keep working across restarts. Auth is never off: there is no way to run without one.
import { chmod, readFile, stat, writeFile } from "node:fs/promises";
import { checkAdminToken, newAdminToken } from "../../lib/http/auth-tokens.ts";

export interface AdminToken {
  token: string;
  /** Where it came from: the environment, the file, or generated into the file now. */
  source: "env" | "file" | "generated";
  /** The file holding it (null when it came from the environment). */
  file: string | null;
}

export async function resolveAdminToken(envToken: string | undefined, file: string): Promise<AdminToken> {
  if (envToken) {
    checkAdminToken(envToken);
    return { token: envToken, source: "env", file: null };
  }
  let kept: string | null = null;
  try {
    kept = (await readFile(file, "utf8")).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  if (kept) {
    checkAdminToken(kept);
    // Someone loosened its mode: only its owner may read it.
    if (((await stat(file)).mode & 0o077) !== 0) await chmod(file, 0o600);
    return { token: kept, source: "file", file };
  }
  const token = newAdminToken();
  // `wx`: two `mesh up` starting at once must not each write their own.
  try {
    await writeFile(file, `${token}\n`, { mode: 0o600, flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return resolveAdminToken(undefined, file);
    throw err;
  }
  return { token, source: "generated", file };
}

/** How a user passes the token on: the lines `mesh up` prints (never the token itself). */
export function tokenUsage(admin: AdminToken): string[] {
  const from = admin.file ? `$(cat ${admin.file})` : "$MESH_ADMIN_TOKEN";
  return [
    admin.source === "generated"
      ? `admin token generated into ${admin.file} (mode 0600; reused next time)`
      : admin.file
        ? `admin token: ${admin.file}`
        : "admin token: MESH_ADMIN_TOKEN",
    `every route needs it (or a service token: POST /v1/tokens); in this shell: export MESH_TOKEN=${from}`,
    `then: mesh status, or curl -H "Authorization: Bearer $MESH_TOKEN" ...`,
  ];
}
