// Owns the typed view of a JSON Schema that compatibility is computed on, as the everit loader Confluent uses
// builds it: `enum`, `const`, `allOf`/`anyOf`/`oneOf`, `not`, `if` and the type keywords each make a schema, and
// several in one object combine into a synthetic allOf; a list of types is an anyOf; without `type` the
// keywords present decide; `$ref` points at a schema of this document (JSON pointer) or of a reference (by its
// name). Title, description, `$id` and default belong to the outermost schema of an object. Pure.
export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

interface Base {
  id?: string;
  title?: string;
  description?: string;
  hasDefault: boolean;
  default?: JsonValue;
  /** The JSON the schema was loaded from (for equality of subschemas). */
  source: JsonValue;
}

export type Schema =
  | (Base & { kind: "empty"; trueLiteral: boolean })
  | (Base & { kind: "false" })
  | (Base & { kind: "ref"; target: () => Schema })
  | (Base & { kind: "enum"; values: JsonValue[] })
  | (Base & { kind: "const"; value: JsonValue })
  | (Base & { kind: "combined"; criterion: "allOf" | "anyOf" | "oneOf"; subschemas: Schema[] })
  | (Base & { kind: "not"; mustNotMatch: Schema })
  | (Base & { kind: "conditional" })
  | (Base & { kind: "boolean" })
  | (Base & { kind: "null" })
  | (Base & StringSchema)
  | (Base & NumberSchema)
  | (Base & ObjectSchema)
  | (Base & ArraySchema);

export interface StringSchema {
  kind: "string";
  minLength?: number;
  maxLength?: number;
  pattern?: string;
}

export interface NumberSchema {
  kind: "number";
  requiresInteger: boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
}

export interface ObjectSchema {
  kind: "object";
  properties: Map<string, Schema>;
  required: string[];
  permitsAdditional: boolean;
  additional?: Schema;
  patternProperties: [RegExp, Schema][];
  propertyDependencies: Map<string, string[]>;
  schemaDependencies: Map<string, Schema>;
  minProperties?: number;
  maxProperties?: number;
}

export interface ArraySchema {
  kind: "array";
  allItems?: Schema;
  itemSchemas?: Schema[];
  permitsAdditionalItems: boolean;
  additionalItems?: Schema;
  unevaluatedItems?: Schema;
  minItems?: number;
  maxItems?: number;
  uniqueItems: boolean;
  minContains?: number;
  maxContains?: number;
}

export class JsonSchemaError extends Error {
  override readonly name = "JsonSchemaError";
}

type Obj = { [k: string]: JsonValue };

const OBJECT_KEYS = [
  "properties",
  "required",
  "additionalProperties",
  "patternProperties",
  "dependencies",
  "dependentRequired",
  "dependentSchemas",
  "minProperties",
  "maxProperties",
  "propertyNames",
];
const ARRAY_KEYS = [
  "items",
  "prefixItems",
  "additionalItems",
  "minItems",
  "maxItems",
  "uniqueItems",
  "contains",
];
const STRING_KEYS = ["minLength", "maxLength", "pattern", "format"];
const NUMBER_KEYS = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"];

export interface LoadContext {
  /** Draft 2019-09 and 2020-12: `$ref` may have siblings; `prefixItems`/`items` replace the array form. */
  modern: boolean;
  /** Resolves a `$ref` (as written) seen in `doc` to the JSON it points at and the document that holds it. */
  deref(ref: string, doc: JsonValue): { json: JsonValue; doc: JsonValue };
}

const isObj = (v: JsonValue | undefined): v is Obj =>
  v !== null && typeof v === "object" && !Array.isArray(v);
const num = (v: JsonValue | undefined) => (typeof v === "number" ? v : undefined);

export function loadSchema(
  json: JsonValue,
  doc: JsonValue,
  ctx: LoadContext,
  cache = new Map<JsonValue, Schema>(),
): Schema {
  const cached = typeof json === "object" && json !== null ? cache.get(json) : undefined;
  if (cached) return cached;
  const base = (o: Obj | null): Base => {
    const b: Base = { hasDefault: false, source: json };
    if (!o) return b;
    const id = o.$id ?? o.id;
    if (typeof id === "string") b.id = id;
    if (typeof o.title === "string") b.title = o.title;
    if (typeof o.description === "string") b.description = o.description;
    if ("default" in o) {
      b.hasDefault = true;
      b.default = o.default!;
    }
    return b;
  };
  if (json === true) return { ...base(null), kind: "empty", trueLiteral: true };
  if (json === false) return { ...base(null), kind: "false" };
  if (!isObj(json))
    throw new JsonSchemaError(`a schema must be an object or a boolean, found ${JSON.stringify(json)}`);
  const o = json;
  const sub = (v: JsonValue) => loadSchema(v, doc, ctx, cache);
  if (typeof o.$ref === "string" && !ctx.modern) {
    const target = resolveRef(o.$ref, doc, ctx, cache);
    return { ...base(o), kind: "ref", target };
  }
  const parts: Schema[] = [];
  if (typeof o.$ref === "string") {
    parts.push({ hasDefault: false, source: o, kind: "ref", target: resolveRef(o.$ref, doc, ctx, cache) });
  }
  if (Array.isArray(o.enum)) parts.push({ hasDefault: false, source: o, kind: "enum", values: o.enum });
  if ("const" in o) parts.push({ hasDefault: false, source: o, kind: "const", value: o.const! });
  for (const criterion of ["allOf", "anyOf", "oneOf"] as const) {
    const list = o[criterion];
    if (Array.isArray(list))
      parts.push({ hasDefault: false, source: o, kind: "combined", criterion, subschemas: list.map(sub) });
  }
  if (o.not !== undefined)
    parts.push({ hasDefault: false, source: o, kind: "not", mustNotMatch: sub(o.not) });
  if (o.if !== undefined) parts.push({ hasDefault: false, source: o, kind: "conditional" });
  const typed = typeBased(o, sub, ctx);
  if (typed) parts.push(typed);
  let out: Schema;
  if (parts.length === 0) out = { ...base(o), kind: "empty", trueLiteral: false };
  else if (parts.length === 1) out = { ...parts[0]!, ...base(o) };
  else out = { ...base(o), kind: "combined", criterion: "allOf", subschemas: parts };
  cache.set(json, out);
  return out;
}

function resolveRef(
  ref: string,
  doc: JsonValue,
  ctx: LoadContext,
  cache: Map<JsonValue, Schema>,
): () => Schema {
  const found = ctx.deref(ref, doc);
  let s: Schema | undefined;
  // Lazy: recursive schemas refer to themselves.
  return () => (s ??= loadSchema(found.json, found.doc, ctx, cache));
}

function typeBased(o: Obj, sub: (v: JsonValue) => Schema, ctx: LoadContext): Schema | undefined {
  const build = (type: string, explicit: boolean): Schema | undefined => {
    const b = { hasDefault: false, source: o as JsonValue };
    switch (type) {
      case "string": {
        const s: Base & StringSchema = { ...b, kind: "string" };
        const min = num(o.minLength);
        const max = num(o.maxLength);
        if (min !== undefined) s.minLength = min;
        if (max !== undefined) s.maxLength = max;
        if (typeof o.pattern === "string") s.pattern = o.pattern;
        return s;
      }
      case "number":
      case "integer": {
        const n: Base & NumberSchema = { ...b, kind: "number", requiresInteger: type === "integer" };
        for (const k of ["minimum", "maximum", "multipleOf"] as const) {
          const v = num(o[k]);
          if (v !== undefined) n[k] = v;
        }
        // Draft 4's boolean exclusive limits bound the minimum/maximum; draft 6+ give the limit itself.
        const exMin = num(o.exclusiveMinimum);
        const exMax = num(o.exclusiveMaximum);
        if (exMin !== undefined) n.exclusiveMinimum = exMin;
        if (exMax !== undefined) n.exclusiveMaximum = exMax;
        return n;
      }
      case "boolean":
        return { ...b, kind: "boolean" };
      case "null":
        return { ...b, kind: "null" };
      case "object":
        return objectSchema(o, b, sub);
      case "array":
        return arraySchema(o, b, sub, ctx);
      default:
        if (explicit) throw new JsonSchemaError(`unknown type ${JSON.stringify(type)}`);
        return undefined;
    }
  };
  if (typeof o.type === "string") return build(o.type, true);
  if (Array.isArray(o.type)) {
    const subs = o.type.map((t) => build(JSON.stringify(t).replace(/^"|"$/g, ""), true)!);
    return subs.length === 1
      ? subs[0]
      : { hasDefault: false, source: o, kind: "combined", criterion: "anyOf", subschemas: subs };
  }
  const implied: Schema[] = [];
  const has = (keys: string[]) => keys.some((k) => k in o);
  if (has(ARRAY_KEYS)) implied.push(build("array", false)!);
  if (has(OBJECT_KEYS)) implied.push(build("object", false)!);
  if (has(NUMBER_KEYS)) implied.push(build("number", false)!);
  if (has(STRING_KEYS)) implied.push(build("string", false)!);
  if (implied.length === 0) return undefined;
  return implied.length === 1
    ? implied[0]
    : { hasDefault: false, source: o, kind: "combined", criterion: "allOf", subschemas: implied };
}

function objectSchema(
  o: Obj,
  b: { hasDefault: boolean; source: JsonValue },
  sub: (v: JsonValue) => Schema,
): Schema {
  const properties = new Map<string, Schema>();
  if (isObj(o.properties)) for (const [k, v] of Object.entries(o.properties)) properties.set(k, sub(v));
  const patternProperties: [RegExp, Schema][] = [];
  if (isObj(o.patternProperties)) {
    for (const [k, v] of Object.entries(o.patternProperties)) {
      let re: RegExp;
      try {
        re = new RegExp(k, "u");
      } catch {
        throw new JsonSchemaError(`invalid patternProperties regular expression ${JSON.stringify(k)}`);
      }
      patternProperties.push([re, sub(v)]);
    }
  }
  const propertyDependencies = new Map<string, string[]>();
  const schemaDependencies = new Map<string, Schema>();
  const deps = {
    ...(isObj(o.dependencies) ? o.dependencies : {}),
    ...(isObj(o.dependentRequired) ? o.dependentRequired : {}),
  };
  for (const [k, v] of Object.entries(deps)) {
    if (Array.isArray(v)) propertyDependencies.set(k, v.map(String));
    else schemaDependencies.set(k, sub(v));
  }
  if (isObj(o.dependentSchemas))
    for (const [k, v] of Object.entries(o.dependentSchemas)) schemaDependencies.set(k, sub(v));
  const s: Base & ObjectSchema = {
    ...b,
    kind: "object",
    properties,
    required: Array.isArray(o.required) ? o.required.map(String) : [],
    permitsAdditional: o.additionalProperties !== false,
    patternProperties,
    propertyDependencies,
    schemaDependencies,
  };
  if (o.additionalProperties !== undefined && typeof o.additionalProperties !== "boolean")
    s.additional = sub(o.additionalProperties);
  const min = num(o.minProperties);
  const max = num(o.maxProperties);
  if (min !== undefined) s.minProperties = min;
  if (max !== undefined) s.maxProperties = max;
  return s;
}

function arraySchema(
  o: Obj,
  b: { hasDefault: boolean; source: JsonValue },
  sub: (v: JsonValue) => Schema,
  ctx: LoadContext,
): Schema {
  const s: Base & ArraySchema = {
    ...b,
    kind: "array",
    permitsAdditionalItems: true,
    uniqueItems: o.uniqueItems === true,
  };
  // 2020-12: prefixItems is the tuple and items the rest; before: items is an array (tuple) or one schema.
  const tuple =
    ctx.modern && Array.isArray(o.prefixItems) ? o.prefixItems : Array.isArray(o.items) ? o.items : undefined;
  if (tuple) {
    s.itemSchemas = tuple.map(sub);
    const rest = ctx.modern && Array.isArray(o.prefixItems) ? o.items : o.additionalItems;
    if (rest === false) s.permitsAdditionalItems = false;
    else if (rest !== undefined && rest !== true) s.additionalItems = sub(rest);
  } else if (o.items !== undefined) s.allItems = sub(o.items);
  if (o.unevaluatedItems !== undefined) s.unevaluatedItems = sub(o.unevaluatedItems);
  for (const k of ["minItems", "maxItems", "minContains", "maxContains"] as const) {
    const v = num(o[k]);
    if (v !== undefined) s[k] = v;
  }
  return s;
}
