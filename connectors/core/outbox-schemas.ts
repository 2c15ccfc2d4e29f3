// The schemas of domain events (README "Publish domain events"), for the connector that writes them and the
// API that declares and reads them. Subjects: each event type's schema under `<topic>.<type>`, and the topic's
// value subject `<topic>-value` (Confluent's default TopicNameStrategy, what every stock serializer and
// deserializer uses without configuration) holding one schema over all its types, each a reference to the
// type's subject: an Avro union of the types' records, a JSON Schema `anyOf` of `$ref`s, a Protobuf wrapper
// with a `oneof` (outbox-avro.ts, outbox-json.ts, outbox-protobuf.ts). Adding a type appends a branch; the
// subject's compatibility rule judges every new version of both subjects. A `TopicCodec` is one registered
// version of the topic schema: it encodes a JSON payload of a type in the Confluent wire format (magic 0, the
// 4-byte id, the body) after checking it strictly, and decodes any event written with it. Pure, but for the
// loaders, which take the registry as `EventSchemaSource`.
import type avro from "avsc";
import {
  AvroTypes,
  avroRecordName,
  avroTopicSchema,
  fromJson,
  PayloadError,
  readUnionIndex,
  toJson,
  unionIndex,
} from "./outbox-avro.ts";
import { checkJson, jsonReferenceName, jsonTopicSchema, jsonValidator } from "./outbox-json.ts";
import {
  FIRST_MESSAGE,
  protobufMessageName,
  protobufReferenceName,
  protobufTopicSchema,
  ProtobufTypes,
  protoFromJson,
  protoToJson,
  skipMessageIndexes,
} from "./outbox-protobuf.ts";

export { PayloadError };

export type EventFormat = "AVRO" | "JSON" | "PROTOBUF";
export const EVENT_FORMATS: readonly EventFormat[] = ["AVRO", "JSON", "PROTOBUF"];

/** An event type (the outbox row's `type`): a name that is also part of a subject. */
export const EVENT_TYPE_PATTERN = "^[A-Za-z_][A-Za-z0-9_.]{0,99}$";
const eventType = new RegExp(EVENT_TYPE_PATTERN);

export function isEventType(type: string): boolean {
  return eventType.test(type);
}

/** The subject of one event type's schema. */
export function eventTypeSubject(topic: string, type: string): string {
  return `${topic}.${type}`;
}

export interface SchemaReference {
  name: string;
  subject: string;
  version: number;
}

/** A schema as the registry serves it (by subject and version, or by id). */
export interface RegisteredText {
  id: number;
  schemaType: EventFormat;
  schema: string;
  references: SchemaReference[];
}

export interface SubjectSchema extends RegisteredText {
  subject: string;
  version: number;
}

/** What reading event schemas needs from a registry (lib/registry-client.ts implements it). */
export interface EventSchemaSource {
  /** A subject's version (`latest`: the newest), or null when there is none. */
  subjectVersion(subject: string, version: number | "latest"): Promise<SubjectSchema | null>;
  /** The schema registered under `id`, or null when there is none. */
  schemaById(id: number): Promise<RegisteredText | null>;
}

export function isEventSchemaSource(x: unknown): x is EventSchemaSource {
  return (
    typeof (x as Partial<EventSchemaSource> | null)?.subjectVersion === "function" &&
    typeof (x as Partial<EventSchemaSource> | null)?.schemaById === "function"
  );
}

/** One type's schema as the topic schema is built from it. */
export interface TypeSchema {
  type: string;
  /** The type's subject and the version to reference. */
  subject: string;
  version: number;
  schema: string;
}

/**
 * Checks that a type's schema text is one of `format` an event can be validated with (Avro: a named record;
 * JSON: a JSON Schema ajv compiles; Protobuf: a file with a message); returns the name the topic schema refers
 * to it by (Avro record / Protobuf message full name; JSON: the type). Throws PayloadError.
 */
export function checkTypeSchema(format: EventFormat, type: string, schema: string): string {
  if (format === "AVRO") return avroRecordName(schema);
  if (format === "PROTOBUF") return protobufMessageName(schema);
  jsonValidator(schema);
  return type;
}

/** The topic's value schema over its types (declaration order), with the references to their subjects. */
export function topicSchema(
  topic: string,
  format: EventFormat,
  types: readonly TypeSchema[],
): { schema: string; references: SchemaReference[] } {
  const names = types.map((t) => checkTypeSchema(format, t.type, t.schema));
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined)
    throw new PayloadError("schema", `two event types of ${topic} use the name ${dup}; give each its own`);
  const refName = (t: TypeSchema, i: number): string =>
    format === "AVRO"
      ? names[i]!
      : format === "JSON"
        ? jsonReferenceName(t.type)
        : protobufReferenceName(t.type);
  const references = types.map((t, i) => ({ name: refName(t, i), subject: t.subject, version: t.version }));
  const schema =
    format === "AVRO"
      ? avroTopicSchema(names)
      : format === "JSON"
        ? jsonTopicSchema(types.map((t) => t.type))
        : protobufTopicSchema(
            topic,
            types.map((t, i) => ({ type: t.type, messageName: names[i]! })),
          );
  return { schema, references };
}

interface TypeCodec {
  /** The body after the wire header; throws PayloadError. */
  encode(payload: unknown): Buffer;
}

/** One registered version of a topic's value schema, compiled. */
export class TopicCodec {
  readonly id: number;
  readonly format: EventFormat;
  readonly #types: Map<string, TypeCodec>;
  readonly #decode: (body: Buffer) => unknown;

  constructor(
    id: number,
    format: EventFormat,
    types: Map<string, TypeCodec>,
    decode: (body: Buffer) => unknown,
  ) {
    this.id = id;
    this.format = format;
    this.#types = types;
    this.#decode = decode;
  }

  /** The event types this version declares. */
  get types(): string[] {
    return [...this.#types.keys()];
  }

  has(type: string): boolean {
    return this.#types.has(type);
  }

  /** The wire-format value of a payload of `type`; throws PayloadError when it does not fit. */
  encode(type: string, payload: unknown): Buffer {
    const codec = this.#types.get(type);
    if (!codec) throw new PayloadError("type", `${type} is not declared on this topic`);
    const header = Buffer.alloc(5);
    header.writeUInt32BE(this.id, 1);
    return Buffer.concat([header, codec.encode(payload)]);
  }

  /** The JSON of an event written with this version (the bytes after the 5-byte header). */
  decode(value: Buffer): unknown {
    return this.#decode(value.subarray(5));
  }
}

/** The type a reference stands for: the suffix of its subject `<topic>.<type>`, else its name's stem. */
function typeOfReference(topic: string, ref: SchemaReference): string {
  if (ref.subject.startsWith(`${topic}.`)) return ref.subject.slice(topic.length + 1);
  return ref.name.replace(/\.(json|proto|avsc)$/, "");
}

/** Compiles a topic schema version whose references are resolved (`texts`: each reference's schema text). */
export function compileTopicCodec(
  topic: string,
  registered: RegisteredText,
  texts: ReadonlyMap<string, string>,
): TopicCodec {
  const refs = registered.references.map((r) => {
    const text = texts.get(`${r.subject}\u0000${r.version}`);
    if (text === undefined)
      throw new PayloadError("schema", `reference ${r.subject} v${r.version} not loaded`);
    return { ref: r, type: typeOfReference(topic, r), text };
  });
  const types = new Map<string, TypeCodec>();
  if (registered.schemaType === "AVRO") {
    const avroTypes = new AvroTypes();
    for (const r of refs) avroTypes.add(r.text);
    const union = avroTypes.add(registered.schema) as avro.Type & { types?: avro.Type[] };
    const branches = union.types ?? [union];
    for (const r of refs) {
      const i = branches.findIndex((b) => b.name === r.ref.name);
      const branch = branches[i];
      if (!branch) continue;
      const index = unionIndex(i);
      types.set(r.type, {
        encode: (payload) => Buffer.concat([index, branch.toBuffer(fromJson(branch, payload))]),
      });
    }
    return new TopicCodec(registered.id, "AVRO", types, (body) => {
      if (!union.types) return toJson(union, union.fromBuffer(body));
      const [i, pos] = readUnionIndex(body, 0);
      const branch = branches[i];
      if (!branch) throw new PayloadError("body", `union branch ${i} is not in the schema`);
      return toJson(branch, branch.decode(body, pos).value);
    });
  }
  if (registered.schemaType === "JSON") {
    for (const r of refs) {
      const validate = jsonValidator(r.text);
      types.set(r.type, {
        encode: (payload) => {
          checkJson(validate, payload);
          return Buffer.from(JSON.stringify(payload), "utf8");
        },
      });
    }
    return new TopicCodec(registered.id, "JSON", types, (body) => JSON.parse(body.toString("utf8")));
  }
  const proto = new ProtobufTypes();
  const messages = refs.map((r) => ({ type: r.type, message: proto.add(r.text) }));
  const { type: wrapper, fieldOf } = proto.wrapper(registered.schema);
  for (const m of messages) {
    const field = fieldOf.get(m.message);
    if (!field) continue;
    const inner = proto.root.lookupType(m.message);
    types.set(m.type, {
      encode: (payload) => {
        const object = protoFromJson(inner, payload);
        const message = wrapper.fromObject({ [field.name]: object });
        return Buffer.concat([FIRST_MESSAGE, wrapper.encode(message).finish()]);
      },
    });
  }
  return new TopicCodec(registered.id, "PROTOBUF", types, (body) => {
    const decoded = protoToJson(wrapper, wrapper.decode(body.subarray(skipMessageIndexes(body, 0))));
    // The oneof's one field set: the event itself.
    const [, inner] = Object.entries(decoded)[0] ?? [];
    return inner ?? {};
  });
}

async function resolveTexts(
  source: EventSchemaSource,
  refs: readonly SchemaReference[],
): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  await Promise.all(
    refs.map(async (r) => {
      const found = await source.subjectVersion(r.subject, r.version);
      if (!found)
        throw new PayloadError("schema", `reference ${r.subject} v${r.version} is not in the registry`);
      texts.set(`${r.subject}\u0000${r.version}`, found.schema);
    }),
  );
  return texts;
}

/** The codec of the topic's latest value schema, or null when the topic has none. */
export async function loadLatestCodec(source: EventSchemaSource, topic: string): Promise<TopicCodec | null> {
  const latest = await source.subjectVersion(`${topic}-value`, "latest");
  if (!latest) return null;
  return compileTopicCodec(topic, latest, await resolveTexts(source, latest.references));
}

/** The codec of the topic schema registered under `id` (a reader's writer schema), or null. */
export async function loadCodecById(
  source: EventSchemaSource,
  topic: string,
  id: number,
): Promise<TopicCodec | null> {
  const registered = await source.schemaById(id);
  if (!registered) return null;
  return compileTopicCodec(topic, { ...registered, id }, await resolveTexts(source, registered.references));
}
