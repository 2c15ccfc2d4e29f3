// Owns the schema text Confluent stores and serves: Apache Avro's Java `Schema.toString()` (what
// AvroSchema.canonicalString() returns, written into `_schemas` at registration and answered by
// GET /schemas/ids/{id}). Attributes in Avro's order (type, name, namespace, doc, fields|symbols|size|items|
// values, default, props in the order given, aliases), no whitespace, a namespace written only where it
// differs from the enclosing one, named types written once and then by name (relative to the enclosing
// namespace), types that came from references always by name. Pure.
import type { AvroSchema, Field, NamedSchema, Props } from "./schema.ts";

/** Avro's Schema.Type names: a named type called so keeps its namespace when written by name. */
const TYPE_NAMES = new Set([
  "record",
  "enum",
  "array",
  "map",
  "union",
  "fixed",
  "string",
  "bytes",
  "int",
  "long",
  "float",
  "double",
  "boolean",
  "null",
]);

function split(full: string): { space: string | undefined; name: string } {
  const i = full.lastIndexOf(".");
  return i < 0 ? { space: undefined, name: full } : { space: full.slice(0, i), name: full.slice(i + 1) };
}

/** Avro's Name.getQualified: the short name inside its own namespace, unless it reads as a type name. */
function qualified(full: string, current: string | undefined): string {
  const { space, name } = split(full);
  return space !== undefined && space === current && !TYPE_NAMES.has(name) ? name : full;
}

const str = (s: string): string => JSON.stringify(s);

function props(p: Props): string {
  let out = "";
  for (const [k, v] of Object.entries(p)) out += `,${str(k)}:${JSON.stringify(v) ?? "null"}`;
  return out;
}

/** `schema` as Avro's Java `Schema.toString()` writes it; `predefined` names come from references. */
export function javaSchemaText(schema: AvroSchema, predefined: ReadonlySet<string> = new Set()): string {
  const known = new Set(predefined);
  return write(schema, known, undefined);
}

function nameAttrs(s: NamedSchema, current: string | undefined): string {
  const { space, name } = split(s.name);
  let out = `,"name":${str(name)}`;
  if (space !== undefined) {
    if (space !== current) out += `,"namespace":${str(space)}`;
  } else if (current !== undefined) {
    out += `,"namespace":""`; // a name in no namespace inside one
  }
  return out;
}

function aliases(s: NamedSchema): string {
  if (s.aliases.length === 0) return "";
  const own = split(s.name).space;
  return `,"aliases":[${s.aliases.map((a) => str(qualified(a, own))).join(",")}]`;
}

function field(f: Field, known: Set<string>, current: string | undefined): string {
  let out = `{"name":${str(f.name)},"type":${write(f.type, known, current)}`;
  if (f.doc !== undefined) out += `,"doc":${str(f.doc)}`;
  if (f.hasDefault) out += `,"default":${JSON.stringify(f.default) ?? "null"}`;
  if (f.order !== undefined && f.order !== "ascending") out += `,"order":${str(f.order)}`;
  if (f.aliases.length > 0) out += `,"aliases":[${f.aliases.map(str).join(",")}]`;
  return `${out}${props(f.props)}}`;
}

function write(s: AvroSchema, known: Set<string>, current: string | undefined): string {
  switch (s.kind) {
    case "union":
      return `[${s.types.map((t) => write(t, known, current)).join(",")}]`;
    case "array":
      return `{"type":"array","items":${write(s.items, known, current)}${props(s.props)}}`;
    case "map":
      return `{"type":"map","values":${write(s.values, known, current)}${props(s.props)}}`;
    case "record":
    case "enum":
    case "fixed": {
      if (known.has(s.name)) return str(qualified(s.name, current));
      known.add(s.name);
      const doc = s.doc !== undefined ? `,"doc":${str(s.doc)}` : "";
      if (s.kind === "record") {
        const inner = split(s.name).space;
        const fields = s.fields.map((f) => field(f, known, inner)).join(",");
        const type = s.error ? "error" : "record";
        return `{"type":"${type}"${nameAttrs(s, current)}${doc},"fields":[${fields}]${props(s.props)}${aliases(s)}}`;
      }
      if (s.kind === "enum") {
        const def = s.default !== undefined ? `,"default":${str(s.default)}` : "";
        return `{"type":"enum"${nameAttrs(s, current)}${doc},"symbols":[${s.symbols.map(str).join(",")}]${def}${props(s.props)}${aliases(s)}}`;
      }
      return `{"type":"fixed"${nameAttrs(s, current)}${doc},"size":${s.size}${props(s.props)}${aliases(s)}}`;
    }
    default: {
      const p = props(s.props);
      return p ? `{"type":${str(s.kind)}${p}}` : str(s.kind);
    }
  }
}
