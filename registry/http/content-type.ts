// Owns content negotiation as Confluent's registry does it (JAX-RS over its resources' @Produces): the three
// JSON types it produces, each with its server quality (qs), chosen against the request's Accept by the
// client's q first, then qs. No Accept (or `*/*`) gives `application/vnd.schemaregistry.v1+json`; nothing
// acceptable gives 406. Answers carry the chosen type bare, without `; charset=utf-8` (Confluent sends none).

export const V1_JSON = "application/vnd.schemaregistry.v1+json";
export const DEFAULT_JSON = "application/vnd.schemaregistry+json";
export const JSON_TYPE = "application/json";

/** What the routes produce, best first, with Confluent's qs (Versions.java: 1, 0.9 and 0.5). */
const PRODUCED: readonly { type: string; qs: number }[] = [
  { type: V1_JSON, qs: 1 },
  { type: DEFAULT_JSON, qs: 0.9 },
  { type: JSON_TYPE, qs: 0.5 },
];

/** Request bodies Confluent's resources consume (@Consumes), `application/octet-stream` included. */
export const CONSUMED = [V1_JSON, DEFAULT_JSON, JSON_TYPE, "application/octet-stream"];

interface Range {
  type: string;
  subtype: string;
  q: number;
}

function parseAccept(accept: string): Range[] {
  const out: Range[] = [];
  for (const part of accept.split(",")) {
    const [media = "", ...params] = part.split(";").map((s) => s.trim());
    const [type, subtype] = media.toLowerCase().split("/");
    if (!type || !subtype) continue;
    let q = 1;
    for (const p of params) {
      const [k, v] = p.split("=").map((s) => s.trim());
      if (k?.toLowerCase() === "q" && v !== undefined) {
        const n = Number(v);
        q = Number.isFinite(n) ? Math.min(Math.max(n, 0), 1) : 1;
      }
    }
    out.push({ type, subtype, q });
  }
  return out;
}

/** The client's q for `produced`: that of the most specific range matching it (RFC 9110), 0 if none does. */
function qualityOf(ranges: readonly Range[], produced: string): number {
  const [type, subtype] = produced.split("/");
  let best = -1;
  let q = 0;
  for (const r of ranges) {
    const specificity =
      r.type === type && r.subtype === subtype ? 2 : r.type === type && r.subtype === "*" ? 1 : 0;
    const matches = specificity > 0 || (r.type === "*" && r.subtype === "*");
    if (matches && specificity > best) {
      best = specificity;
      q = r.q;
    }
  }
  return q;
}

/** The type to answer in, or undefined when the client accepts none of them (406). */
export function negotiate(accept: string | undefined): string | undefined {
  if (accept === undefined || accept.trim() === "") return V1_JSON;
  const ranges = parseAccept(accept);
  if (ranges.length === 0) return V1_JSON;
  let chosen: string | undefined;
  let bestQ = 0;
  let bestQs = 0;
  for (const p of PRODUCED) {
    const q = qualityOf(ranges, p.type);
    if (q > bestQ || (q === bestQ && q > 0 && p.qs > bestQs)) {
      chosen = p.type;
      bestQ = q;
      bestQs = p.qs;
    }
  }
  return chosen;
}
