// Owns the canonical text of a schema, the key of schema identity: Avro's Parsing Canonical Form (full
// names, fixed attribute order, no whitespace, named types written once then referred to by name) plus the
// attributes that change what a schema means to a registry user (defaults, aliases, order, doc, logical types
// and other custom properties, sorted). Two texts that differ only in whitespace or JSON attribute order get
// the same canonical text, hence the same id, as with Confluent.
import type { AvroSchema, Field, Props } from "./schema.ts";

export interface CanonicalOptions {
  /** Parsing Canonical Form only (no defaults, docs, aliases or custom props). */
  pcf?: boolean;
  /** Named types defined by references: always written by name. */
  predefined?: ReadonlySet<string>;
}

export function canonicalText(schema: AvroSchema, options: CanonicalOptions = {}): string {
  const written = new Set<string>(options.predefined ?? []);
  return write(schema, written, options.pcf === true);
}

function str(s: string): string {
  return JSON.stringify(s);
}

function sortedProps(props: Props): string {
  return Object.keys(props)
    .sort()
    .map((k) => `,${str(k)}:${stable(props[k])}`)
    .join("");
}

/** JSON with object keys sorted, so defaults and custom props compare by value. */
export function stable(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return `[${v.map(stable).join(",")}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${str(k)}:${stable(o[k])}`)
    .join(",")}}`;
}

function extras(s: { aliases?: string[]; doc?: string; props: Props }, pcf: boolean): string {
  if (pcf) return "";
  let out = "";
  if (s.aliases && s.aliases.length > 0) out += `,"aliases":${stable([...s.aliases].sort())}`;
  if (s.doc !== undefined) out += `,"doc":${str(s.doc)}`;
  return out + sortedProps(s.props);
}

function field(f: Field, written: Set<string>, pcf: boolean): string {
  let out = `{"name":${str(f.name)},"type":${write(f.type, written, pcf)}`;
  if (!pcf) {
    if (f.hasDefault) out += `,"default":${stable(f.default)}`;
    if (f.order !== undefined && f.order !== "ascending") out += `,"order":${str(f.order)}`;
    out += extras(f, pcf);
  }
  return out + "}";
}

function write(s: AvroSchema, written: Set<string>, pcf: boolean): string {
  switch (s.kind) {
    case "union":
      return `[${s.types.map((t) => write(t, written, pcf)).join(",")}]`;
    case "array":
      return `{"type":"array","items":${write(s.items, written, pcf)}${extras(s, pcf)}}`;
    case "map":
      return `{"type":"map","values":${write(s.values, written, pcf)}${extras(s, pcf)}}`;
    case "record":
    case "enum":
    case "fixed": {
      if (written.has(s.name)) return str(s.name);
      written.add(s.name);
      if (s.kind === "record") {
        const fields = s.fields.map((f) => field(f, written, pcf)).join(",");
        return `{"name":${str(s.name)},"type":${str(s.error ? "error" : "record")},"fields":[${fields}]${extras(s, pcf)}}`;
      }
      if (s.kind === "enum") {
        const def = !pcf && s.default !== undefined ? `,"default":${str(s.default)}` : "";
        return `{"name":${str(s.name)},"type":"enum","symbols":${stable(s.symbols)}${def}${extras(s, pcf)}}`;
      }
      return `{"name":${str(s.name)},"type":"fixed","size":${s.size}${extras(s, pcf)}}`;
    }
    default: {
      const props = pcf ? "" : sortedProps(s.props);
      return props ? `{"type":${str(s.kind)}${props}}` : str(s.kind);
    }
  }
}
