// Owns the element model of a .proto file: what Confluent's registry keeps of a schema (Square Wire's
// ProtoFileElement) — declarations in source order, type names as written, labels as written, options with the
// kind of their value. The canonical text (printer.ts), the compatibility diff (diff.ts) and the descriptor
// (descriptor.ts) are all computed from it. Pure data.

/** The kind of an option value decides how it is printed: STRING quoted, ENUM/NUMBER/BOOLEAN bare. */
export type OptionValue =
  | { kind: "STRING"; value: string }
  | { kind: "ENUM"; value: string }
  | { kind: "NUMBER"; value: number | string }
  | { kind: "BOOLEAN"; value: boolean }
  | { kind: "MAP"; value: Record<string, unknown> }
  | { kind: "LIST"; value: OptionEl[] };

export interface OptionEl {
  /** As written, parentheses included: `java_package`, `(my.opt).a`. */
  name: string;
  value: OptionValue;
}

export type Label = "optional" | "required" | "repeated" | null;

export interface FieldEl {
  name: string;
  tag: number;
  /** As written: `string`, `Inner`, `.pkg.Other`, `map<string, Inner>`. */
  type: string;
  label: Label;
  options: OptionEl[];
  defaultValue?: string;
  jsonName?: string;
}

export interface OneOfEl {
  name: string;
  fields: FieldEl[];
  options: OptionEl[];
}

/** A reserved statement: numbers, ranges (inclusive) and names, in the order written. */
export type ReservedValue = number | [number, number] | string;

export interface MessageEl {
  kind: "message";
  name: string;
  /** Fields outside any oneof, in declaration order. */
  fields: FieldEl[];
  oneofs: OneOfEl[];
  nested: TypeEl[];
  options: OptionEl[];
  reserved: ReservedValue[][];
  extensions: [number, number][];
}

export interface EnumConstantEl {
  name: string;
  tag: number;
  options: OptionEl[];
}

export interface EnumEl {
  kind: "enum";
  name: string;
  constants: EnumConstantEl[];
  options: OptionEl[];
}

export type TypeEl = MessageEl | EnumEl;

export interface RpcEl {
  name: string;
  requestType: string;
  responseType: string;
  requestStreaming: boolean;
  responseStreaming: boolean;
  options: OptionEl[];
}

export interface ServiceEl {
  name: string;
  rpcs: RpcEl[];
  options: OptionEl[];
}

export interface ExtendEl {
  name: string;
  fields: FieldEl[];
}

export interface ProtoFile {
  syntax: string | null;
  packageName: string | null;
  imports: string[];
  publicImports: string[];
  options: OptionEl[];
  types: TypeEl[];
  services: ServiceEl[];
  extendDeclarations: ExtendEl[];
}

export class ProtobufSchemaError extends Error {
  override readonly name = "ProtobufSchemaError";
}

export const SCALARS = new Set([
  "double",
  "float",
  "int32",
  "int64",
  "uint32",
  "uint64",
  "sint32",
  "sint64",
  "fixed32",
  "fixed64",
  "sfixed32",
  "sfixed64",
  "bool",
  "string",
  "bytes",
]);

/** `map<K, V>` → [K, V]; anything else → undefined. */
export function mapTypes(type: string): [string, string] | undefined {
  const m = /^map\s*<\s*([^,\s]+)\s*,\s*([^>\s]+)\s*>$/.exec(type);
  return m ? [m[1]!, m[2]!] : undefined;
}

export function findOption(options: readonly OptionEl[], name: string): OptionValue | undefined {
  return options.find((o) => o.name === name)?.value;
}
