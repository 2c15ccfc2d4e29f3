// Owns JSON Schema compatibility, a port of Confluent's JSON Schema diff (SchemaDiff): the differences from
// an original (writer) schema to an update (reader), with their JSON paths, and which are compatible. This
// file is the entry and SchemaDiff's own rules (following $refs, a change of kind, the id, title, description
// and default), dispatching by kind to the rule groups: diff-scalars.ts (string, number, enum),
// diff-combined.ts (allOf/anyOf/oneOf, not), diff-object.ts, diff-array.ts; diff-context.ts holds the shared
// state and COMPATIBLE_CHANGES, diff-descriptions.ts Confluent's texts. Pure.
import { compareArray } from "./diff-array.ts";
import { compareCombined, compareNot, compareWithCombined } from "./diff-combined.ts";
import { COMPATIBLE_CHANGES, deref, DiffContext, sameValue, type Difference } from "./diff-context.ts";
import { describe } from "./diff-descriptions.ts";
import { compareObject } from "./diff-object.ts";
import { compareEnum, compareNumber, compareString } from "./diff-scalars.ts";
import type { Schema } from "./model.ts";

export { COMPATIBLE_CHANGES, describe, type Difference };

export function diffJson(original: Schema, update: Schema): Difference[] {
  const ctx = new DiffContext(compare);
  compare(ctx, original, update);
  return ctx.diffs;
}

function compare(ctx: DiffContext, o0: Schema | undefined, u0: Schema | undefined): void {
  if (!o0 && !u0) return;
  if (!o0) return ctx.add("SCHEMA_ADDED");
  if (!u0) return ctx.add("SCHEMA_REMOVED");
  const o = deref(o0);
  const u = deref(u0);
  if (compareWithCombined(ctx, o, u)) return;
  if (o.kind !== u.kind) {
    // `true`/`{}` accept anything; `false` accepts nothing, so anything may replace it.
    if (o.kind === "false" || u.kind === "empty") return;
    return ctx.add("TYPE_CHANGED");
  }
  if (ctx.inProgress.has(o)) return;
  ctx.inProgress.add(o);
  try {
    if (o.id !== u.id) ctx.add("ID_CHANGED");
    if (o.title !== u.title) ctx.add("TITLE_CHANGED");
    if (o.description !== u.description) ctx.add("DESCRIPTION_CHANGED");
    if (!sameValue(o.default, u.default)) ctx.add("DEFAULT_CHANGED");
    switch (o.kind) {
      case "string":
        if (u.kind === "string") compareString(ctx, o, u);
        break;
      case "number":
        if (u.kind === "number") compareNumber(ctx, o, u);
        break;
      case "enum":
        if (u.kind === "enum") compareEnum(ctx, o.values, u.values);
        break;
      case "const":
        if (u.kind === "const" && !sameValue(o.value, u.value)) ctx.add("ENUM_ARRAY_CHANGED", "const");
        break;
      case "combined":
        if (u.kind === "combined") compareCombined(ctx, o, u);
        break;
      case "not":
        if (u.kind === "not") compareNot(ctx, o, u);
        break;
      case "object":
        if (u.kind === "object") compareObject(ctx, o, u);
        break;
      case "array":
        if (u.kind === "array") compareArray(ctx, o, u);
        break;
      default:
        break;
    }
  } finally {
    ctx.inProgress.delete(o);
  }
}

/** Confluent's JsonSchema.isBackwardCompatible: can `reader` read what `writer` wrote? */
export function jsonBackward(reader: Schema, writer: Schema): string[] {
  return diffJson(writer, reader)
    .filter((d) => !COMPATIBLE_CHANGES.has(d.type))
    .map(describe);
}
