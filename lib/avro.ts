// The one way datamesh turns Avro schemas into codecs (connectors, materializer, API, tests all use it):
// `long` decodes to bigint (never a lossy JS number), logical types to exact strings (lib/avro-logical.ts),
// and the Confluent wire format (magic 0, 4-byte schema id, Avro binary) is framed here.
import avro from "avsc";
import { JsonStringType, logicalTypes } from "./avro-logical.ts";

// Codec methods avsc's `__with` requires; the hot paths below (`_read`/`_write`) do not use the buffer
// ones, which stay as the reference for anything in avsc that might call them.
const bigintLongMethods = {
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(n);
    return buf;
  },
  fromJSON: (v: unknown) => BigInt(v as string),
  toJSON: (n: bigint) =>
    n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString(),
  isValid: (n: unknown) => typeof n === "bigint",
  compare: (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0),
};

/** The part of avsc's (untyped) Tap the long codec touches. Past the buffer's end writes are dropped and
 * `pos` still moves on; avsc then sees `pos > buf.length` and retries with a bigger buffer. */
interface Tap {
  buf: Buffer;
  pos: number;
  writeLong(n: number): void;
}

// avsc's number writer doubles the value in floating point: exact only while 2|n| fits 53 bits.
const FAST_LIMIT = 2n ** 52n;

/** Zigzag varint straight into the tap: no Buffer per long (every event carries several: lsn, txId, ts_ms). */
function writeBigLong(tap: Tap, n: bigint): void {
  // The common case (LSNs, ids, micros since 1970 are all below 2^52) goes through avsc's number writer.
  if (n < FAST_LIMIT && n > -FAST_LIMIT) {
    tap.writeLong(Number(n));
    return;
  }
  const buf = tap.buf;
  let z = BigInt.asUintN(64, (n << 1n) ^ (n >> 63n));
  while (z >= 0x80n) {
    buf[tap.pos++] = Number(z & 0x7fn) | 0x80;
    z >>= 7n;
  }
  buf[tap.pos++] = Number(z);
}

function readBigLong(tap: Tap): bigint {
  const buf = tap.buf;
  let pos = tap.pos;
  // Seven bytes (49 bits) add up exactly in a double; only longer varints need BigInt arithmetic.
  let n = 0;
  let scale = 1;
  for (let i = 0; i < 7; i++) {
    const b = buf[pos++] ?? 0;
    n += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) {
      tap.pos = pos;
      return BigInt(n % 2 === 1 ? -(n + 1) / 2 : n / 2);
    }
  }
  let z = BigInt(n);
  let shift = 49n;
  for (;;) {
    const b = buf[pos++] ?? 0;
    z |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    if ((b & 0x80) === 0 || shift > 63n) break;
  }
  tap.pos = pos;
  return BigInt.asIntN(64, (z >> 1n) ^ -(z & 1n));
}

interface AbstractLong {
  _read(tap: Tap): unknown;
  _write(tap: Tap, val: unknown): void;
}

function bigintLongType(): avro.Type {
  // A fresh, not yet frozen instance of the class `__with` builds, given the same methods plus direct
  // `_read`/`_write` (the inherited ones go through a Buffer per value).
  const reference = avro.types.LongType.__with(bigintLongMethods) as unknown as AbstractLong;
  const Ctor = (reference as unknown as { constructor: new (noUnpack: boolean) => AbstractLong }).constructor;
  const type = new Ctor(false) as AbstractLong & Record<string, unknown>;
  type._toBuffer = bigintLongMethods.toBuffer;
  type._fromBuffer = bigintLongMethods.fromBuffer;
  type._fromJSON = bigintLongMethods.fromJSON;
  type._toJSON = bigintLongMethods.toJSON;
  type._isValid = bigintLongMethods.isValid;
  type.compare = bigintLongMethods.compare;
  type._read = readBigLong;
  type._write = (tap: Tap, val: unknown): void => {
    // Invalid values go through avsc's own writer, which throws its usual error.
    if (typeof val !== "bigint") reference._write.call(type, tap, val);
    else writeBigLong(tap, val);
  };
  return Object.freeze(type) as unknown as avro.Type;
}

const LongAsBigInt = bigintLongType();

const pendingLogical = new WeakSet<object>();

/** The avsc options every datamesh codec uses; pass them to @kafkajs/confluent-schema-registry too. */
export function avroOptions(): Partial<avro.ForSchemaOptions> {
  return {
    registry: { long: LongAsBigInt },
    logicalTypes,
    wrapUnions: "auto",
    // `{"type": "long"}` (object form) bypasses the registry, and avsc builds a logical type's underlying
    // type by calling forSchema again with the same schema object: route both to the bigint long.
    typeHook: (schema: avro.Schema) => {
      if (schema === "long") return LongAsBigInt;
      if (typeof schema !== "object" || (schema as { type?: unknown }).type !== "long") return undefined;
      const logical = (schema as { logicalType?: unknown }).logicalType;
      if (typeof logical !== "string" || !(logical in logicalTypes)) return LongAsBigInt;
      if (pendingLogical.has(schema)) {
        pendingLogical.delete(schema);
        return LongAsBigInt;
      }
      pendingLogical.add(schema);
      return undefined;
    },
  } as Partial<avro.ForSchemaOptions>;
}

export function avroType(schema: avro.Schema | string): avro.Type {
  const parsed = typeof schema === "string" ? (JSON.parse(schema) as avro.Schema) : schema;
  return avro.Type.forSchema(parsed, avroOptions());
}

export const WIRE_MAGIC = 0;

export function encodeWire(schemaId: number, type: avro.Type, value: unknown): Buffer {
  const body = type.toBuffer(value);
  const out = Buffer.allocUnsafe(5 + body.length);
  out.writeUInt8(WIRE_MAGIC, 0);
  out.writeUInt32BE(schemaId, 1);
  body.copy(out, 5);
  return out;
}

export function wireSchemaId(buf: Buffer): number {
  if (buf.length < 5 || buf.readUInt8(0) !== WIRE_MAGIC) {
    throw new TypeError("not in the Confluent wire format (expected magic byte 0 and a 4-byte schema id)");
  }
  return buf.readUInt32BE(1);
}

export function decodeWire(type: avro.Type, buf: Buffer): unknown {
  return type.fromBuffer(buf.subarray(5));
}

/**
 * The lossless JSON form of a decoded value (DESIGN.md): 64-bit integers and decimals as strings,
 * bytes base64, timestamps ISO-8601 strings (already, from the logical types), JSON columns embedded,
 * NaN/Infinity as strings (the proto3 JSON convention).
 */
export function toJsonValue(type: avro.Type, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (type instanceof JsonStringType) {
    try {
      return JSON.parse(value as string) as unknown;
    } catch {
      return value;
    }
  }
  if (type instanceof avro.types.LogicalType) return value;
  if (type instanceof avro.types.UnwrappedUnionType) {
    const branch =
      type.types.find((t) => t.typeName !== "null" && t.isValid(value)) ??
      type.types.find((t) => t.isValid(value));
    return branch ? toJsonValue(branch, value) : value;
  }
  if (type instanceof avro.types.WrappedUnionType) {
    const [name, inner] = Object.entries(value as Record<string, unknown>)[0] ?? [];
    const branch = type.types.find((t) => (t.branchName ?? t.typeName) === name);
    return branch ? { [name as string]: toJsonValue(branch, inner) } : value;
  }
  if (type instanceof avro.types.RecordType) {
    const out: Record<string, unknown> = {};
    for (const field of type.fields)
      out[field.name] = toJsonValue(field.type, (value as Record<string, unknown>)[field.name]);
    return out;
  }
  if (type instanceof avro.types.ArrayType)
    return (value as unknown[]).map((v) => toJsonValue(type.itemsType, v));
  if (type instanceof avro.types.MapType) {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, toJsonValue(type.valuesType, v)]),
    );
  }
  if (typeof value === "bigint") return value.toString();
  if (Buffer.isBuffer(value)) return value.toString("base64");
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  return value;
}
