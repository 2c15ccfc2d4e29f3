// Owns the state of one JSON Schema diff and what the rule files share: the Difference record, Confluent's
// COMPATIBLE_CHANGES (SchemaDiff), the context that collects differences at their JSON paths and guards
// recursion, and the helpers every rule group uses (following $refs, equal values, a numeric limit's change).
// The context carries the dispatcher (diff.ts) so the rule files recurse through it without importing it.
// Pure.
import { canonicalJson } from "./canonical.ts";
import type { JsonValue, Schema } from "./model.ts";

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

/** Compares an original schema with its update into a context (diff.ts's dispatcher). */
export type CompareSchemas = (
  ctx: DiffContext,
  original: Schema | undefined,
  update: Schema | undefined,
) => void;

export class DiffContext {
  diffs: Difference[] = [];
  path: string[];
  readonly inProgress: Set<Schema>;
  readonly #compare: CompareSchemas;
  constructor(compare: CompareSchemas, path: string[] = [], inProgress = new Set<Schema>()) {
    this.#compare = compare;
    this.path = path;
    this.inProgress = inProgress;
  }
  /** A context at the same path whose differences are kept apart, to be judged before they are adopted. */
  sub(): DiffContext {
    return new DiffContext(this.#compare, [...this.path], this.inProgress);
  }
  /** Recurses: the differences between `original` and `update` go into this context. */
  compare(original: Schema | undefined, update: Schema | undefined): void {
    this.#compare(this, original, update);
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

export function deref(s: Schema): Schema {
  let x = s;
  for (let i = 0; x.kind === "ref" && i < 64; i++) x = x.target();
  return x;
}

export const sameValue = (a: JsonValue | undefined, b: JsonValue | undefined) =>
  (a === undefined && b === undefined) ||
  (a !== undefined && b !== undefined && canonicalJson(a) === canonicalJson(b));

/** Adds `<name>_ADDED/_REMOVED/_INCREASED/_DECREASED` for a numeric limit. */
export function limit(
  ctx: DiffContext,
  attr: string,
  name: string,
  o: number | undefined,
  u: number | undefined,
): void {
  if (o === u) return;
  if (o === undefined) ctx.add(`${name}_ADDED`, attr);
  else if (u === undefined) ctx.add(`${name}_REMOVED`, attr);
  else if (o < u) ctx.add(`${name}_INCREASED`, attr);
  else if (o > u) ctx.add(`${name}_DECREASED`, attr);
}
