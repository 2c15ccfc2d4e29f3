// Compiled Avro writers for the schemas the protocol writes (envelopes, keys, markers, heartbeats): one
// writer per schema version, built once from the schema JSON, that writes a value straight into a reused
// scratch buffer and returns the Confluent wire-format message (magic 0, 4-byte schema id, Avro body).
// Byte for byte what avsc writes with lib/avro.ts's options (tested against it), at a fraction of the cost:
// avsc resolves every nullable field's union by validating the value against each branch, and a logical
// timestamp is parsed twice (once to validate, once to write).
//
// Values are those of lib/avro.ts: long a bigint (a safe-integer number is taken too), logical types their
// exact strings (decimal "12.50", date "2024-01-02", time "03:04:05.123456", timestamps ISO-8601; a
// number/bigint is taken as the underlying value), bytes Buffers. A value of the wrong kind throws.
// Schemas with a construct this module does not compile (enum, fixed, map, a union that is not [null, T],
// a logical type other than the ones below) get null from `compileEncoder`: callers fall back to avsc.
// Pure.
import type avro from "avsc";
import { bigIntToBytes, decimalStringToUnscaled, logicalTypes } from "../lib/avro-logical.ts";
import { dateDays, digits, timeMicros, timestampMicros } from "./avro-logical-text.ts";

type Write = (value: unknown) => void;

// ---- the scratch buffer (one per process: encoding is synchronous) ----

let buf = Buffer.allocUnsafe(64 * 1024);
let pos = 0;

function room(n: number): void {
  if (pos + n <= buf.length) return;
  let size = buf.length * 2;
  while (size < pos + n) size *= 2;
  const bigger = Buffer.allocUnsafe(size);
  buf.copy(bigger, 0, 0, pos);
  buf = bigger;
}

/** Zigzag varint of a safe integer (the doubling is exact only below 2^52: beyond, through BigInt). */
function writeLongNumber(n: number): void {
  if (n >= TWO_52 || n <= -TWO_52) {
    writeLongBig(BigInt(n));
    return;
  }
  room(10);
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  while (z >= 0x80) {
    buf[pos++] = (z % 0x80) | 0x80;
    z = Math.floor(z / 0x80);
  }
  buf[pos++] = z;
}

const TWO_52 = 2 ** 52;

function writeLongBig(n: bigint): void {
  // Number() of a bigint is exact below 2^53 (and a rounded value past it fails the check): cheaper than
  // comparing bigints.
  const x = Number(n);
  if (x < TWO_52 && x > -TWO_52) {
    writeLongNumber(x);
    return;
  }
  room(10);
  let z = BigInt.asUintN(64, (n << 1n) ^ (n >> 63n));
  while (z >= 0x80n) {
    buf[pos++] = Number(z & 0x7fn) | 0x80;
    z >>= 7n;
  }
  buf[pos++] = Number(z);
}

function writeInt(v: unknown): void {
  if (typeof v !== "number" || (v | 0) !== v) throw new TypeError(`not an int: ${String(v)}`);
  room(5);
  let z = ((v << 1) ^ (v >> 31)) >>> 0;
  while (z >= 0x80) {
    buf[pos++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  buf[pos++] = z;
}

function writeLong(v: unknown): void {
  if (typeof v === "bigint") writeLongBig(v);
  else if (typeof v === "number" && Number.isSafeInteger(v)) writeLongNumber(v);
  else throw new TypeError(`not a long: ${String(v)}`);
}

function writeString(v: unknown): void {
  if (typeof v !== "string") throw new TypeError(`not a string: ${String(v)}`);
  const n = v.length;
  // Short ASCII (most column values) is copied by hand: cheaper than a call into C++ per string.
  if (n < 64) {
    let ascii = true;
    for (let i = 0; i < n; i++)
      if (v.charCodeAt(i) > 0x7f) {
        ascii = false;
        break;
      }
    if (ascii) {
      room(n + 1);
      buf[pos++] = n * 2; // n < 64: one varint byte
      for (let i = 0; i < n; i++) buf[pos++] = v.charCodeAt(i);
      return;
    }
  }
  const len = Buffer.byteLength(v, "utf8");
  writeLongNumber(len);
  room(len);
  pos += buf.write(v, pos, len, "utf8");
}

function writeBytes(v: unknown): void {
  if (!Buffer.isBuffer(v)) throw new TypeError("not a Buffer");
  writeLongNumber(v.length);
  room(v.length);
  v.copy(buf, pos);
  pos += v.length;
}

function writeTag(b: number): void {
  room(1);
  buf[pos++] = b;
}

function writeBoolean(v: unknown): void {
  if (typeof v !== "boolean") throw new TypeError(`not a boolean: ${String(v)}`);
  room(1);
  buf[pos++] = v ? 1 : 0;
}

function writeFloat(v: unknown): void {
  if (typeof v !== "number") throw new TypeError(`not a float: ${String(v)}`);
  room(4);
  buf.writeFloatLE(v, pos);
  pos += 4;
}

function writeDouble(v: unknown): void {
  if (typeof v !== "number") throw new TypeError(`not a double: ${String(v)}`);
  room(8);
  buf.writeDoubleLE(v, pos);
  pos += 8;
}

// ---- logical types ----

function writeMicrosValue(m: number | bigint): void {
  if (typeof m === "bigint") writeLongBig(m);
  else writeLongNumber(m);
}

/** Minimal two's-complement big-endian bytes of a safe integer, as lib/avro-logical.ts `bigIntToBytes`. */
function writeUnscaledNumber(n: number): void {
  // Bytes from the least significant end, then reversed into place.
  const tmp: number[] = [];
  let v = n;
  for (;;) {
    const byte = ((v % 256) + 256) % 256;
    tmp.push(byte);
    v = (v - byte) / 256;
    if ((v === 0 && (byte & 0x80) === 0) || (v === -1 && (byte & 0x80) !== 0)) break;
  }
  writeLongNumber(tmp.length);
  room(tmp.length);
  for (let i = tmp.length - 1; i >= 0; i--) buf[pos++] = tmp[i] as number;
}

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

function decimalWriter(scale: number): Write {
  return (v) => {
    if (typeof v === "string") {
      // [-]digits[.digits], at most 15 significant digits, no more fraction digits than the scale: exact as a number.
      const neg = v.charCodeAt(0) === 45;
      const start = neg ? 1 : 0;
      const dot = v.indexOf(".");
      const intEnd = dot < 0 ? v.length : dot;
      const fracLen = dot < 0 ? 0 : v.length - dot - 1;
      if (intEnd > start && fracLen <= scale && intEnd - start + scale <= 15 && (dot < 0 || fracLen > 0)) {
        const ip = digits(v, start, intEnd);
        const fp = dot < 0 ? 0 : digits(v, dot + 1, v.length);
        if (ip >= 0 && fp >= 0) {
          const unscaled = ip * (POW10[scale] as number) + fp * (POW10[scale - fracLen] as number);
          writeUnscaledNumber(neg ? -unscaled : unscaled);
          return;
        }
      }
    } else if (typeof v !== "number" && typeof v !== "bigint")
      throw new TypeError(`not a decimal: ${String(v)}`);
    writeBytes(bigIntToBytes(decimalStringToUnscaled(String(v), scale)));
  };
}

function logicalWriter(schema: Record<string, unknown>): Write | null {
  const logical = schema.logicalType;
  const base = schema.type;
  switch (logical) {
    case "decimal":
      if (base !== "bytes") return null;
      return decimalWriter(typeof schema.scale === "number" ? schema.scale : 0);
    case "date":
      if (base !== "int") return null;
      return (v) => (typeof v === "string" ? writeInt(dateDays(v)) : writeInt(v));
    case "time-micros":
      if (base !== "long") return null;
      return (v) => (typeof v === "string" ? writeLongNumber(timeMicros(v)) : writeLong(v));
    case "timestamp-micros":
    case "local-timestamp-micros":
      if (base !== "long") return null;
      return (v) => (typeof v === "string" ? writeMicrosValue(timestampMicros(v)) : writeLong(v));
    case "json":
    case "uuid":
      return base === "string" ? writeString : null;
    case "variable-decimal":
      if (base !== "string") return null;
      return (v) => writeString(typeof v === "number" || typeof v === "bigint" ? String(v) : v);
    default:
      return null;
  }
}

// ---- compiling a schema ----

class Unsupported extends Error {}

interface Names {
  /** Full name → the writer of that named record (filled in once compiled; records may refer to themselves). */
  writers: Map<string, { write: Write | null }>;
}

function fullName(name: string, namespace: string | undefined): string {
  return name.includes(".") || !namespace ? name : `${namespace}.${name}`;
}

function compile(schema: unknown, namespace: string | undefined, names: Names): Write {
  if (typeof schema === "string") {
    switch (schema) {
      case "null":
        return (v) => {
          if (v !== null && v !== undefined) throw new TypeError("not null");
        };
      case "boolean":
        return writeBoolean;
      case "int":
        return writeInt;
      case "long":
        return writeLong;
      case "float":
        return writeFloat;
      case "double":
        return writeDouble;
      case "bytes":
        return writeBytes;
      case "string":
        return writeString;
      default: {
        const ref = names.writers.get(fullName(schema, namespace)) ?? names.writers.get(schema);
        if (!ref) throw new Unsupported(`unknown type ${schema}`);
        return (v) => (ref.write as Write)(v);
      }
    }
  }
  if (Array.isArray(schema)) {
    const nullAt = schema.indexOf("null");
    if (schema.length !== 2 || nullAt < 0) throw new Unsupported("union");
    const other = compile(schema[1 - nullAt], namespace, names);
    const nullIndex = nullAt === 0 ? 0 : 2; // zigzag varint of the branch index
    const otherIndex = nullAt === 0 ? 2 : 0;
    // Generated, like records, so that the call of `other` is a call site of its own (inlined).
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- fixed code, numbers only
    const make = new Function(
      "tag",
      "other",
      `return function union(v) { if (v === null || v === undefined) tag(${nullIndex}); else { tag(${otherIndex}); other(v); } };`,
    ) as (tag: (b: number) => void, other: Write) => Write;
    return make(writeTag, other);
  }
  if (typeof schema !== "object" || schema === null) throw new Unsupported("schema");
  const s = schema as Record<string, unknown>;
  if (typeof s.logicalType === "string") {
    const w = logicalWriter(s);
    if (w) return w;
    // avsc writes a logical type it does not know as its underlying type; one lib/avro.ts knows, on a base
    // type it does not expect here, is left to avsc.
    if (s.logicalType in logicalTypes) throw new Unsupported(`logical type ${s.logicalType}`);
  }
  switch (s.type) {
    case "record": {
      const ns = typeof s.namespace === "string" ? s.namespace : namespace;
      const name = fullName(String(s.name), ns);
      const ref: { write: Write | null } = { write: null };
      names.writers.set(name, ref);
      const recordNs = name.includes(".") ? name.slice(0, name.lastIndexOf(".")) : ns;
      const fields = (s.fields as { name: string; type: unknown; default?: unknown }[]).map((f) => {
        // avsc writes a field's default when the value lacks it; only a null default (the union's null
        // branch, which an undefined value takes here too) is compiled.
        if (f.default !== undefined && f.default !== null) throw new Unsupported(`default of ${f.name}`);
        return { name: f.name, write: compile(f.type, recordNs, names) };
      });
      // One function per record with a call site and a named property load per field: each stays
      // monomorphic, so V8 inlines the field writers (a loop over the fields would make both megamorphic).
      const write = recordWriter(name, fields);
      ref.write = write;
      return write;
    }
    case "array": {
      const item = compile(s.items, namespace, names);
      return (v) => {
        if (!Array.isArray(v)) throw new TypeError("not an array");
        if (v.length > 0) {
          writeLongNumber(v.length);
          for (const x of v) item(x);
        }
        room(1);
        buf[pos++] = 0;
      };
    }
    case "enum":
    case "fixed":
    case "map":
    case "error":
      throw new Unsupported(String(s.type));
    default:
      // `{"type": "string"}` and friends.
      return compile(s.type, namespace, names);
  }
}

function recordWriter(name: string, fields: { name: string; write: Write }[]): Write {
  const args = fields.map((_, i) => `w${i}`);
  const body = fields.map((f, i) => `w${i}(v[${JSON.stringify(f.name)}]);`).join("\n");
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the code is built from field indexes and JSON-quoted names only
  const make = new Function(
    "fail",
    ...args,
    `return function write(v) {\nif (typeof v !== "object" || v === null) fail();\n${body}\n};`,
  ) as (fail: () => never, ...writers: Write[]) => Write;
  return make(
    () => {
      throw new TypeError(`not a ${name} record`);
    },
    ...fields.map((f) => f.write),
  );
}

/** Encodes a value into a Confluent wire-format message. */
export type WireEncoder = (value: unknown) => Buffer;

/**
 * The compiled writer of `schema` framed with `schemaId`, or null when the schema uses something this module
 * does not compile (the caller encodes with avsc instead).
 */
export function compileEncoder(schemaId: number, schema: avro.Schema): WireEncoder | null {
  let write: Write;
  try {
    write = compile(schema, undefined, { writers: new Map() });
  } catch (err) {
    if (err instanceof Unsupported) return null;
    throw err;
  }
  return (value) => {
    pos = 0;
    room(5);
    buf[0] = 0;
    buf.writeUInt32BE(schemaId, 1);
    pos = 5;
    try {
      write(value);
    } catch (err) {
      pos = 0;
      throw err;
    }
    const out = Buffer.allocUnsafe(pos);
    buf.copy(out, 0, 0, pos);
    return out;
  };
}
