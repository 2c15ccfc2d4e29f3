// Owns encoding and decoding of the protocol's Avro messages, both directions: the Confluent wire format
// (magic byte 0, 4-byte schema id, Avro body; lib/avro.ts) over schemas held by the registry. Writers
// register a schema once (`SchemaRegistrar`) and encode with its id; readers resolve the writer schema of
// each message by its id (`SchemaLookup`) and get the decoded representation of docs/contracts.md.
// No registry client here: each role passes its own.
import type avro from "avsc";
import { decodeWire, encodeWire, wireSchemaId } from "../lib/avro.ts";
import { compileEncoder, type WireEncoder } from "./avro-encoder.ts";
import type { DecodedEnvelope } from "./envelope.ts";
import type { DecodedMarker } from "./markers.ts";

/** A schema the registry holds under `id`, with its codec. */
export interface RegisteredSchema {
  id: number;
  type: avro.Type;
}

/**
 * What a writer needs from a registry: registering a schema under a subject (the same schema again gives
 * the same id). A refusal by the subject's compatibility rule is MESH_SCHEMA_INCOMPATIBLE.
 */
export interface SchemaRegistrar {
  register(subject: string, schema: avro.Schema): Promise<RegisteredSchema>;
}

/** What a reader needs from a registry: the codec of a writer schema id (ids never change meaning). */
export type SchemaLookup = (id: number) => Promise<avro.Type>;

export function encode(schema: RegisteredSchema, value: unknown): Buffer {
  return encodeWire(schema.id, schema.type, value);
}

export type { WireEncoder };

/**
 * The encoder of one registered schema version, compiled once (protocol/avro-encoder.ts) from the schema
 * it was registered with; avsc where the schema uses something the compiler leaves to it. Writers hold one
 * per schema version and call it per message.
 */
export function wireEncoder(registered: RegisteredSchema, schema: avro.Schema): WireEncoder {
  return (
    compileEncoder(registered.id, schema) ?? ((value) => encodeWire(registered.id, registered.type, value))
  );
}

export interface Decoded {
  schemaId: number;
  /** The writer schema's codec (e.g. for lib/avro.ts `toJsonValue`). */
  type: avro.Type;
  value: unknown;
}

/** Decodes one wire-format buffer with its writer schema. */
export async function decode(lookup: SchemaLookup, buf: Buffer): Promise<Decoded> {
  const schemaId = wireSchemaId(buf);
  const type = await lookup(schemaId);
  return { schemaId, type, value: decodeWire(type, buf) };
}

/** A table topic's key: the primary-key columns by name. */
export async function decodeKey(lookup: SchemaLookup, buf: Buffer): Promise<Record<string, unknown>> {
  return (await decode(lookup, buf)).value as Record<string, unknown>;
}

/** A table topic's value. */
export async function decodeEnvelope(lookup: SchemaLookup, buf: Buffer): Promise<DecodedEnvelope> {
  return (await decode(lookup, buf)).value as DecodedEnvelope;
}

/**
 * A `<source>.transactions` value; null for a status other than BEGIN or END (nothing a reader counts).
 * Check the version first (version.ts): a newer writer's marker may not mean what this reader thinks.
 */
export async function decodeMarker(lookup: SchemaLookup, buf: Buffer): Promise<DecodedMarker | null> {
  const marker = (await decode(lookup, buf)).value as Omit<DecodedMarker, "status"> & { status: string };
  return marker.status === "BEGIN" || marker.status === "END" ? (marker as DecodedMarker) : null;
}
