// Owns the Avro schema model and its parser: JSON text → a graph of named and anonymous types, with
// named types resolved (also across schema references) so recursion becomes a cycle in the graph.
// Pure: no I/O. Errors are AvroSchemaError with a message a user can act on.

export type Primitive = "null" | "boolean" | "int" | "long" | "float" | "double" | "bytes" | "string";
export const PRIMITIVES: readonly Primitive[] = [
  "null",
  "boolean",
  "int",
  "long",
  "float",
  "double",
  "bytes",
  "string",
];

/** Attributes other than the ones the grammar defines (logicalType, precision, custom props...). */
export type Props = Record<string, unknown>;

export interface PrimitiveSchema {
  kind: Primitive;
  props: Props;
}
export interface Field {
  name: string;
  type: AvroSchema;
  hasDefault: boolean;
  default?: unknown;
  aliases: string[];
  order?: string;
  doc?: string;
  pos: number;
  props: Props;
}
export interface RecordSchema {
  kind: "record";
  error: boolean;
  name: string; // full name
  aliases: string[]; // full names
  fields: Field[];
  doc?: string;
  props: Props;
}
export interface EnumSchema {
  kind: "enum";
  name: string;
  aliases: string[];
  symbols: string[];
  default?: string;
  doc?: string;
  props: Props;
}
export interface FixedSchema {
  kind: "fixed";
  name: string;
  aliases: string[];
  size: number;
  doc?: string;
  props: Props;
}
export interface ArraySchema {
  kind: "array";
  items: AvroSchema;
  props: Props;
}
export interface MapSchema {
  kind: "map";
  values: AvroSchema;
  props: Props;
}
export interface UnionSchema {
  kind: "union";
  types: AvroSchema[];
}
export type NamedSchema = RecordSchema | EnumSchema | FixedSchema;
export type AvroSchema = PrimitiveSchema | NamedSchema | ArraySchema | MapSchema | UnionSchema;

export class AvroSchemaError extends Error {
  override name = "AvroSchemaError";
}

/** Named types known before parsing starts (from schema references), by full name. */
export type NamedTypes = Map<string, NamedSchema>;

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

function fullName(name: string, namespace: string | undefined): string {
  if (name.includes(".")) return name;
  return namespace ? `${namespace}.${name}` : name;
}

function checkFullName(full: string): void {
  for (const part of full.split(".")) {
    if (!NAME_RE.test(part)) throw new AvroSchemaError(`invalid Avro name "${full}"`);
  }
}

function spaceOf(full: string): string | undefined {
  const i = full.lastIndexOf(".");
  return i < 0 ? undefined : full.slice(0, i);
}

// Avro's Java parser (Schema.SCHEMA_RESERVED, ENUM_RESERVED, FIELD_RESERVED): these attributes are never kept
// as properties, whatever the type, so `{"type":"int","name":"x","doc":"d"}` is plain "int" (as in Confluent).
const SCHEMA_RESERVED = [
  "doc",
  "fields",
  "items",
  "name",
  "namespace",
  "size",
  "symbols",
  "values",
  "type",
  "aliases",
] as const;
const ENUM_RESERVED = [...SCHEMA_RESERVED, "default"] as const;
const FIELD_RESERVED = ["default", "doc", "name", "order", "type", "aliases"] as const;

function extraProps(obj: Record<string, unknown>, known: readonly string[]): Props {
  const props: Props = {};
  for (const [k, v] of Object.entries(obj)) if (!known.includes(k)) props[k] = v;
  return props;
}

function stringList(v: unknown, what: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) {
    throw new AvroSchemaError(`${what} must be an array of strings`);
  }
  return v as string[];
}

/** Parses schema text. `known` holds named types from references; new named types are added to it. */
export function parseSchema(text: string, known: NamedTypes = new Map()): AvroSchema {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    // Avro accepts a bare primitive name as a schema, e.g. `string`.
    if (/^[a-z]+$/.test(text.trim())) json = text.trim();
    else throw new AvroSchemaError(`schema is not valid JSON: ${(e as Error).message}`);
  }
  return parseJson(json, known);
}

export function parseJson(json: unknown, known: NamedTypes = new Map()): AvroSchema {
  return new Parser(known).parse(json, undefined);
}

class Parser {
  readonly names: NamedTypes;
  constructor(names: NamedTypes) {
    this.names = names;
  }

  parse(json: unknown, namespace: string | undefined): AvroSchema {
    if (typeof json === "string") return this.reference(json, namespace, {});
    if (Array.isArray(json)) return this.union(json, namespace);
    if (json === null || typeof json !== "object") {
      throw new AvroSchemaError(`not an Avro schema: ${JSON.stringify(json)}`);
    }
    const obj = json as Record<string, unknown>;
    const type = obj.type;
    if (type === "record" || type === "error") return this.record(obj, namespace);
    if (type === "enum") return this.enumType(obj, namespace);
    if (type === "fixed") return this.fixed(obj, namespace);
    if (type === "array") {
      if (obj.items === undefined) throw new AvroSchemaError("array schema needs items");
      return {
        kind: "array",
        items: this.parse(obj.items, namespace),
        props: extraProps(obj, SCHEMA_RESERVED),
      };
    }
    if (type === "map") {
      if (obj.values === undefined) throw new AvroSchemaError("map schema needs values");
      return {
        kind: "map",
        values: this.parse(obj.values, namespace),
        props: extraProps(obj, SCHEMA_RESERVED),
      };
    }
    if (typeof type === "string") return this.reference(type, namespace, extraProps(obj, SCHEMA_RESERVED));
    if (type !== undefined && typeof type === "object") {
      // {"type": {...}} nests a full schema; Avro's Java parser accepts it.
      return this.parse(type, namespace);
    }
    throw new AvroSchemaError(`schema object has no valid "type": ${JSON.stringify(json)}`);
  }

  private reference(name: string, namespace: string | undefined, props: Props): AvroSchema {
    if ((PRIMITIVES as readonly string[]).includes(name)) return { kind: name as Primitive, props };
    const found = this.names.get(fullName(name, namespace)) ?? this.names.get(name);
    if (!found)
      throw new AvroSchemaError(`undefined name: "${name}" (declare it first or add a schema reference)`);
    return found;
  }

  private union(json: unknown[], namespace: string | undefined): UnionSchema {
    const types = json.map((j) => this.parse(j, namespace));
    const seen = new Set<string>();
    for (const t of types) {
      if (t.kind === "union") throw new AvroSchemaError("unions may not immediately contain other unions");
      const key = "name" in t ? t.name : t.kind;
      if (seen.has(key)) throw new AvroSchemaError(`duplicate in union: ${key}`);
      seen.add(key);
    }
    return { kind: "union", types };
  }

  private named(
    obj: Record<string, unknown>,
    namespace: string | undefined,
  ): { name: string; aliases: string[] } {
    if (typeof obj.name !== "string")
      throw new AvroSchemaError(`named type needs a "name": ${JSON.stringify(obj)}`);
    const ns = typeof obj.namespace === "string" ? obj.namespace || undefined : namespace;
    const name = fullName(obj.name, ns);
    checkFullName(name);
    if ((PRIMITIVES as readonly string[]).includes(name))
      throw new AvroSchemaError(`cannot redefine ${name}`);
    if (this.names.has(name)) throw new AvroSchemaError(`can't redefine: ${name}`);
    const own = spaceOf(name);
    const aliases = stringList(obj.aliases, "aliases").map((a) => fullName(a, own));
    return { name, aliases };
  }

  private record(obj: Record<string, unknown>, namespace: string | undefined): RecordSchema {
    const { name, aliases } = this.named(obj, namespace);
    const rec: RecordSchema = {
      kind: "record",
      error: obj.type === "error",
      name,
      aliases,
      fields: [],
      props: extraProps(obj, SCHEMA_RESERVED),
    };
    if (typeof obj.doc === "string") rec.doc = obj.doc;
    this.names.set(name, rec);
    if (!Array.isArray(obj.fields)) throw new AvroSchemaError(`record ${name} needs a "fields" array`);
    const ns = spaceOf(name);
    const seen = new Set<string>();
    obj.fields.forEach((f: unknown, pos) => {
      if (f === null || typeof f !== "object")
        throw new AvroSchemaError(`record ${name}: field is not an object`);
      const fo = f as Record<string, unknown>;
      if (typeof fo.name !== "string" || !NAME_RE.test(fo.name)) {
        throw new AvroSchemaError(`record ${name}: invalid field name ${JSON.stringify(fo.name)}`);
      }
      if (seen.has(fo.name)) throw new AvroSchemaError(`record ${name}: duplicate field ${fo.name}`);
      seen.add(fo.name);
      if (fo.type === undefined) throw new AvroSchemaError(`record ${name}: field ${fo.name} has no type`);
      const type = this.parse(fo.type, ns);
      const field: Field = {
        name: fo.name,
        type,
        hasDefault: "default" in fo,
        aliases: stringList(fo.aliases, `field ${fo.name} aliases`),
        pos,
        props: extraProps(fo, FIELD_RESERVED),
      };
      if ("default" in fo) {
        field.default = fo.default;
        const problem = defaultProblem(type, fo.default);
        if (problem)
          throw new AvroSchemaError(`record ${name}: invalid default for field ${fo.name}: ${problem}`);
      }
      if (typeof fo.order === "string") {
        if (!["ascending", "descending", "ignore"].includes(fo.order)) {
          throw new AvroSchemaError(`field ${fo.name}: order must be ascending, descending or ignore`);
        }
        field.order = fo.order;
      }
      if (typeof fo.doc === "string") field.doc = fo.doc;
      rec.fields.push(field);
    });
    return rec;
  }

  private enumType(obj: Record<string, unknown>, namespace: string | undefined): EnumSchema {
    const { name, aliases } = this.named(obj, namespace);
    const symbols = stringList(obj.symbols, `enum ${name} symbols`);
    if (obj.symbols === undefined) throw new AvroSchemaError(`enum ${name} needs "symbols"`);
    if (new Set(symbols).size !== symbols.length) throw new AvroSchemaError(`enum ${name}: duplicate symbol`);
    for (const s of symbols)
      if (!NAME_RE.test(s)) throw new AvroSchemaError(`enum ${name}: invalid symbol ${s}`);
    const e: EnumSchema = {
      kind: "enum",
      name,
      aliases,
      symbols,
      props: extraProps(obj, ENUM_RESERVED),
    };
    if (obj.default !== undefined) {
      if (typeof obj.default !== "string" || !symbols.includes(obj.default)) {
        throw new AvroSchemaError(
          `enum ${name}: default ${JSON.stringify(obj.default)} is not one of its symbols`,
        );
      }
      e.default = obj.default;
    }
    if (typeof obj.doc === "string") e.doc = obj.doc;
    this.names.set(name, e);
    return e;
  }

  private fixed(obj: Record<string, unknown>, namespace: string | undefined): FixedSchema {
    const { name, aliases } = this.named(obj, namespace);
    if (typeof obj.size !== "number" || !Number.isInteger(obj.size) || obj.size < 0) {
      throw new AvroSchemaError(`fixed ${name} needs a non-negative integer "size"`);
    }
    const f: FixedSchema = {
      kind: "fixed",
      name,
      aliases,
      size: obj.size,
      props: extraProps(obj, SCHEMA_RESERVED),
    };
    if (typeof obj.doc === "string") f.doc = obj.doc;
    this.names.set(name, f);
    return f;
  }
}

/** Why `value` is not a valid JSON default for `schema` (a union's default matches its first branch). */
export function defaultProblem(schema: AvroSchema, value: unknown, depth = 0): string | undefined {
  if (depth > 64) return undefined;
  const bad = `${JSON.stringify(value)} is not a valid ${schema.kind}`;
  switch (schema.kind) {
    case "null":
      return value === null ? undefined : bad;
    case "boolean":
      return typeof value === "boolean" ? undefined : bad;
    case "int":
    case "long":
      return typeof value === "number" && Number.isInteger(value) ? undefined : bad;
    case "float":
    case "double":
      return typeof value === "number" || value === "NaN" || value === "Infinity" || value === "-Infinity"
        ? undefined
        : bad;
    case "bytes":
    case "string":
    case "fixed":
      return typeof value === "string" ? undefined : bad;
    case "enum":
      return typeof value === "string" && schema.symbols.includes(value) ? undefined : bad;
    case "array":
      if (!Array.isArray(value)) return bad;
      for (const v of value) {
        const p = defaultProblem(schema.items, v, depth + 1);
        if (p) return p;
      }
      return undefined;
    case "map":
      if (value === null || typeof value !== "object" || Array.isArray(value)) return bad;
      for (const v of Object.values(value)) {
        const p = defaultProblem(schema.values, v, depth + 1);
        if (p) return p;
      }
      return undefined;
    case "record": {
      if (value === null || typeof value !== "object" || Array.isArray(value)) return bad;
      const obj = value as Record<string, unknown>;
      for (const f of schema.fields) {
        if (f.name in obj) {
          const p = defaultProblem(f.type, obj[f.name], depth + 1);
          if (p) return p;
        } else if (!f.hasDefault) return `missing field ${f.name} in ${JSON.stringify(value)}`;
      }
      return undefined;
    }
    case "union":
      // The spec says the first branch; Avro's Java parser accepts a value of any branch, and so do we.
      if (schema.types.some((t) => defaultProblem(t, value, depth + 1) === undefined)) return undefined;
      return `${JSON.stringify(value)} matches no branch of the union`;
  }
}
