// Owns reading .proto text into the element model (model.ts) with protobufjs' parser. protobufjs keeps the
// declarations but drops a few things Confluent's parser (Square Wire) keeps: the `syntax` line, which imports
// are `public`, proto2's `optional` label, the grouping of `reserved` statements, and whether an option value
// was a quoted string or an identifier; those are recovered from the comment-free source text. Pure.
import protobuf from "protobufjs";
import {
  ProtobufSchemaError,
  type EnumEl,
  type ExtendEl,
  type FieldEl,
  type Label,
  type MessageEl,
  type OneOfEl,
  type ProtoFile,
  type ServiceEl,
  type TypeEl,
} from "./model.ts";
import { parseCommonProto } from "./fast-parse.ts";
import { fieldEl, hints, options, reservedStatements, type Hints } from "./parse-common.ts";

export function parseProto(text: string): ProtoFile {
  // Most schemas use the common subset, read without building protobufjs' reflection tree (which cost most of
  // a Protobuf registration's CPU); anything else, errors included, is protobufjs' to read.
  return parseCommonProto(text) ?? parseProtoWithProtobufjs(text);
}

/** Reads any .proto text protobufjs reads (the reference the fast reader is tested against). */
export function parseProtoWithProtobufjs(text: string): ProtoFile {
  let parsed: protobuf.IParserResult;
  try {
    parsed = protobuf.parse(text, new protobuf.Root(), { keepCase: true });
  } catch (e) {
    throw new ProtobufSchemaError(`Could not parse Protobuf - ${(e as Error).message}`);
  }
  const h = hints(text);
  const pkg = parsed.package ?? null;
  const ns = pkg ? parsed.root.lookup(pkg) : parsed.root;
  if (!(ns instanceof protobuf.Namespace))
    throw new ProtobufSchemaError(`package ${pkg} holds no declarations`);
  const imports = [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])];
  const file: ProtoFile = {
    syntax: h.syntax,
    packageName: pkg,
    imports: imports.filter((i) => !h.publicImports.has(i)),
    publicImports: imports.filter((i) => h.publicImports.has(i)),
    options: options(ns.options, h),
    types: [],
    services: [],
    extendDeclarations: [],
  };
  const proto2 = h.syntax !== "proto3";
  for (const child of ns.nestedArray) {
    if (child instanceof protobuf.Type) file.types.push(message(child, h, proto2));
    else if (child instanceof protobuf.Enum) file.types.push(enumeration(child, h));
    else if (child instanceof protobuf.Service) file.services.push(service(child, h));
    else if (child instanceof protobuf.Field && child.extend)
      addExtend(file.extendDeclarations, child, h, proto2);
  }
  return file;
}

function addExtend(list: ExtendEl[], f: protobuf.Field, h: Hints, proto2: boolean): void {
  const name = f.extend ?? "";
  let ext = list.find((e) => e.name === name);
  if (!ext) list.push((ext = { name, fields: [] }));
  ext.fields.push(field(f, h, proto2 ? "optional" : null));
}

function field(f: protobuf.Field, h: Hints, label: Label): FieldEl {
  const type = f instanceof protobuf.MapField ? `map<${f.keyType}, ${f.type}>` : f.type;
  return fieldEl(f.name, f.id, type, label, f.options ?? {}, h);
}

function labelOf(f: protobuf.Field, proto2: boolean): Label {
  // `rule` as parsed (the `required`/`repeated` getters wait for feature resolution).
  const rule = (f as unknown as { rule?: string }).rule;
  if (rule === "repeated") return "repeated";
  if (rule === "required") return "required";
  if (f instanceof protobuf.MapField) return null;
  if (f.options?.proto3_optional === true) return "optional";
  return proto2 ? "optional" : null;
}

function message(t: protobuf.Type, h: Hints, proto2: boolean): MessageEl {
  const synthetic = new Set(
    t.oneofsArray
      .filter((o) => o.fieldsArray.some((f) => f.options?.proto3_optional === true))
      .map((o) => o.name),
  );
  const fields: FieldEl[] = [];
  for (const f of t.fieldsArray) {
    if (f.declaringField || f.name.startsWith(".")) continue;
    if (f.partOf && !synthetic.has(f.partOf.name)) continue;
    fields.push(field(f, h, labelOf(f, proto2)));
  }
  const oneofs: OneOfEl[] = t.oneofsArray
    .filter((o) => !synthetic.has(o.name))
    .map((o) => ({
      name: o.name,
      fields: o.fieldsArray.map((f) => field(f, h, null)),
      options: options(o.options, h),
    }));
  const nested: TypeEl[] = [];
  for (const n of t.nestedArray) {
    if (n instanceof protobuf.Type) nested.push(message(n, h, proto2));
    else if (n instanceof protobuf.Enum) nested.push(enumeration(n, h));
  }
  return {
    kind: "message",
    name: t.name,
    fields,
    oneofs,
    nested,
    options: options(t.options, h),
    reserved: reservedStatements(t.reserved ?? []),
    extensions: (t.extensions ?? []).map(([a, b]) => [a, b] as [number, number]),
  };
}

function enumeration(e: protobuf.Enum, h: Hints): EnumEl {
  const valuesOptions = (e as unknown as { valuesOptions?: Record<string, Record<string, unknown>> })
    .valuesOptions;
  return {
    kind: "enum",
    name: e.name,
    options: options(e.options, h),
    constants: Object.entries(e.values).map(([name, tag]) => ({
      name,
      tag,
      options: options(valuesOptions?.[name], h),
    })),
  };
}

function service(s: protobuf.Service, h: Hints): ServiceEl {
  return {
    name: s.name,
    options: options(s.options, h),
    rpcs: s.methodsArray.map((m) => ({
      name: m.name,
      requestType: m.requestType,
      responseType: m.responseType,
      requestStreaming: m.requestStream === true,
      responseStreaming: m.responseStream === true,
      options: options(m.options, h),
    })),
  };
}
