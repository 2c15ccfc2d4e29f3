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
  type OptionEl,
  type OptionValue,
  type ProtoFile,
  type ReservedValue,
  type ServiceEl,
  type TypeEl,
} from "./model.ts";

/** The source without comments (strings kept), so regular expressions can find statements. */
export function stripComments(src: string): string {
  if (!src.includes("/")) return src;
  return src.replace(
    /("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')|\/\/[^\n]*|\/\*[\s\S]*?\*\//g,
    (m, quoted: string | undefined) => quoted ?? (m.startsWith("//") ? "" : " "),
  );
}

interface Hints {
  syntax: string | null;
  publicImports: Set<string>;
  /** Contents of every quoted string of the file: an option value found here was written quoted. */
  quoted: Set<string>;
}

function hints(src: string): Hints {
  const clean = stripComments(src);
  const syntax = /(?:^|[;}\s])syntax\s*=\s*["'](proto[23])["']\s*;/.exec(clean)?.[1] ?? null;
  const publicImports = new Set<string>();
  for (const m of clean.matchAll(/\bimport\s+public\s+["']([^"']+)["']/g)) publicImports.add(m[1]!);
  const quoted = new Set<string>();
  for (const m of clean.matchAll(/"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'/g)) {
    quoted.add((m[1] ?? m[2] ?? "").replace(/\\(.)/g, "$1"));
  }
  return { syntax, publicImports, quoted };
}

export function parseProto(text: string): ProtoFile {
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

function optionValue(v: unknown, h: Hints): OptionValue {
  if (typeof v === "boolean") return { kind: "BOOLEAN", value: v };
  if (typeof v === "number") return { kind: "NUMBER", value: v };
  if (typeof v === "string")
    return h.quoted.has(v) ? { kind: "STRING", value: v } : { kind: "ENUM", value: v };
  if (Array.isArray(v)) return { kind: "MAP", value: { ...v } };
  return { kind: "MAP", value: markMap(v as Record<string, unknown>, h) };
}

/** Aggregate option values: identifiers that were never quoted are kept as enum markers. */
function markMap(v: Record<string, unknown>, h: Hints): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x === "string" && !h.quoted.has(x)) out[k] = { enum: x };
    else if (x !== null && typeof x === "object" && !Array.isArray(x))
      out[k] = markMap(x as Record<string, unknown>, h);
    else out[k] = x;
  }
  return out;
}

function options(o: Record<string, unknown> | undefined, h: Hints, skip: readonly string[] = []): OptionEl[] {
  if (!o) return [];
  return Object.entries(o)
    .filter(([k]) => !skip.includes(k))
    .map(([name, v]) => ({ name, value: optionValue(v, h) }));
}

function field(f: protobuf.Field, h: Hints, label: Label): FieldEl {
  const o = f.options ?? {};
  const type = f instanceof protobuf.MapField ? `map<${f.keyType}, ${f.type}>` : f.type;
  const el: FieldEl = {
    name: f.name,
    tag: f.id,
    type,
    label,
    options: options(o, h, ["proto3_optional", "default", "json_name"]),
  };
  if (o.default !== undefined) el.defaultValue = String(o.default);
  if (typeof o.json_name === "string") el.jsonName = o.json_name;
  return el;
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

/** protobufjs flattens reserved statements; numbers and names are regrouped, each kind in one statement. */
function reservedStatements(flat: (number[] | string)[]): ReservedValue[][] {
  const out: ReservedValue[][] = [];
  let current: ReservedValue[] | undefined;
  let kind: "n" | "s" | undefined;
  for (const r of flat) {
    const k = typeof r === "string" ? "s" : "n";
    if (k !== kind) out.push((current = []));
    kind = k;
    if (typeof r === "string") current!.push(r);
    else current!.push(r[0] === r[1] ? r[0]! : [r[0]!, r[1]!]);
  }
  return out;
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
