// Unique names for test resources; free of vitest so child processes of tests can use it too.
import { randomBytes } from "node:crypto";

/** A lowercase name unique to this run, usable as a topic, database, slot or group name. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`.toLowerCase();
}
