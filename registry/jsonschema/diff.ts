// Owns JSON Schema compatibility, a port of Confluent's JSON Schema diff rules (SchemaDiff, ObjectSchemaDiff,
// ArraySchemaDiff, CombinedSchemaDiff, NumberSchemaDiff, StringSchemaDiff, EnumSchemaDiff, NotSchemaDiff): the
// differences from an original (writer) schema to an update (reader), with their JSON paths, and which are
// compatible. Open content model = no patternProperties and additionalProperties absent or true; closed = false;
// partially open = a schema for additional or pattern properties. Pure.
import { canonicalJson } from "./canonical.ts";
import type { ArraySchema, JsonValue, ObjectSchema, Schema } from "./model.ts";

export const COMPATIBLE_CHANGES = new Set([
  "ID_CHANGED",
  "DESCRIPTION_CHANGED",
  "TITLE_CHANGED",
  "DEFAULT_CHANGED",
  "SCHEMA_REMOVED",
  "TYPE_EXTENDED",
  "MAX_LENGTH_INCREASED",
  "MAX_LENGTH_REMOVED",
  "MIN_LENGTH_DECREASED",
  "MIN_LENGTH_REMOVED",
  "PATTERN_REMOVED",
  "MAXIMUM_INCREASED",
  "MAXIMUM_REMOVED",
  "MINIMUM_DECREASED",
  "MINIMUM_REMOVED",
  "EXCLUSIVE_MAXIMUM_INCREASED",
  "EXCLUSIVE_MAXIMUM_REMOVED",
  "EXCLUSIVE_MINIMUM_DECREASED",
  "EXCLUSIVE_MINIMUM_REMOVED",
  "MULTIPLE_OF_REDUCED",
  "MULTIPLE_OF_REMOVED",
  "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED",
  "REQUIRED_ATTRIBUTE_REMOVED",
  "DEPENDENCY_ARRAY_NARROWED",
  "DEPENDENCY_ARRAY_REMOVED",
  "DEPENDENCY_SCHEMA_REMOVED",
  "MAX_PROPERTIES_INCREASED",
  "MAX_PROPERTIES_REMOVED",
  "MIN_PROPERTIES_DECREASED",
  "MIN_PROPERTIES_REMOVED",
  "ADDITIONAL_PROPERTIES_ADDED",
  "ADDITIONAL_PROPERTIES_EXTENDED",
  "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
  "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL",
  "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
  "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
  "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL",
  "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
  "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
  "MAX_ITEMS_INCREASED",
  "MAX_ITEMS_REMOVED",
  "MIN_ITEMS_DECREASED",
  "MIN_ITEMS_REMOVED",
  "UNIQUE_ITEMS_REMOVED",
  "ADDITIONAL_ITEMS_ADDED",
  "ADDITIONAL_ITEMS_EXTENDED",
  "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
  "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL",
  "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
  "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL",
  "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
  "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
  "ENUM_ARRAY_EXTENDED",
  "COMBINED_TYPE_EXTENDED",
  "PRODUCT_TYPE_NARROWED",
  "SUM_TYPE_EXTENDED",
  "NOT_TYPE_NARROWED",
]);

export interface Difference {
  type: string;
  path: string;
}

class Context {
  diffs: Difference[] = [];
  path: string[];
  readonly inProgress: Set<Schema>;
  constructor(path: string[] = [], inProgress = new Set<Schema>()) {
    this.path = path;
    this.inProgress = inProgress;
  }
  sub(): Context {
    return new Context([...this.path], this.inProgress);
  }
  add(type: string, attribute?: string): void {
    const p = attribute === undefined ? this.path : [...this.path, attribute];
    this.diffs.push({ type, path: `#/${p.join("/")}` });
  }
  compatible(): boolean {
    return this.diffs.every((d) => COMPATIBLE_CHANGES.has(d.type));
  }
  at(p: string, f: () => void): void {
    this.path.push(p);
    try {
      f();
    } finally {
      this.path.pop();
    }
  }
}

export function diffJson(original: Schema, update: Schema): Difference[] {
  const ctx = new Context();
  compare(ctx, original, update);
  return ctx.diffs;
}

function deref(s: Schema): Schema {
  let x = s;
  for (let i = 0; x.kind === "ref" && i < 64; i++) x = x.target();
  return x;
}

const sameValue = (a: JsonValue | undefined, b: JsonValue | undefined) =>
  (a === undefined && b === undefined) ||
  (a !== undefined && b !== undefined && canonicalJson(a) === canonicalJson(b));

function compare(ctx: Context, o0: Schema | undefined, u0: Schema | undefined): void {
  if (!o0 && !u0) return;
  if (!o0) return ctx.add("SCHEMA_ADDED");
  if (!u0) return ctx.add("SCHEMA_REMOVED");
  const o = deref(o0);
  const u = deref(u0);
  if (o.kind !== "combined" && u.kind === "combined") {
    if (u.subschemas.length === 1) {
      const sub = ctx.sub();
      compare(sub, o, u.subschemas[0]);
      if (sub.compatible()) return void ctx.diffs.push(...sub.diffs);
    } else if (u.criterion === "anyOf" || u.criterion === "oneOf") {
      for (const s of u.subschemas) {
        const sub = ctx.sub();
        compare(sub, o, s);
        if (sub.compatible()) {
          ctx.diffs.push(...sub.diffs);
          return ctx.add("SUM_TYPE_EXTENDED");
        }
      }
    }
  } else if (o.kind === "combined" && u.kind !== "combined" && o.subschemas.length === 1) {
    const sub = ctx.sub();
    compare(sub, o.subschemas[0], u);
    if (sub.compatible()) return void ctx.diffs.push(...sub.diffs);
  }
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
        if (u.kind === "not") {
          ctx.at("not", () => {
            const sub = ctx.sub();
            // Reversed: `not` narrows what it accepts when what it rejects grows.
            compare(sub, u.mustNotMatch, o.mustNotMatch);
            ctx.add(sub.compatible() ? "NOT_TYPE_NARROWED" : "NOT_TYPE_EXTENDED");
          });
        }
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

/** Adds `<name>_ADDED/_REMOVED/_INCREASED/_DECREASED` for a numeric limit. */
function limit(ctx: Context, attr: string, name: string, o: number | undefined, u: number | undefined): void {
  if (o === u) return;
  if (o === undefined) ctx.add(`${name}_ADDED`, attr);
  else if (u === undefined) ctx.add(`${name}_REMOVED`, attr);
  else if (o < u) ctx.add(`${name}_INCREASED`, attr);
  else if (o > u) ctx.add(`${name}_DECREASED`, attr);
}

function compareString(
  ctx: Context,
  o: { minLength?: number; maxLength?: number; pattern?: string },
  u: { minLength?: number; maxLength?: number; pattern?: string },
): void {
  limit(ctx, "maxLength", "MAX_LENGTH", o.maxLength, u.maxLength);
  limit(ctx, "minLength", "MIN_LENGTH", o.minLength, u.minLength);
  if (o.pattern === undefined && u.pattern !== undefined) ctx.add("PATTERN_ADDED", "pattern");
  else if (o.pattern !== undefined && u.pattern === undefined) ctx.add("PATTERN_REMOVED", "pattern");
  else if (o.pattern !== u.pattern) ctx.add("PATTERN_CHANGED", "pattern");
}

function compareNumber(ctx: Context, o: Schema & { kind: "number" }, u: Schema & { kind: "number" }): void {
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

function compareEnum(ctx: Context, o: JsonValue[], u: JsonValue[]): void {
  const os = new Set(o.map(canonicalJson));
  const us = new Set(u.map(canonicalJson));
  const same = os.size === us.size && [...os].every((v) => us.has(v));
  if (same) return;
  if ([...os].every((v) => us.has(v))) ctx.add("ENUM_ARRAY_EXTENDED", "enum");
  else if ([...us].every((v) => os.has(v))) ctx.add("ENUM_ARRAY_NARROWED", "enum");
  else ctx.add("ENUM_ARRAY_CHANGED", "enum");
}

function compareCombined(
  ctx: Context,
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
        compare(sub, oi, uj);
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

function isOpen(s: ObjectSchema): boolean {
  return s.patternProperties.length === 0 && s.additional === undefined && s.permitsAdditional;
}

function fromPartial(s: ObjectSchema, key: string): Schema | undefined {
  for (const [re, schema] of s.patternProperties) if (re.test(key)) return schema;
  return s.additional;
}

function compareObject(ctx: Context, o: ObjectSchema, u: ObjectSchema): void {
  ctx.at("required", () => {
    for (const key of o.properties.keys()) {
      if (!u.properties.has(key)) continue;
      ctx.at(key, () => {
        const or = o.required.includes(key);
        const ur = u.required.includes(key);
        if (or && !ur) ctx.add("REQUIRED_ATTRIBUTE_REMOVED");
        else if (!or && ur)
          ctx.add(
            deref(u.properties.get(key)!).hasDefault || u.properties.get(key)!.hasDefault
              ? "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED"
              : "REQUIRED_ATTRIBUTE_ADDED",
          );
      });
    }
  });
  ctx.at("properties", () => {
    for (const key of new Set([...o.properties.keys(), ...u.properties.keys()])) {
      ctx.at(key, () => {
        const os = o.properties.get(key);
        const us = u.properties.get(key);
        if (!us) {
          // Only the update's content model matters: a property may go where the update is open.
          if (isOpen(u)) return ctx.add("PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL");
          const partial = fromPartial(u, key);
          if (partial) {
            const sub = ctx.sub();
            compare(sub, os, partial);
            ctx.diffs.push(...sub.diffs);
            ctx.add(
              sub.compatible()
                ? "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                : "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
            );
          } else {
            ctx.add(
              deref(os!).kind === "false"
                ? "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL"
                : "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
            );
          }
        } else if (!os) {
          const required = u.required.includes(key);
          const withDefault = us.hasDefault || deref(us).hasDefault;
          // Only the original's content model matters: a property may come where the original was closed.
          if (isOpen(o)) {
            if (deref(us).kind === "empty") ctx.add("PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL");
            else if (required)
              ctx.add(
                withDefault
                  ? "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL"
                  : "REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
              );
            else ctx.add("OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL");
            return;
          }
          const partial = fromPartial(o, key);
          if (partial) {
            const sub = ctx.sub();
            compare(sub, partial, us);
            ctx.diffs.push(...sub.diffs);
            ctx.add(
              sub.compatible()
                ? "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                : "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
            );
          }
          if (required)
            ctx.add(
              withDefault
                ? "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL"
                : "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
            );
          else ctx.add("OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL");
        } else compare(ctx, os, us);
      });
    }
  });
  ctx.at("dependencies", () => {
    for (const key of new Set([...o.propertyDependencies.keys(), ...u.propertyDependencies.keys()])) {
      ctx.at(key, () => {
        const od = o.propertyDependencies.get(key);
        const ud = u.propertyDependencies.get(key);
        if (!ud) ctx.add("DEPENDENCY_ARRAY_REMOVED");
        else if (!od) ctx.add("DEPENDENCY_ARRAY_ADDED");
        else {
          const os = new Set(od);
          const us = new Set(ud);
          if (os.size === us.size && [...os].every((x) => us.has(x))) return;
          if ([...os].every((x) => us.has(x))) ctx.add("DEPENDENCY_ARRAY_EXTENDED");
          else if ([...us].every((x) => os.has(x))) ctx.add("DEPENDENCY_ARRAY_NARROWED");
          else ctx.add("DEPENDENCY_ARRAY_CHANGED");
        }
      });
    }
    for (const key of new Set([...o.schemaDependencies.keys(), ...u.schemaDependencies.keys()])) {
      ctx.at(key, () => {
        const os = o.schemaDependencies.get(key);
        const us = u.schemaDependencies.get(key);
        if (!us) ctx.add("DEPENDENCY_SCHEMA_REMOVED");
        else if (!os) ctx.add("DEPENDENCY_SCHEMA_ADDED");
        else compare(ctx, os, us);
      });
    }
  });
  ctx.at("additionalProperties", () => {
    if (o.permitsAdditional !== u.permitsAdditional)
      ctx.add(u.permitsAdditional ? "ADDITIONAL_PROPERTIES_ADDED" : "ADDITIONAL_PROPERTIES_REMOVED");
    else if (!o.additional && u.additional) ctx.add("ADDITIONAL_PROPERTIES_NARROWED");
    else if (o.additional && !u.additional) ctx.add("ADDITIONAL_PROPERTIES_EXTENDED");
    else compare(ctx, o.additional, u.additional);
  });
  limit(ctx, "maxProperties", "MAX_PROPERTIES", o.maxProperties, u.maxProperties);
  limit(ctx, "minProperties", "MIN_PROPERTIES", o.minProperties, u.minProperties);
}

function arrayOpen(s: ArraySchema): boolean {
  if (!s.permitsAdditionalItems || s.additionalItems) return false;
  return !s.unevaluatedItems || deref(s.unevaluatedItems).kind === "empty";
}

function arrayPartial(s: ArraySchema): Schema | undefined {
  if (s.additionalItems) return s.additionalItems;
  if (
    s.permitsAdditionalItems &&
    s.unevaluatedItems &&
    !["empty", "false"].includes(deref(s.unevaluatedItems).kind)
  )
    return s.unevaluatedItems;
  return undefined;
}

function compareArray(ctx: Context, o: ArraySchema, u: ArraySchema): void {
  ctx.at("items", () => compare(ctx, o.allItems, u.allItems));
  const oi = o.itemSchemas ?? [];
  const ui = u.itemSchemas ?? [];
  for (let i = 0; i < Math.max(oi.length, ui.length); i++) {
    ctx.at(`items/${i}`, () => {
      if (i < oi.length && i < ui.length) return compare(ctx, oi[i], ui[i]);
      if (i < oi.length) {
        if (arrayOpen(u)) return ctx.add("ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL");
        const partial = arrayPartial(u);
        if (partial) {
          const sub = ctx.sub();
          compare(sub, oi[i], partial);
          ctx.diffs.push(...sub.diffs);
          return ctx.add(
            sub.compatible()
              ? "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
              : "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
          );
        }
        return ctx.add(
          deref(oi[i]!).kind === "false"
            ? "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL"
            : "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        );
      }
      if (arrayOpen(o))
        return ctx.add(
          deref(ui[i]!).kind === "empty"
            ? "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL"
            : "ITEM_ADDED_TO_OPEN_CONTENT_MODEL",
        );
      const partial = arrayPartial(o);
      if (partial) {
        const sub = ctx.sub();
        compare(sub, partial, ui[i]);
        ctx.diffs.push(...sub.diffs);
        return ctx.add(
          sub.compatible()
            ? "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
            : "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        );
      }
      ctx.add("ITEM_ADDED_TO_CLOSED_CONTENT_MODEL");
    });
  }
  ctx.at("additionalItems", () => {
    if (o.permitsAdditionalItems !== u.permitsAdditionalItems)
      ctx.add(o.permitsAdditionalItems ? "ADDITIONAL_ITEMS_REMOVED" : "ADDITIONAL_ITEMS_ADDED");
    else if (!o.additionalItems && u.additionalItems) ctx.add("ADDITIONAL_ITEMS_NARROWED");
    else if (o.additionalItems && !u.additionalItems) ctx.add("ADDITIONAL_ITEMS_EXTENDED");
    else compare(ctx, o.additionalItems, u.additionalItems);
  });
  limit(ctx, "maxItems", "MAX_ITEMS", o.maxItems, u.maxItems);
  limit(ctx, "minItems", "MIN_ITEMS", o.minItems, u.minItems);
  if (o.uniqueItems !== u.uniqueItems)
    ctx.add(o.uniqueItems ? "UNIQUE_ITEMS_REMOVED" : "UNIQUE_ITEMS_ADDED", "uniqueItems");
  limit(ctx, "maxContains", "MAX_CONTAINS", o.maxContains, u.maxContains);
  limit(ctx, "minContains", "MIN_CONTAINS", o.minContains, u.minContains);
}

const GROUPS: [string, string[]][] = [
  [
    "The keyword at path '{p}' in the %s schema is not present in the %s schema",
    [
      "MAXIMUM_ADDED",
      "MINIMUM_ADDED",
      "EXCLUSIVE_MAXIMUM_ADDED",
      "EXCLUSIVE_MINIMUM_ADDED",
      "MULTIPLE_OF_ADDED",
      "MAX_LENGTH_ADDED",
      "MIN_LENGTH_ADDED",
      "PATTERN_ADDED",
      "REQUIRED_ATTRIBUTE_ADDED",
      "MAX_PROPERTIES_ADDED",
      "MIN_PROPERTIES_ADDED",
      "DEPENDENCY_ARRAY_ADDED",
      "DEPENDENCY_SCHEMA_ADDED",
      "MAX_ITEMS_ADDED",
      "MIN_ITEMS_ADDED",
      "MAX_CONTAINS_ADDED",
      "MIN_CONTAINS_ADDED",
      "UNIQUE_ITEMS_ADDED",
      "ADDITIONAL_ITEMS_REMOVED",
      "ADDITIONAL_PROPERTIES_REMOVED",
    ],
  ],
  [
    "The value at path '{p}' in the %s schema is more than its value in the %s schema",
    [
      "MIN_LENGTH_INCREASED",
      "MINIMUM_INCREASED",
      "EXCLUSIVE_MINIMUM_INCREASED",
      "MIN_PROPERTIES_INCREASED",
      "MULTIPLE_OF_EXPANDED",
      "MIN_ITEMS_INCREASED",
      "MIN_CONTAINS_INCREASED",
    ],
  ],
  [
    "The value at path '{p}' in the %s schema is less than its value in the %s schema",
    [
      "MAX_LENGTH_DECREASED",
      "MAXIMUM_DECREASED",
      "MAX_ITEMS_DECREASED",
      "MAX_CONTAINS_DECREASED",
      "EXCLUSIVE_MAXIMUM_DECREASED",
      "MAX_PROPERTIES_DECREASED",
    ],
  ],
  [
    "The value at path '{p}' is different between the %s and %s schema",
    ["PATTERN_CHANGED", "MULTIPLE_OF_CHANGED", "DEPENDENCY_ARRAY_CHANGED"],
  ],
  [
    "An array or combined type at path '{p}' has fewer elements in the %s schema than the %s schema",
    [
      "ADDITIONAL_ITEMS_NARROWED",
      "ENUM_ARRAY_NARROWED",
      "SUM_TYPE_NARROWED",
      "ADDITIONAL_PROPERTIES_NARROWED",
    ],
  ],
  [
    "An array or combined type at path '{p}' has more elements in the %s schema than the %s schema",
    ["DEPENDENCY_ARRAY_EXTENDED", "PRODUCT_TYPE_EXTENDED", "SUM_TYPE_EXTENDED", "NOT_TYPE_EXTENDED"],
  ],
  [
    "A type at path '{p}' is different between the %s schema and the %s schema",
    [
      "TYPE_CHANGED",
      "TYPE_NARROWED",
      "COMBINED_TYPE_CHANGED",
      "COMBINED_TYPE_SUBSCHEMAS_CHANGED",
      "ENUM_ARRAY_CHANGED",
    ],
  ],
  [
    "The %s schema has an open content model and has a property or item at path '{p}' which is missing in the %s schema",
    [
      "REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
      "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL",
      "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
      "ITEM_ADDED_TO_OPEN_CONTENT_MODEL",
    ],
  ],
  [
    "The %s schema has an unopen content model and has a required property at path '{p}' which is missing in the %s schema",
    ["REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"],
  ],
  [
    "The %s schema has a closed content model and is missing a property or item present at path '{p}' in the %s schema",
    ["PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL"],
  ],
  [
    "A property or item is missing in the %s schema but present at path '{p}' in the %s schema and is not covered by its partially open content model",
    [
      "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
      "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    ],
  ],
  [
    "The %s schema has a property or item at path '{p}' which is missing in the %s schema and is not covered by its partially open content model",
    [
      "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
      "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    ],
  ],
];

/** Confluent's Difference.toString for JSON Schema, `%s` left for the reader and writer labels. */
export function describe(d: Difference): string {
  const text = GROUPS.find(([, types]) => types.includes(d.type))?.[0] ?? "";
  return `{errorType:"${d.type}", description:"${text.replace("{p}", d.path)}"}`;
}

/** Confluent's JsonSchema.isBackwardCompatible: can `reader` read what `writer` wrote? */
export function jsonBackward(reader: Schema, writer: Schema): string[] {
  return diffJson(writer, reader)
    .filter((d) => !COMPATIBLE_CHANGES.has(d.type))
    .map(describe);
}
