// Owns the binary form of a schema: a FileDescriptorProto, as Confluent's serializers send it (base64 in the
// `schema` attribute) and read it back (`?format=serialized`). Decoding turns one into the element model the
// way Confluent's ProtobufSchema.toProtoFile(FileDescriptorProto) does (type names as in the descriptor,
// map-entry messages kept as messages); encoding builds one from the model with fully qualified type names,
// map fields as `<Name>Entry` messages and proto3 `optional` as synthetic oneofs, as its DynamicSchema does.
// Uses protobufjs' descriptor types (protobufjs/ext/descriptor). Pure.
import protobuf from "protobufjs";
import descriptorModule from "protobufjs/ext/descriptor/index.js";
import {
  ProtobufSchemaError,
  SCALARS,
  mapTypes,
  type EnumEl,
  type FieldEl,
  type Label,
  type MessageEl,
  type OptionEl,
  type ProtoFile,
  type TypeEl,
} from "./model.ts";
import type { TypeTable } from "./types.ts";

const d = descriptorModule as unknown as Record<string, protobuf.Type>;
const FileDescriptorProto = d.FileDescriptorProto!;

type Obj = Record<string, unknown>;

const FILE_OPTIONS: [string, "STRING" | "BOOLEAN" | "ENUM"][] = [
  ["java_package", "STRING"],
  ["java_outer_classname", "STRING"],
  ["java_multiple_files", "BOOLEAN"],
  ["java_generate_equals_and_hash", "BOOLEAN"],
  ["java_string_check_utf8", "BOOLEAN"],
  ["optimize_for", "ENUM"],
  ["go_package", "STRING"],
  ["cc_generic_services", "BOOLEAN"],
  ["java_generic_services", "BOOLEAN"],
  ["py_generic_services", "BOOLEAN"],
  ["php_generic_services", "BOOLEAN"],
  ["deprecated", "BOOLEAN"],
  ["cc_enable_arenas", "BOOLEAN"],
  ["objc_class_prefix", "STRING"],
  ["csharp_namespace", "STRING"],
  ["swift_prefix", "STRING"],
  ["php_class_prefix", "STRING"],
  ["php_namespace", "STRING"],
  ["php_metadata_namespace", "STRING"],
  ["ruby_package", "STRING"],
];

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

function knownOptions(
  o: Obj | undefined,
  spec: readonly [string, "STRING" | "BOOLEAN" | "ENUM"][],
): OptionEl[] {
  if (!o) return [];
  const out: OptionEl[] = [];
  for (const [name, kind] of spec) {
    const v = o[camel(name)];
    if (v === undefined || v === null) continue;
    out.push({
      name,
      value:
        kind === "BOOLEAN"
          ? { kind, value: v === true }
          : { kind, value: typeof v === "string" || typeof v === "number" ? String(v) : JSON.stringify(v) },
    });
  }
  return out;
}

/** Whether `text` is base64 of a FileDescriptorProto (what serializers register). */
export function decodeDescriptor(text: string): ProtoFile | undefined {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/=\s]+$/.test(trimmed)) return undefined;
  let fdp: Obj;
  try {
    const bytes = Buffer.from(trimmed, "base64");
    fdp = FileDescriptorProto.toObject(FileDescriptorProto.decode(bytes), {
      enums: String,
      longs: Number,
      defaults: false,
    });
  } catch {
    return undefined;
  }
  const syntax = fdp.syntax === "proto3" || fdp.syntax === "proto2" ? (fdp.syntax as string) : null;
  const proto3 = syntax === "proto3";
  const deps = (fdp.dependency as string[] | undefined) ?? [];
  const pub = new Set((fdp.publicDependency as number[] | undefined) ?? []);
  const extendDeclarations = extendsOf((fdp.extension as Obj[] | undefined) ?? [], proto3);
  return {
    syntax,
    packageName: typeof fdp.package === "string" && fdp.package !== "" ? fdp.package : null,
    imports: deps.filter((_, i) => !pub.has(i)),
    publicImports: deps.filter((_, i) => pub.has(i)),
    options: knownOptions(fdp.options as Obj | undefined, FILE_OPTIONS),
    types: [
      ...((fdp.messageType as Obj[] | undefined) ?? []).map((m) => messageOf(m, proto3)),
      ...((fdp.enumType as Obj[] | undefined) ?? []).map(enumOf),
    ],
    services: ((fdp.service as Obj[] | undefined) ?? []).map((s) => ({
      name: String(s.name),
      options: knownOptions(s.options as Obj | undefined, [["deprecated", "BOOLEAN"]]),
      rpcs: ((s.method as Obj[] | undefined) ?? []).map((m) => ({
        name: String(m.name),
        requestType: String(m.inputType),
        responseType: String(m.outputType),
        requestStreaming: m.clientStreaming === true,
        responseStreaming: m.serverStreaming === true,
        options: knownOptions(m.options as Obj | undefined, [
          ["deprecated", "BOOLEAN"],
          ["idempotency_level", "ENUM"],
        ]),
      })),
    })),
    extendDeclarations,
  };
}

function extendsOf(fields: Obj[], proto3: boolean) {
  const out: { name: string; fields: FieldEl[] }[] = [];
  for (const f of fields) {
    const name = String(f.extendee);
    let e = out.find((x) => x.name === name);
    if (!e) out.push((e = { name, fields: [] }));
    e.fields.push(fieldOf(f, proto3, false));
  }
  return out;
}

function fieldOf(f: Obj, proto3: boolean, inOneof: boolean): FieldEl {
  const type =
    typeof f.typeName === "string" && f.typeName !== ""
      ? f.typeName
      : String(f.type)
          .replace(/^TYPE_/, "")
          .toLowerCase();
  let label: Label = null;
  if (!inOneof) {
    if (f.proto3Optional === true) label = "optional";
    else if (f.label === "LABEL_REPEATED") label = "repeated";
    else if (!proto3) label = f.label === "LABEL_REQUIRED" ? "required" : "optional";
  }
  const el: FieldEl = {
    name: String(f.name),
    tag: Number(f.number),
    type,
    label,
    options: knownOptions(f.options as Obj | undefined, [
      ["ctype", "ENUM"],
      ["packed", "BOOLEAN"],
      ["jstype", "ENUM"],
      ["deprecated", "BOOLEAN"],
    ]),
  };
  if (typeof f.jsonName === "string") el.jsonName = f.jsonName;
  if (!proto3 && typeof f.defaultValue === "string") el.defaultValue = f.defaultValue;
  return el;
}

function messageOf(m: Obj, proto3: boolean): MessageEl {
  const oneofNames = ((m.oneofDecl as Obj[] | undefined) ?? []).map((o) => String(o.name));
  const oneofFields: FieldEl[][] = oneofNames.map(() => []);
  const fields: FieldEl[] = [];
  for (const f of (m.field as Obj[] | undefined) ?? []) {
    if (typeof f.oneofIndex === "number" && f.proto3Optional !== true)
      oneofFields[f.oneofIndex]?.push(fieldOf(f, proto3, true));
    else fields.push(fieldOf(f, proto3, false));
  }
  const reserved = [
    ...((m.reservedRange as Obj[] | undefined) ?? []).map((r) => {
      const start = Number(r.start);
      const end = Number(r.end) - 1;
      return [start === end ? start : ([start, end] as [number, number])];
    }),
    ...((m.reservedName as string[] | undefined) ?? []).map((n) => [n]),
  ];
  return {
    kind: "message",
    name: String(m.name),
    fields,
    oneofs: oneofNames
      .map((name, i) => ({ name, fields: oneofFields[i]!, options: [] }))
      .filter((o) => o.fields.length > 0),
    nested: [
      ...((m.nestedType as Obj[] | undefined) ?? []).map((n) => messageOf(n, proto3)),
      ...((m.enumType as Obj[] | undefined) ?? []).map(enumOf),
    ],
    options: knownOptions(m.options as Obj | undefined, [
      ["no_standard_descriptor_accessor", "BOOLEAN"],
      ["deprecated", "BOOLEAN"],
      ["map_entry", "BOOLEAN"],
    ]),
    reserved,
    extensions: ((m.extensionRange as Obj[] | undefined) ?? []).map((r) => [
      Number(r.start),
      Number(r.end) - 1,
    ]),
  };
}

function enumOf(e: Obj): EnumEl {
  return {
    kind: "enum",
    name: String(e.name),
    options: knownOptions(e.options as Obj | undefined, [
      ["allow_alias", "BOOLEAN"],
      ["deprecated", "BOOLEAN"],
    ]),
    constants: ((e.value as Obj[] | undefined) ?? []).map((v) => ({
      name: String(v.name),
      tag: Number(v.number ?? 0),
      options: knownOptions(v.options as Obj | undefined, [["deprecated", "BOOLEAN"]]),
    })),
  };
}

// ---- encoding ----

const SCALAR_TYPE: Record<string, string> = Object.fromEntries(
  [...SCALARS].map((s) => [s, `TYPE_${s.toUpperCase()}`]),
);

/** protoc's map-entry name for a field: snake_case to UpperCamel, plus `Entry`. */
export function mapEntryName(field: string): string {
  const camelized = field.includes("_")
    ? field
        .toLowerCase()
        .split("_")
        .map((p) => (p ? p[0]!.toUpperCase() + p.slice(1) : p))
        .join("")
    : field;
  return `${camelized}Entry`;
}

function optionsObject(options: readonly OptionEl[]): Obj | undefined {
  const out: Obj = {};
  for (const o of options) {
    if (o.name.startsWith("(")) continue;
    const v = o.value;
    if (v.kind === "BOOLEAN" || v.kind === "STRING" || v.kind === "ENUM" || v.kind === "NUMBER")
      out[camel(o.name)] = v.value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

interface EncodeCtx {
  table: TypeTable;
  packageName: string;
  proto3: boolean;
}

function typeRef(ctx: EncodeCtx, type: string, scope: string[]): { type: string; typeName?: string } {
  if (SCALARS.has(type)) return { type: SCALAR_TYPE[type]! };
  const full = ctx.table.resolve(type, ctx.packageName, scope);
  if (full === undefined) throw new ProtobufSchemaError(`Could not resolve type: ${type}`);
  const info = ctx.table.get(full)!;
  return { type: info.type.kind === "enum" ? "TYPE_ENUM" : "TYPE_MESSAGE", typeName: `.${full}` };
}

function encodeField(ctx: EncodeCtx, f: FieldEl, scope: string[], nested: Obj[], oneofIndex?: number): Obj {
  const out: Obj = { name: f.name, number: f.tag, jsonName: f.jsonName };
  const map = mapTypes(f.type);
  if (map) {
    const entry = mapEntryName(f.name);
    nested.push({
      name: entry,
      field: [
        { name: "key", number: 1, label: "LABEL_OPTIONAL", ...typeRef(ctx, map[0], scope) },
        { name: "value", number: 2, label: "LABEL_OPTIONAL", ...typeRef(ctx, map[1], scope) },
      ],
      options: { mapEntry: true },
    });
    Object.assign(out, { label: "LABEL_REPEATED", type: "TYPE_MESSAGE" });
    out.typeName = `.${[ctx.packageName, ...scope, entry].filter(Boolean).join(".")}`;
  } else {
    out.label =
      f.label === "repeated"
        ? "LABEL_REPEATED"
        : f.label === "required"
          ? "LABEL_REQUIRED"
          : "LABEL_OPTIONAL";
    Object.assign(out, typeRef(ctx, f.type, scope));
  }
  if (oneofIndex !== undefined) out.oneofIndex = oneofIndex;
  if (f.defaultValue !== undefined && !ctx.proto3) out.defaultValue = f.defaultValue;
  const options = optionsObject(f.options);
  if (options) out.options = options;
  return out;
}

function encodeMessage(ctx: EncodeCtx, m: MessageEl, scope: string[]): Obj {
  const inner = [...scope, m.name];
  const nestedTypes: Obj[] = m.nested
    .filter((t): t is MessageEl => t.kind === "message")
    .map((t) => encodeMessage(ctx, t, inner));
  const field: Obj[] = [];
  const oneofDecl: Obj[] = [];
  m.oneofs.forEach((o, i) => {
    oneofDecl.push({ name: o.name });
    for (const f of o.fields) field.push(encodeField(ctx, f, inner, nestedTypes, i));
  });
  for (const f of m.fields) {
    if (ctx.proto3 && f.label === "optional") {
      // proto3 `optional`: a synthetic oneof named `_<field>`, after the real ones.
      oneofDecl.push({ name: `_${f.name}` });
      field.push({ ...encodeField(ctx, f, inner, nestedTypes, oneofDecl.length - 1), proto3Optional: true });
    } else field.push(encodeField(ctx, f, inner, nestedTypes));
  }
  const out: Obj = {
    name: m.name,
    field,
    nestedType: nestedTypes,
    enumType: m.nested.filter((t): t is EnumEl => t.kind === "enum").map(encodeEnum),
    oneofDecl,
    reservedRange: m.reserved
      .flat()
      .filter((r) => typeof r !== "string")
      .map((r) => (typeof r === "number" ? { start: r, end: r + 1 } : { start: r[0], end: r[1] + 1 })),
    reservedName: m.reserved.flat().filter((r) => typeof r === "string"),
    extensionRange: m.extensions.map(([a, b]) => ({ start: a, end: b + 1 })),
  };
  const options = optionsObject(m.options);
  if (options) out.options = options;
  return out;
}

function encodeEnum(e: EnumEl): Obj {
  const out: Obj = {
    name: e.name,
    value: e.constants.map((c) => {
      const v: Obj = { name: c.name, number: c.tag };
      const o = optionsObject(c.options);
      if (o) v.options = o;
      return v;
    }),
  };
  const options = optionsObject(e.options);
  if (options) out.options = options;
  return out;
}

/** The FileDescriptorProto of `file` (named `name`), base64, as `?format=serialized` answers it. */
export function encodeDescriptor(file: ProtoFile, table: TypeTable, name = "default"): string {
  const ctx: EncodeCtx = { table, packageName: file.packageName ?? "", proto3: file.syntax === "proto3" };
  const deps = [...file.imports, ...file.publicImports];
  const obj: Obj = {
    name,
    package: file.packageName ?? undefined,
    dependency: deps,
    publicDependency: file.publicImports.map((_, i) => file.imports.length + i),
    messageType: file.types
      .filter((t): t is MessageEl => t.kind === "message")
      .map((t) => encodeMessage(ctx, t, [])),
    enumType: file.types.filter((t): t is EnumEl => t.kind === "enum").map(encodeEnum),
    service: file.services.map((s) => ({
      name: s.name,
      method: s.rpcs.map((r) => ({
        name: r.name,
        inputType: `.${ctx.table.resolve(r.requestType, ctx.packageName, []) ?? r.requestType}`,
        outputType: `.${ctx.table.resolve(r.responseType, ctx.packageName, []) ?? r.responseType}`,
        clientStreaming: r.requestStreaming || undefined,
        serverStreaming: r.responseStreaming || undefined,
      })),
    })),
    syntax: file.syntax ?? undefined,
  };
  const options = optionsObject(file.options);
  if (options) obj.options = options;
  return Buffer.from(FileDescriptorProto.encode(FileDescriptorProto.fromObject(obj)).finish()).toString(
    "base64",
  );
}

export type { TypeEl };
