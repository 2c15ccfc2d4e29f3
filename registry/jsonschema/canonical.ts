// Owns the JSON texts of a JSON Schema: Confluent's canonical string (Jackson's compact writing, keys in the
// order written) and its normalized form (keys sorted at every level, as its normalize() rereads the text).
import type { JsonValue } from "./model.ts";

/** Compact JSON with object keys sorted at every level. */
export function canonicalJson(v: JsonValue | undefined): string {
  if (v === undefined) return "null";
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  return `{${Object.keys(v)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`)
    .join(",")}}`;
}
