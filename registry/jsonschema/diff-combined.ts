// Owns the JSON Schema diff rules of combined schemas, ports of Confluent's CombinedSchemaDiff (criterion
// changes, subschemas paired by a maximum matching of compatible pairs) and NotSchemaDiff, and SchemaDiff's
// comparison of a combined schema with a plain one (a single subschema stands for itself; a plain schema that
// becomes one branch of an anyOf/oneOf is a sum type extended). Pure.
import { type Difference, type DiffContext } from "./diff-context.ts";
import { canonicalJson } from "./canonical.ts";
import type { Schema } from "./model.ts";

/**
 * Where exactly one of the two (dereferenced) schemas is combined, tries to compare the plain one with its
 * subschemas; true when that decided the comparison, false to go on comparing the two as they are.
 */
export function compareWithCombined(ctx: DiffContext, o: Schema, u: Schema): boolean {
  if (o.kind !== "combined" && u.kind === "combined") {
    if (u.subschemas.length === 1) {
      const sub = ctx.sub();
      sub.compare(o, u.subschemas[0]);
      if (sub.compatible()) return adopt(ctx, sub);
    } else if (u.criterion === "anyOf" || u.criterion === "oneOf") {
      for (const s of u.subschemas) {
        const sub = ctx.sub();
        sub.compare(o, s);
        if (sub.compatible()) {
          adopt(ctx, sub);
          ctx.add("SUM_TYPE_EXTENDED");
          return true;
        }
      }
    }
  } else if (o.kind === "combined" && u.kind !== "combined" && o.subschemas.length === 1) {
    const sub = ctx.sub();
    sub.compare(o.subschemas[0], u);
    if (sub.compatible()) return adopt(ctx, sub);
  }
  return false;
}

function adopt(ctx: DiffContext, sub: DiffContext): true {
  ctx.diffs.push(...sub.diffs);
  return true;
}

export function compareNot(ctx: DiffContext, o: Schema & { kind: "not" }, u: Schema & { kind: "not" }): void {
  ctx.at("not", () => {
    const sub = ctx.sub();
    // Reversed: `not` narrows what it accepts when what it rejects grows.
    sub.compare(u.mustNotMatch, o.mustNotMatch);
    ctx.add(sub.compatible() ? "NOT_TYPE_NARROWED" : "NOT_TYPE_EXTENDED");
  });
}

export function compareCombined(
  ctx: DiffContext,
  o: Schema & { kind: "combined" },
  u: Schema & { kind: "combined" },
): void {
  let changed = false;
  if (o.criterion !== u.criterion) {
    let type: string;
    if (u.criterion === "anyOf") type = "COMBINED_TYPE_EXTENDED";
    else if (u.criterion === "oneOf")
      type = o.subschemas.length === 1 ? "COMBINED_TYPE_EXTENDED" : "COMBINED_TYPE_CHANGED";
    else
      type =
        o.subschemas.length === 1 && u.subschemas.length === 1
          ? "COMBINED_TYPE_EXTENDED"
          : "COMBINED_TYPE_CHANGED";
    ctx.add(type);
    changed = type === "COMBINED_TYPE_CHANGED";
  }
  if (changed) return;
  // Duplicate subschemas collapse (sets of schemas in Confluent's code).
  const dedupe = (l: Schema[]) => [...new Map(l.map((s) => [canonicalJson(s.source), s])).values()];
  const os = dedupe(o.subschemas);
  const us = dedupe(u.subschemas);
  if (os.length < us.length) ctx.add(u.criterion === "allOf" ? "PRODUCT_TYPE_EXTENDED" : "SUM_TYPE_EXTENDED");
  else if (os.length > us.length)
    ctx.add(u.criterion === "allOf" ? "PRODUCT_TYPE_NARROWED" : "SUM_TYPE_NARROWED");
  const edges: Difference[][][] = os.map(() => us.map(() => []));
  const ok: boolean[][] = os.map(() => us.map(() => false));
  os.forEach((oi, i) => {
    ctx.at(`${o.criterion}/${i}`, () => {
      us.forEach((uj, j) => {
        const sub = ctx.sub();
        sub.compare(oi, uj);
        if (sub.compatible()) {
          ok[i]![j] = true;
          edges[i]![j] = sub.diffs;
        }
      });
    });
  });
  const match = maximumMatching(ok);
  for (const [i, j] of match) ctx.diffs.push(...edges[i]![j]!);
  if (match.length < Math.min(os.length, us.length)) ctx.add("COMBINED_TYPE_SUBSCHEMAS_CHANGED");
}

/** Maximum bipartite matching (augmenting paths) over the compatible (original, update) pairs. */
function maximumMatching(ok: boolean[][]): [number, number][] {
  const matchOfRight = new Map<number, number>();
  const tryAssign = (i: number, seen: Set<number>): boolean => {
    for (let j = 0; j < (ok[i]?.length ?? 0); j++) {
      if (!ok[i]![j] || seen.has(j)) continue;
      seen.add(j);
      const k = matchOfRight.get(j);
      if (k === undefined || tryAssign(k, seen)) {
        matchOfRight.set(j, i);
        return true;
      }
    }
    return false;
  };
  for (let i = 0; i < ok.length; i++) tryAssign(i, new Set());
  return [...matchOfRight].map(([j, i]) => [i, j]);
}
