// Owns the dispatch on `schemaType`: AVRO (avro/), PROTOBUF (protobuf/), JSON (jsonschema/). Each format
// parses a schema with its references into a Resolved — the identity that decides "same schema" (same id in
// every subject), the text Confluent stores (its parser's canonical string) and the normalized text
// (`?normalize=true`) — and checks compatibility at the seven levels. Pure: reference lookups passed in.
import { checkLevel, type Level } from "../avro/levels.ts";
import { resolveSchema, type ResolvedSchema } from "../avro/references.ts";
import { AvroSchemaError } from "../avro/schema.ts";
import {
  JsonSchemaError,
  jsonBackwardMessages,
  resolveJsonSchema,
  type JsonSchemaResolved,
} from "../jsonschema/schema.ts";
import { ProtobufSchemaError } from "../protobuf/model.ts";
import { protoBackwardMessages } from "../protobuf/diff.ts";
import { resolveProtobuf, type ProtobufSchema } from "../protobuf/schema.ts";
import { checkLevelWith, type PreviousOf } from "./levels.ts";

export const SCHEMA_TYPES = ["AVRO", "PROTOBUF", "JSON"] as const;
export type SchemaType = (typeof SCHEMA_TYPES)[number];

export function isSchemaType(v: unknown): v is SchemaType {
  return typeof v === "string" && (SCHEMA_TYPES as readonly string[]).includes(v);
}

export interface Reference {
  name: string;
  subject: string;
  version: number;
}

export type TypedLookup = (
  subject: string,
  version: number,
) => { schema: string; schemaType: string; references: readonly Reference[] } | undefined;

interface Common {
  /** Same identity, same schema: the key of id reuse and lookups. */
  identity: string;
  /** What Confluent stores and answers: its parser's canonical string. */
  text: string;
  /** What it stores with `normalize=true`. */
  normalized(): string;
}

export type Resolved =
  | (Common & { schemaType: "AVRO"; avro: ResolvedSchema })
  | (Common & { schemaType: "PROTOBUF"; proto: ProtobufSchema })
  | (Common & { schemaType: "JSON"; json: JsonSchemaResolved });

/** A schema this registry cannot parse (answered 42201). */
export function isSchemaError(e: unknown): e is Error {
  return e instanceof AvroSchemaError || e instanceof ProtobufSchemaError || e instanceof JsonSchemaError;
}

function refKey(references: readonly Reference[]): string {
  return references.map((r) => `${r.name}|${r.subject}|${r.version}`).join(",");
}

export function resolveTyped(
  schemaType: SchemaType,
  text: string,
  references: readonly Reference[],
  lookup: TypedLookup,
): Resolved {
  switch (schemaType) {
    case "AVRO": {
      const avro = resolveSchema(text, references, lookup);
      const own = (avro as { text?: unknown }).text;
      const stored = typeof own === "string" ? own : compactJson(text);
      return { schemaType, avro, identity: avro.identity, text: stored, normalized: () => avro.canonical };
    }
    case "PROTOBUF": {
      const proto = resolveProtobuf(text, references, lookup);
      const identity = `PROTOBUF\u0000${proto.canonical}\u0000${refKey(references)}`;
      return { schemaType, proto, identity, text: proto.canonical, normalized: () => proto.normalized() };
    }
    case "JSON": {
      const json = resolveJsonSchema(text, references, lookup);
      const identity = `JSON\u0000${json.canonical}\u0000${refKey(references)}`;
      return { schemaType, json, identity, text: json.canonical, normalized: () => json.normalized() };
    }
  }
}

function compactJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text;
  }
}

/** Checks `candidate` against previous versions (oldest first) at `level`. */
export function checkTyped(
  level: Level,
  candidate: Resolved,
  previous: readonly PreviousOf<Resolved>[],
): { compatible: boolean; messages: string[] } {
  // Confluent: a schema of another type is never compatible.
  const other = previous.find((p) => p.schema.schemaType !== candidate.schemaType);
  if (other && level !== "NONE") {
    const relevant = level.endsWith("_TRANSITIVE") ? previous : previous.slice(-1);
    if (relevant.some((p) => p.schema.schemaType !== candidate.schemaType)) {
      return {
        compatible: false,
        messages: ["Incompatible because of different schema type", `{compatibility: '${level}'}`],
      };
    }
  }
  switch (candidate.schemaType) {
    case "AVRO": {
      const prev = previous.flatMap((p) =>
        p.schema.schemaType === "AVRO" ? [{ ...p, schema: p.schema.avro.schema }] : [],
      );
      return checkLevel(level, candidate.avro.schema, prev);
    }
    case "PROTOBUF":
      return checkLevelWith(level, candidate, previous, (reader, writer) =>
        reader.schemaType === "PROTOBUF" && writer.schemaType === "PROTOBUF"
          ? protoBackwardMessages(reader.proto, writer.proto)
          : ["Incompatible because of different schema type"],
      );
    case "JSON":
      return checkLevelWith(level, candidate, previous, (reader, writer) =>
        reader.schemaType === "JSON" && writer.schemaType === "JSON"
          ? jsonBackwardMessages(reader.json, writer.json)
          : ["Incompatible because of different schema type"],
      );
  }
}

/** `GET ...?format=`: `serialized` is the base64 FileDescriptorProto of a Protobuf schema; else the text. */
export function formatted(r: Resolved | undefined, stored: string, format: string | undefined): string {
  if (format === "serialized" && r?.schemaType === "PROTOBUF") return r.proto.serialized();
  return stored;
}
