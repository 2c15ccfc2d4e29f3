// The one way datamesh turns Avro schemas into codecs (connectors, materializer, API, tests all use it):
// `long` decodes to bigint (never a lossy JS number), logical types to exact strings (lib/avro-logical.ts),
// and the Confluent wire format (magic 0, 4-byte schema id, Avro binary) is framed here.
import avro from "avsc";
import { JsonStringType, logicalTypes } from "./avro-logical.ts";

const LongAsBigInt = avro.types.LongType.__with({
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
});

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
