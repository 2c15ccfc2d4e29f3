// The replication client's server id: every binlog reader of a server needs its own (a second reader with
// the same id makes the server drop the first). A source may name one (`serverId` in its definition); else
// it is derived from the source's name, so it is the same at every restart and on every process, and lands
// in 1,000,000..2^31-1, away from the small ids servers and replicas are usually given. Pure.
import { createHash } from "node:crypto";
import type { SourceDefinition } from "../core/change-source.ts";

const LOW = 1_000_000;
const HIGH = 2 ** 31 - 1;

export function defaultServerId(sourceName: string): number {
  const n = createHash("sha256").update(`datamesh:${sourceName}`).digest().readUInt32BE(0);
  return LOW + (n % (HIGH - LOW));
}

export function serverIdFor(def: SourceDefinition): number {
  const given = (def as SourceDefinition & { serverId?: unknown }).serverId;
  if (typeof given === "number" && Number.isInteger(given) && given > 0 && given < 2 ** 32) return given;
  return defaultServerId(def.name);
}
