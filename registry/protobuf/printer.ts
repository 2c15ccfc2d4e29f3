// Owns the text Confluent's registry stores and answers for a Protobuf schema (ProtobufSchemaUtils.toString):
// `syntax`, `package`, imports, file options, messages then enums (declaration order: serializers' message
// indexes depend on it), extends, services; two-space indentation; field options with `default` and
// `json_name` last. Normalized (`?normalize=true`): imports, options, fields (by number), enum constants,
// oneofs and reserved ranges sorted, type names fully qualified with a leading dot, map-entry messages written
// as map fields. Pure.
import {
  SCALARS,
  mapTypes,
  type EnumEl,
  type FieldEl,
  type MessageEl,
  type OneOfEl,
  type OptionEl,
  type ProtoFile,
  type ReservedValue,
  type ServiceEl,
} from "./model.ts";
import { mapTypeOf, type TypeTable } from "./types.ts";

interface Ctx {
  normalize: boolean;
  table?: TypeTable;
  packageName: string;
  scope: string[];
}

function indent(out: string[], text: string): void {
  const lines = text.split("\n");
  if (lines.length > 1 && lines.at(-1) === "") lines.pop();
  for (const line of lines) out.push(`  ${line}\n`);
}

function byName<T extends { name: string }>(ctx: Ctx, list: readonly T[]): readonly T[] {
  return ctx.normalize ? [...list].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) : list;
}

export function escapeChars(s: string): string {
  const map: Record<string, string> = {
    "\u0007": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\u000b": "\\v",
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
  };
  return [...s].map((c) => map[c] ?? c).join("");
}

function optionMapValue(v: unknown, ctx: Ctx): string {
  if (typeof v === "string") return `"${escapeChars(v)}"`;
  if (Array.isArray(v)) {
    const out = ["[\n"];
    v.forEach((x, i) => indent(out, optionMapValue(x, ctx) + (i < v.length - 1 ? "," : "")));
    return `${out.join("")}]`;
  }
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (typeof o.enum === "string" && Object.keys(o).length === 1) return o.enum;
    return `{\n${optionMap(o, ctx)}}`;
  }
  return String(v);
}

function optionMap(m: Record<string, unknown>, ctx: Ctx): string {
  const out: string[] = [];
  const keys = ctx.normalize ? Object.keys(m).sort() : Object.keys(m);
  keys.forEach((k, i) => indent(out, `${k}: ${optionMapValue(m[k], ctx)}${i < keys.length - 1 ? "," : ""}`));
  return out.join("");
}

function option(o: OptionEl, ctx: Ctx): string {
  const v = o.value;
  switch (v.kind) {
    case "STRING":
      return `${o.name} = "${escapeChars(v.value)}"`;
    case "BOOLEAN":
    case "NUMBER":
    case "ENUM":
      return `${o.name} = ${String(v.value)}`;
    case "MAP":
      return `${o.name} = {\n${optionMap(v.value, ctx)}}`;
    case "LIST":
      return `${o.name} = ${optionList(v.value, ctx)}`;
  }
}

function optionList(options: readonly OptionEl[], ctx: Ctx): string {
  if (options.length === 1) return `[${option(options[0]!, ctx)}]`;
  const out = ["[\n"];
  options.forEach((o, i) => indent(out, option(o, ctx) + (i < options.length - 1 ? "," : "")));
  return `${out.join("")}]`;
}

const optionStatement = (o: OptionEl, ctx: Ctx) => `option ${option(o, ctx)};\n`;

function qualify(ctx: Ctx, type: string): string {
  const full = ctx.table?.resolve(type, ctx.packageName, ctx.scope);
  if (full === undefined) throw new Error(`Could not resolve type: ${type}`);
  return `.${full}`;
}

function fieldText(f: FieldEl, ctx: Ctx): string {
  let label = f.label;
  let type = f.type;
  if (ctx.normalize) {
    let map = mapTypes(type);
    if (!SCALARS.has(type) && !map) {
      type = qualify(ctx, type);
      const info = ctx.table?.get(type);
      const asMap = info && mapTypeOf(info);
      if (asMap) map = mapTypes(asMap);
    }
    if (map) {
      const value = SCALARS.has(map[1])
        ? map[1]
        : (ctx.table?.resolve(map[1], ctx.packageName, ctx.scope) ?? null);
      type = `map<${map[0]}, ${value === null ? map[1] : SCALARS.has(value) ? value : `.${value}`}>`;
      label = null;
    }
  }
  let out = `${label ? `${label} ` : ""}${type} ${f.name} = ${f.tag}`;
  const opts: OptionEl[] = [...f.options];
  if (f.defaultValue !== undefined) opts.push({ name: "default", value: defaultKind(type, f.defaultValue) });
  if (f.jsonName !== undefined)
    opts.push({ name: "json_name", value: { kind: "STRING", value: f.jsonName } });
  if (opts.length > 0) out += ` ${optionList(byName(ctx, opts), ctx)}`;
  return `${out};\n`;
}

function defaultKind(type: string, value: string): OptionEl["value"] {
  const simple = type.split(".").at(-1) ?? type;
  if (simple === "bool") return { kind: "BOOLEAN", value: value === "true" };
  if (simple === "string") return { kind: "STRING", value };
  if (SCALARS.has(simple)) return { kind: "NUMBER", value };
  return { kind: "ENUM", value };
}

function reservedText(values: readonly ReservedValue[]): string {
  const parts = values.map((v) =>
    typeof v === "string" ? `"${v}"` : typeof v === "number" ? String(v) : `${v[0]} to ${v[1]}`,
  );
  return `reserved ${parts.join(", ")};\n`;
}

function reservedStart(v: ReservedValue): number {
  return typeof v === "number" ? v : typeof v === "string" ? Number.MAX_SAFE_INTEGER : v[0];
}

function oneofText(o: OneOfEl, ctx: Ctx): string {
  const out = [`oneof ${o.name} {`];
  if (o.options.length > 0) {
    out.push("\n");
    for (const opt of byName(ctx, o.options)) indent(out, optionStatement(opt, ctx));
  }
  if (o.fields.length > 0) {
    out.push("\n");
    for (const f of o.fields) indent(out, fieldText(f, ctx));
  }
  out.push("}\n");
  return out.join("");
}

function isMapEntry(ctx: Ctx, name: string): boolean {
  const info = ctx.table?.get(ctx.table.resolve(name, ctx.packageName, ctx.scope) ?? "");
  return info?.isMap === true;
}

function messageText(m: MessageEl, ctx: Ctx): string {
  const out = [`message ${m.name} {`];
  if (m.reserved.length > 0) {
    out.push("\n");
    let statements = m.reserved;
    if (ctx.normalize) {
      const flat = m.reserved.flat().map((v) => [v]);
      statements = flat.sort((a, b) => {
        const d = reservedStart(a[0]!) - reservedStart(b[0]!);
        return d !== 0 ? d : String(a[0]) < String(b[0]) ? -1 : String(a[0]) > String(b[0]) ? 1 : 0;
      });
    }
    for (const r of statements) indent(out, reservedText(r));
  }
  if (m.options.length > 0) {
    out.push("\n");
    for (const o of byName(ctx, m.options)) indent(out, optionStatement(o, ctx));
  }
  if (m.fields.length > 0) {
    out.push("\n");
    const fields = ctx.normalize ? [...m.fields].sort((a, b) => a.tag - b.tag) : m.fields;
    for (const f of fields) indent(out, fieldText(f, ctx));
  }
  if (m.oneofs.length > 0) {
    out.push("\n");
    let oneofs = m.oneofs;
    if (ctx.normalize) {
      oneofs = m.oneofs
        .filter((o) => o.fields.length > 0)
        .map((o) => ({ ...o, fields: [...o.fields].sort((a, b) => a.tag - b.tag) }))
        .sort((a, b) => a.fields[0]!.tag - b.fields[0]!.tag);
    }
    for (const o of oneofs) indent(out, oneofText(o, ctx));
  }
  if (m.extensions.length > 0) {
    out.push("\n");
    const ranges = m.extensions.map(([a, b]) => (a === b ? String(a) : `${a} to ${b}`));
    indent(out, `extensions ${ranges.join(", ")};\n`);
  }
  if (m.nested.length > 0) {
    out.push("\n");
    for (const t of m.nested) {
      if (t.kind !== "message" || (ctx.normalize && isMapEntry(ctx, t.name))) continue;
      indent(
        out,
        scoped(ctx, t.name, () => messageText(t, ctx)),
      );
    }
    for (const t of m.nested) if (t.kind === "enum") indent(out, enumText(t, ctx));
  }
  out.push("}\n");
  return out.join("");
}

function scoped(ctx: Ctx, name: string, f: () => string): string {
  ctx.scope.push(name);
  try {
    return f();
  } finally {
    ctx.scope.pop();
  }
}

function enumText(e: EnumEl, ctx: Ctx): string {
  const out = [`enum ${e.name} {`];
  if (e.options.length > 0 || e.constants.length > 0) out.push("\n");
  for (const o of byName(ctx, e.options)) indent(out, optionStatement(o, ctx));
  const constants = ctx.normalize
    ? [...e.constants].sort((a, b) => a.tag - b.tag || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    : e.constants;
  for (const c of constants) {
    const opts = c.options.length > 0 ? ` ${optionList(byName(ctx, c.options), ctx)}` : "";
    indent(out, `${c.name} = ${c.tag}${opts};\n`);
  }
  out.push("}\n");
  return out.join("");
}

function serviceText(s: ServiceEl, ctx: Ctx): string {
  const out = [`service ${s.name} {`];
  if (s.options.length > 0) {
    out.push("\n");
    for (const o of byName(ctx, s.options)) indent(out, optionStatement(o, ctx));
  }
  if (s.rpcs.length > 0) {
    out.push("\n");
    for (const r of s.rpcs) {
      const req = ctx.normalize ? qualify(ctx, r.requestType) : r.requestType;
      const res = ctx.normalize ? qualify(ctx, r.responseType) : r.responseType;
      let text = `rpc ${r.name} (${r.requestStreaming ? "stream " : ""}${req}) returns (${r.responseStreaming ? "stream " : ""}${res})`;
      if (r.options.length > 0) {
        const body = ["{\n"];
        for (const o of byName(ctx, r.options)) indent(body, optionStatement(o, ctx));
        text += ` ${body.join("")}}`;
      }
      indent(out, `${text};\n`);
    }
  }
  out.push("}\n");
  return out.join("");
}

/** Confluent's canonical text; with `table`, the normalized text (types resolved through it). */
export function printProto(file: ProtoFile, table?: TypeTable): string {
  const ctx: Ctx = { normalize: table !== undefined, packageName: file.packageName ?? "", scope: [] };
  if (table) ctx.table = table;
  const out: string[] = [];
  if (file.syntax !== null) out.push(`syntax = "${file.syntax}";\n`);
  if (file.packageName !== null) out.push(`package ${file.packageName};\n`);
  if (file.imports.length > 0 || file.publicImports.length > 0) {
    out.push("\n");
    const sorted = (l: string[]) => (ctx.normalize ? [...new Set(l)].sort() : l);
    for (const i of sorted(file.imports)) out.push(`import "${i}";\n`);
    for (const i of sorted(file.publicImports)) out.push(`import public "${i}";\n`);
  }
  if (file.options.length > 0) {
    out.push("\n");
    for (const o of byName(ctx, file.options)) out.push(optionStatement(o, ctx));
  }
  if (file.types.length > 0) {
    out.push("\n");
    for (const t of file.types) {
      if (t.kind !== "message" || (ctx.normalize && isMapEntry(ctx, t.name))) continue;
      out.push(scoped(ctx, t.name, () => messageText(t, ctx)));
    }
    for (const t of file.types) if (t.kind === "enum") out.push(enumText(t, ctx));
  }
  if (file.extendDeclarations.length > 0) {
    out.push("\n");
    for (const e of file.extendDeclarations) {
      const body: string[] = [`extend ${e.name} {\n`];
      for (const f of e.fields) indent(body, fieldText(f, { ...ctx, normalize: false }));
      out.push(`${body.join("")}}\n`);
    }
  }
  if (file.services.length > 0) {
    out.push("\n");
    for (const s of file.services) out.push(serviceText(s, ctx));
  }
  return out.join("");
}
