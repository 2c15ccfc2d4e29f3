// Avro domain events: a type's schema is one named record; the topic's value schema is the union of every
// type's record, by full name, each a reference to the type's subject (Confluent's "several event types in one
// topic": a stock deserializer reads it with no configuration). An event's body is the union branch index
// then the record. Payloads arrive as JSON: `fromJson` checks one against the record strictly (no unknown
// fields, no missing field without a default; a missing nullable field is null) and builds the Avro value,
// naming the first path that does not fit. Plain avsc types (longs as numbers, unions unwrapped, logical
// types as their underlying type), so the JSON a service writes is the value it means. Pure.
import avro from "avsc";

export class PayloadError extends Error {
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = "PayloadError";
  }
}

/** Types parsed from schema texts, sharing one registry of named types. */
export class AvroTypes {
  readonly #registry: Record<string, avro.Type> = {};

  /** Parses a (referenced) schema text; its named types become known to the texts parsed after it. */
  add(text: string): avro.Type {
    return avro.Type.forSchema(JSON.parse(text) as avro.Schema, {
      registry: this.#registry,
      // Unions of one type per kind take plain values (JSON's); ambiguous ones (two records) are wrapped.
      wrapUnions: "auto",
    });
  }
}

/** The full name of a type schema's record; throws when the schema is not a named record. */
export function avroRecordName(text: string): string {
  let type: avro.Type;
  try {
    type = new AvroTypes().add(text);
  } catch (err) {
    throw new PayloadError("schema", `not an Avro schema: ${(err as Error).message}`);
  }
  if (!(type instanceof avro.types.RecordType) || !type.name)
    throw new PayloadError("schema", "an event type's Avro schema must be a named record");
  return type.name;
}

/** The topic's union of the types' records (full names, in declaration order). */
export function avroTopicSchema(recordNames: readonly string[]): string {
  return JSON.stringify(recordNames);
}

function kind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

/** The Avro value of JSON `v` for `type`; throws PayloadError naming where it does not fit. */
export function fromJson(type: avro.Type, v: unknown, path = "payload"): unknown {
  if (type instanceof avro.types.RecordType) {
    if (!isObject(v))
      throw new PayloadError(path, `expected an object (${type.name ?? "record"}), got ${kind(v)}`);
    const known = new Set(type.fields.map((f) => f.name));
    const extra = Object.keys(v).find((k) => !known.has(k));
    if (extra !== undefined)
      throw new PayloadError(`${path}.${extra}`, `not a field of ${type.name ?? "the record"}`);
    const out: Record<string, unknown> = {};
    for (const field of type.fields) {
      const at = `${path}.${field.name}`;
      if (field.name in v) out[field.name] = fromJson(field.type, v[field.name], at);
      else {
        const dflt = field.defaultValue() as unknown;
        if (dflt !== undefined) out[field.name] = dflt;
        else if (nullable(field.type)) out[field.name] = null;
        else throw new PayloadError(at, "missing (the field has no default)");
      }
    }
    return out;
  }
  if (type instanceof avro.types.UnwrappedUnionType || type instanceof avro.types.WrappedUnionType) {
    const branches = type.types;
    if (v === null) {
      if (branches.some((b) => b.typeName === "null")) return null;
      throw new PayloadError(path, `null is not one of ${branches.map(branchName).join(", ")}`);
    }
    const wrap = (branch: avro.Type, value: unknown): unknown =>
      type instanceof avro.types.WrappedUnionType ? { [branchName(branch)]: value } : value;
    // Avro's JSON encoding of a union: {"<branch name>": value}.
    if (isObject(v) && Object.keys(v).length === 1) {
      const [name, inner] = Object.entries(v)[0]!;
      const branch = branches.find((b) => branchName(b) === name);
      if (branch) return wrap(branch, fromJson(branch, inner, `${path}.${name}`));
    }
    for (const branch of branches) {
      if (branch.typeName === "null") continue;
      try {
        return wrap(branch, fromJson(branch, v, path));
      } catch {
        // the next branch may fit
      }
    }
    throw new PayloadError(path, `${kind(v)} fits none of ${branches.map(branchName).join(", ")}`);
  }
  if (type instanceof avro.types.ArrayType) {
    if (!Array.isArray(v)) throw new PayloadError(path, `expected an array, got ${kind(v)}`);
    return v.map((item, i) => fromJson(type.itemsType, item, `${path}[${i}]`));
  }
  if (type instanceof avro.types.MapType) {
    if (!isObject(v)) throw new PayloadError(path, `expected an object (map), got ${kind(v)}`);
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [k, fromJson(type.valuesType, x, `${path}.${k}`)]),
    );
  }
  if (type instanceof avro.types.EnumType) {
    if (typeof v !== "string" || !type.symbols.includes(v))
      throw new PayloadError(path, `expected one of ${type.symbols.join(", ")}, got ${JSON.stringify(v)}`);
    return v;
  }
  if (type instanceof avro.types.FixedType || type instanceof avro.types.BytesType) {
    // Avro's JSON encoding of bytes: one character per byte (code points 0-255).
    if (typeof v !== "string" || [...v].some((c) => c.charCodeAt(0) > 0xff))
      throw new PayloadError(
        path,
        `expected a string of code points 0-255 (Avro's JSON bytes), got ${kind(v)}`,
      );
    const buf = Buffer.from(v, "latin1");
    if (type instanceof avro.types.FixedType && buf.length !== type.size)
      throw new PayloadError(path, `expected ${type.size} bytes, got ${buf.length}`);
    return buf;
  }
  const name = type.typeName;
  const fits =
    name === "null"
      ? v === null
      : name === "boolean"
        ? typeof v === "boolean"
        : name === "string"
          ? typeof v === "string"
          : name === "int"
            ? Number.isInteger(v) && (v as number) >= -(2 ** 31) && (v as number) < 2 ** 31
            : name === "long"
              ? Number.isSafeInteger(v)
              : name === "float" || name === "double"
                ? typeof v === "number"
                : type.isValid(v);
  if (!fits) throw new PayloadError(path, `expected ${name}, got ${kind(v)} ${short(v)}`);
  return v;
}

function short(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function nullable(type: avro.Type): boolean {
  return (
    (type instanceof avro.types.UnwrappedUnionType || type instanceof avro.types.WrappedUnionType) &&
    type.types.some((t) => t.typeName === "null")
  );
}

function branchName(t: avro.Type): string {
  return t.branchName ?? t.name ?? t.typeName;
}

/** Avro's JSON of a decoded value (bytes as code points 0-255, the encoding `fromJson` reads). */
export function toJson(type: avro.Type, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return v.toString("latin1");
  if (type instanceof avro.types.RecordType) {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(type.fields.map((f) => [f.name, toJson(f.type, o[f.name])]));
  }
  if (type instanceof avro.types.UnwrappedUnionType) {
    const branch = type.types.find((t) => t.typeName !== "null" && t.isValid(v));
    return branch ? toJson(branch, v) : v;
  }
  if (type instanceof avro.types.WrappedUnionType) {
    const [name, inner] = Object.entries(v)[0] ?? [];
    const branch = type.types.find((t) => branchName(t) === name);
    return branch && name !== undefined ? { [name]: toJson(branch, inner) } : v;
  }
  if (type instanceof avro.types.ArrayType) return (v as unknown[]).map((x) => toJson(type.itemsType, x));
  if (type instanceof avro.types.MapType)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(type.valuesType, x)]));
  return v;
}

/** Zigzag varint of a union branch index (always one byte below 64 branches). */
export function unionIndex(i: number): Buffer {
  const z = (i << 1) ^ (i >> 31);
  const out: number[] = [];
  let n = z >>> 0;
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/** Reads a union branch index at `pos`: [index, position after it]. */
export function readUnionIndex(buf: Buffer, pos: number): [number, number] {
  let n = 0;
  let shift = 0;
  for (;;) {
    const b = buf[pos++];
    if (b === undefined) throw new PayloadError("body", "truncated union index");
    n |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
    if (shift > 28) throw new PayloadError("body", "union index too long");
  }
  return [(n >>> 1) ^ -(n & 1), pos];
}
