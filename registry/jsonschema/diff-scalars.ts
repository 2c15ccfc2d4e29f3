// Owns the JSON Schema diff rules of the scalar schemas, ports of Confluent's StringSchemaDiff (length
// limits, pattern), NumberSchemaDiff (bounds, multipleOf, integer versus number) and EnumSchemaDiff (the
// value set). Pure.
import { canonicalJson } from "./canonical.ts";
import { limit, type DiffContext } from "./diff-context.ts";
import type { JsonValue, Schema } from "./model.ts";

export function compareString(
  ctx: DiffContext,
  o: { minLength?: number; maxLength?: number; pattern?: string },
  u: { minLength?: number; maxLength?: number; pattern?: string },
): void {
  limit(ctx, "maxLength", "MAX_LENGTH", o.maxLength, u.maxLength);
  limit(ctx, "minLength", "MIN_LENGTH", o.minLength, u.minLength);
  if (o.pattern === undefined && u.pattern !== undefined) ctx.add("PATTERN_ADDED", "pattern");
  else if (o.pattern !== undefined && u.pattern === undefined) ctx.add("PATTERN_REMOVED", "pattern");
  else if (o.pattern !== u.pattern) ctx.add("PATTERN_CHANGED", "pattern");
}

export function compareNumber(
  ctx: DiffContext,
  o: Schema & { kind: "number" },
  u: Schema & { kind: "number" },
): void {
  limit(ctx, "maximum", "MAXIMUM", o.maximum, u.maximum);
  limit(ctx, "minimum", "MINIMUM", o.minimum, u.minimum);
  limit(ctx, "exclusiveMaximum", "EXCLUSIVE_MAXIMUM", o.exclusiveMaximum, u.exclusiveMaximum);
  limit(ctx, "exclusiveMinimum", "EXCLUSIVE_MINIMUM", o.exclusiveMinimum, u.exclusiveMinimum);
  if (o.multipleOf !== u.multipleOf) {
    if (o.multipleOf === undefined) ctx.add("MULTIPLE_OF_ADDED", "multipleOf");
    else if (u.multipleOf === undefined) ctx.add("MULTIPLE_OF_REMOVED", "multipleOf");
    else if (Math.trunc(u.multipleOf) % Math.trunc(o.multipleOf) === 0)
      ctx.add("MULTIPLE_OF_EXPANDED", "multipleOf");
    else if (Math.trunc(o.multipleOf) % Math.trunc(u.multipleOf) === 0)
      ctx.add("MULTIPLE_OF_REDUCED", "multipleOf");
    else ctx.add("MULTIPLE_OF_CHANGED", "multipleOf");
  }
  if (o.requiresInteger !== u.requiresInteger) ctx.add(o.requiresInteger ? "TYPE_EXTENDED" : "TYPE_NARROWED");
}

export function compareEnum(ctx: DiffContext, o: JsonValue[], u: JsonValue[]): void {
  const os = new Set(o.map(canonicalJson));
  const us = new Set(u.map(canonicalJson));
  const same = os.size === us.size && [...os].every((v) => us.has(v));
  if (same) return;
  if ([...os].every((v) => us.has(v))) ctx.add("ENUM_ARRAY_EXTENDED", "enum");
  else if ([...us].every((v) => os.has(v))) ctx.add("ENUM_ARRAY_NARROWED", "enum");
  else ctx.add("ENUM_ARRAY_CHANGED", "enum");
}
