// Finds executables on PATH or in well-known install folders (Debian puts Postgres under /usr/lib/postgresql).
import { accessSync, constants, existsSync, readdirSync } from "node:fs";
import { delimiter, join } from "node:path";

export function which(binary: string, extraDirs: string[] = []): string | null {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), ...extraDirs, "/usr/sbin", "/usr/local/sbin"];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* keep looking */
    }
  }
  return null;
}

/** Debian's versioned Postgres bin folders, newest first (15 or later). */
export function postgresBinDirs(): string[] {
  const base = "/usr/lib/postgresql";
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .map((v) => Number.parseInt(v, 10))
    .filter((v) => Number.isInteger(v) && v >= 15)
    .sort((a, b) => b - a)
    .map((v) => join(base, String(v), "bin"));
}
