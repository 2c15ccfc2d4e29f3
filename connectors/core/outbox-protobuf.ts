// Protobuf domain events: a type's schema is a .proto file whose first top-level message is the event; the
// topic's value schema is a generated wrapper file that imports each type's file (a reference named
// `<type>.proto`) and holds one message with a `oneof event` of one field per type, numbered in declaration
// order (Confluent's "several event types in one topic" for Protobuf). An event's body is the message indexes
// of the wrapper ([0], one zero byte) then the wrapper with the type's field set. Payloads arrive as JSON
// (proto3 JSON: field names as written or lowerCamelCase, 64-bit integers as numbers or strings, enums by
// name or number, bytes as base64, well-known types as their message fields); `protoFromJson` checks one
// strictly and names the first path that does not fit. Pure (protobufjs parses and encodes).
import protobuf from "protobufjs";
import { PayloadError } from "./outbox-avro.ts";

export function protobufReferenceName(type: string): string {
  return `${type}.proto`;
}

/** A protobuf identifier made of `text` (letters, digits, `_`; not starting with a digit). */
function ident(text: string): string {
  const s = text.replace(/[^A-Za-z0-9_]/g, "_");
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

function snake(text: string): string {
  return ident(text.replace(/([a-z0-9])([A-Z])/g, "$1_$2")).toLowerCase();
}

function pascal(text: string): string {
  return ident(text)
    .split("_")
    .filter(Boolean)
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join("");
}

/** The wrapper's package and message of a topic `<owner>.<aggregatetype>`. */
export function protobufWrapperName(topic: string): { pkg: string; message: string } {
  const dot = topic.indexOf(".");
  return {
    pkg: `datamesh.events.${ident(topic.slice(0, dot)).toLowerCase()}`,
    message: `${pascal(topic.slice(dot + 1)) || "Domain"}Event`,
  };
}

/** The oneof field name of each type (snake_case of the type, made unique). */
export function protobufFieldNames(types: readonly string[]): string[] {
  const used = new Set<string>(["event"]);
  return types.map((t) => {
    let name = snake(t) || "type";
    for (let n = 2; used.has(name); n++) name = `${snake(t)}_${n}`;
    used.add(name);
    return name;
  });
}

/** The wrapper file of a topic over its types (declaration order) and their messages' full names. */
export function protobufTopicSchema(
  topic: string,
  types: readonly { type: string; messageName: string }[],
): string {
  const { pkg, message } = protobufWrapperName(topic);
  const fields = protobufFieldNames(types.map((t) => t.type));
  return [
    'syntax = "proto3";',
    `package ${pkg};`,
    "",
    ...types.map((t) => `import "${protobufReferenceName(t.type)}";`),
    "",
    `message ${message} {`,
    "  oneof event {",
    ...types.map((t, i) => `    .${t.messageName} ${fields[i]} = ${i + 1};`),
    "  }",
    "}",
    "",
  ].join("\n");
}

/** Loads google/protobuf/* imports from protobufjs' bundled definitions (once per root). */
function addImports(root: protobuf.Root, imports: readonly string[] | undefined, loaded: Set<string>): void {
  for (const path of imports ?? []) {
    if (loaded.has(path) || !path.startsWith("google/protobuf/")) continue;
    loaded.add(path);
    const json = (protobuf.common as unknown as { get(p: string): protobuf.INamespace | null }).get(path);
    if (json?.nested) root.addJSON(json.nested);
  }
}

/** The full name (no leading dot) of a .proto file's first top-level message; throws PayloadError. */
export function protobufMessageName(text: string): string {
  let parsed: protobuf.IParserResult;
  try {
    parsed = protobuf.parse(text, new protobuf.Root(), { keepCase: true });
  } catch (err) {
    throw new PayloadError("schema", `not a .proto file: ${(err as Error).message}`);
  }
  const ns = parsed.package ? parsed.root.lookup(parsed.package) : parsed.root;
  const first = (ns as protobuf.Namespace | null)?.nestedArray.find((n) => n instanceof protobuf.Type);
  if (!first)
    throw new PayloadError("schema", "the .proto file has no message: its first message is the event");
  return first.fullName.replace(/^\./, "");
}

/** Parsed type files and the wrapper, sharing one root. */
export class ProtobufTypes {
  readonly root = new protobuf.Root();
  readonly #loaded = new Set<string>();

  /** Parses one file into the root; returns its first top-level message's full name. */
  add(text: string): string {
    const name = protobufMessageName(text);
    const parsed = protobuf.parse(text, this.root, { keepCase: true });
    addImports(this.root, parsed.imports, this.#loaded);
    addImports(this.root, parsed.weakImports, this.#loaded);
    return name;
  }

  /** The wrapper message of the topic (after every type file was added): its field per message type. */
  wrapper(text: string): { type: protobuf.Type; fieldOf: Map<string, protobuf.Field> } {
    const name = this.add(text);
    this.root.resolveAll();
    const type = this.root.lookupType(name);
    const fieldOf = new Map<string, protobuf.Field>();
    for (const f of type.fieldsArray) {
      const t = f.resolvedType;
      if (t instanceof protobuf.Type) fieldOf.set(t.fullName.replace(/^\./, ""), f);
    }
    return { type, fieldOf };
  }
}

function kind(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const INT32 = new Set(["int32", "sint32", "sfixed32"]);
const UINT32 = new Set(["uint32", "fixed32"]);
const INT64 = new Set(["int64", "sint64", "sfixed64", "uint64", "fixed64"]);

function scalar(field: protobuf.Field, type: string, v: unknown, path: string): unknown {
  const integer = (min: number, max: number): number => {
    const n = typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : v;
    if (!Number.isInteger(n) || (n as number) < min || (n as number) > max)
      throw new PayloadError(path, `expected ${type}, got ${kind(v)} ${JSON.stringify(v)}`);
    return n as number;
  };
  if (INT32.has(type)) return integer(-(2 ** 31), 2 ** 31 - 1);
  if (UINT32.has(type)) return integer(0, 2 ** 32 - 1);
  if (INT64.has(type)) {
    if (
      typeof v === "string" &&
      /^-?\d+$/.test(v) &&
      !(type.startsWith("u") || type === "fixed64" ? v.startsWith("-") : false)
    )
      return v;
    if (Number.isSafeInteger(v) && !((type.startsWith("u") || type === "fixed64") && (v as number) < 0))
      return v;
    throw new PayloadError(path, `expected ${type} (an integer, or its decimal text), got ${kind(v)}`);
  }
  if (type === "double" || type === "float") {
    if (typeof v === "number" || v === "NaN" || v === "Infinity" || v === "-Infinity") return v;
    throw new PayloadError(path, `expected ${type}, got ${kind(v)}`);
  }
  if (type === "bool") {
    if (typeof v === "boolean") return v;
    throw new PayloadError(path, `expected bool, got ${kind(v)}`);
  }
  if (type === "string") {
    if (typeof v === "string") return v;
    throw new PayloadError(path, `expected string, got ${kind(v)}`);
  }
  if (type === "bytes") {
    if (typeof v === "string" && /^[A-Za-z0-9+/_-]*={0,2}$/.test(v)) return v;
    throw new PayloadError(path, `expected bytes as base64 text, got ${kind(v)}`);
  }
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) {
    if (typeof v === "string" && v in resolved.values) return v;
    if (Number.isInteger(v)) return v;
    throw new PayloadError(
      path,
      `expected one of ${Object.keys(resolved.values).join(", ")}, got ${JSON.stringify(v)}`,
    );
  }
  if (resolved instanceof protobuf.Type) return protoFromJson(resolved, v, path);
  throw new PayloadError(path, `unsupported field type ${type}`);
}

/** The object `Type.fromObject` takes for JSON `v`; throws PayloadError naming where it does not fit. */
export function protoFromJson(type: protobuf.Type, v: unknown, path = "payload"): Record<string, unknown> {
  if (!isObject(v)) throw new PayloadError(path, `expected an object (${type.name}), got ${kind(v)}`);
  const out: Record<string, unknown> = {};
  const byName = new Map<string, protobuf.Field>();
  for (const f of type.fieldsArray) {
    byName.set(f.name, f);
    byName.set(protobuf.util.camelCase(f.name), f);
  }
  const oneofs = new Map<string, string>();
  for (const [key, value] of Object.entries(v)) {
    const at = `${path}.${key}`;
    const field = byName.get(key);
    if (!field) throw new PayloadError(at, `not a field of ${type.name}`);
    // proto3 JSON: null is the field's default.
    if (value === null) continue;
    if (field.partOf) {
      const other = oneofs.get(field.partOf.name);
      if (other !== undefined)
        throw new PayloadError(at, `oneof ${field.partOf.name} has ${other} set already`);
      oneofs.set(field.partOf.name, key);
    }
    if (field.map) {
      if (!isObject(value)) throw new PayloadError(at, `expected an object (map), got ${kind(value)}`);
      out[field.name] = Object.fromEntries(
        Object.entries(value).map(([k, x]) => [k, scalar(field, field.type, x, `${at}.${k}`)]),
      );
    } else if (field.repeated) {
      if (!Array.isArray(value)) throw new PayloadError(at, `expected an array, got ${kind(value)}`);
      out[field.name] = value.map((x, i) => scalar(field, field.type, x, `${at}[${i}]`));
    } else out[field.name] = scalar(field, field.type, value, at);
  }
  return out;
}

/** The JSON of a decoded message (proto3 JSON: 64-bit integers and enums as text, bytes as base64). */
export function protoToJson(type: protobuf.Type, message: protobuf.Message): Record<string, unknown> {
  return type.toObject(message, { longs: String, enums: String, bytes: String });
}

/** Message indexes of the first message of a file: Confluent's one zero byte. */
export const FIRST_MESSAGE = Buffer.from([0]);

/** Skips the message indexes at the start of a Protobuf body: the position after them. */
export function skipMessageIndexes(buf: Buffer, pos: number): number {
  const readVarint = (): number => {
    let n = 0;
    let shift = 0;
    for (;;) {
      const b = buf[pos++];
      if (b === undefined) throw new PayloadError("body", "truncated message indexes");
      n |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return (n >>> 1) ^ -(n & 1);
      shift += 7;
      if (shift > 28) throw new PayloadError("body", "message index too long");
    }
  };
  const count = readVarint();
  for (let i = 0; i < count; i++) readVarint();
  return pos;
}
