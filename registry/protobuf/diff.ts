// Owns Protobuf schema compatibility, a port of Confluent's protobuf diff rules (SchemaDiff, MessageSchemaDiff,
// FieldSchemaDiff, OneOfDiff, EnumSchemaDiff): the differences from an original (writer) schema to an update
// (reader), each with the path where it was found, and which of them are compatible. Confluent's
// isBackwardCompatible(previous) is `diff(previous, this)` keeping the incompatible ones. Pure.
import {
  SCALARS,
  mapTypes,
  type EnumEl,
  type FieldEl,
  type Label,
  type MessageEl,
  type ProtoFile,
  type TypeEl,
} from "./model.ts";
import { mapTypeOf, type TypeInfo, type TypeTable } from "./types.ts";

export const COMPATIBLE_CHANGES = new Set([
  "MESSAGE_ADDED",
  "MESSAGE_MOVED",
  "ENUM_ADDED",
  "ENUM_REMOVED",
  "ENUM_CONST_ADDED",
  "ENUM_CONST_CHANGED",
  "ENUM_CONST_REMOVED",
  "FIELD_ADDED",
  "FIELD_REMOVED",
  "FIELD_NAME_CHANGED",
  "FIELD_STRING_OR_BYTES_LABEL_CHANGED",
  "ONEOF_ADDED",
  "ONEOF_REMOVED",
  "ONEOF_FIELD_ADDED",
]);

export interface Difference {
  type: string;
  path: string;
}

export interface Side {
  file: ProtoFile;
  table: TypeTable;
}

class Context {
  diffs: Difference[] = [];
  path: string[] = [];
  names: string[] = [];
  /** Messages being compared further up the stack (recursive types). */
  readonly inProgress: Set<MessageEl>;
  pkg: [string, string];
  readonly sides: [TypeTable, TypeTable];

  constructor(sides: [TypeTable, TypeTable], pkg: [string, string], inProgress = new Set<MessageEl>()) {
    this.sides = sides;
    this.pkg = pkg;
    this.inProgress = inProgress;
  }

  sub(): Context {
    const c = new Context(this.sides, [...this.pkg], new Set(this.inProgress));
    c.path = [...this.path];
    c.names = [...this.names];
    return c;
  }

  add(type: string, attribute?: string): void {
    const path = attribute === undefined ? this.path : [...this.path, attribute];
    this.diffs.push({ type, path: `#/${path.join("/")}` });
  }

  compatible(): boolean {
    return this.diffs.every((d) => COMPATIBLE_CHANGES.has(d.type));
  }

  inPath<T>(p: string, f: () => T): T {
    this.path.push(p);
    try {
      return f();
    } finally {
      this.path.pop();
    }
  }

  inName<T>(n: string, f: () => T): T {
    this.names.push(n);
    try {
      return this.inPath(n, f);
    } finally {
      this.names.pop();
    }
  }

  resolve(name: string, side: 0 | 1): string | undefined {
    const table = this.sides[side];
    if (name.startsWith(".")) return table.get(name) ? name.slice(1) : undefined;
    const prefix = [...(this.pkg[side] ? [this.pkg[side]] : []), ...this.names];
    while (prefix.length > 0) {
      const n = `${prefix.join(".")}.${name}`;
      if (table.get(n)) return n;
      prefix.pop();
    }
    return table.get(name) ? name : undefined;
  }

  type(name: string, side: 0 | 1): TypeInfo | undefined {
    const full = this.resolve(name, side);
    return full === undefined ? undefined : this.sides[side].get(full);
  }
}

/** Every difference from `original` to `update` (Confluent's SchemaDiff.compare). */
export function diffProto(original: Side, update: Side): Difference[] {
  const ctx = new Context(
    [original.table, update.table],
    [original.file.packageName ?? "", update.file.packageName ?? ""],
  );
  if ((original.file.packageName ?? null) !== (update.file.packageName ?? null)) ctx.add("PACKAGE_CHANGED");
  compareTypes(ctx, original.file.types, update.file.types);
  return ctx.diffs;
}

function indexTypes(types: readonly TypeEl[]) {
  const messages = new Map<string, MessageEl>();
  const indexes = new Map<string, number>();
  const enums = new Map<string, EnumEl>();
  let i = 0;
  for (const t of types) {
    if (t.kind === "message") {
      messages.set(t.name, t);
      indexes.set(t.name, i++);
    } else enums.set(t.name, t);
  }
  return { messages, indexes, enums };
}

function union<T>(a: Iterable<T>, b: Iterable<T>): T[] {
  return [...new Set([...a, ...b])];
}

function compareTypes(ctx: Context, original: readonly TypeEl[], update: readonly TypeEl[]): void {
  const o = indexTypes(original);
  const u = indexTypes(update);
  for (const name of union(o.messages.keys(), u.messages.keys())) {
    ctx.inName(name, () => {
      const om = o.messages.get(name);
      const um = u.messages.get(name);
      if (!um) {
        const info = ctx.type(name, 0);
        if (info && !info.isMap) ctx.add("MESSAGE_REMOVED");
      } else if (!om) {
        const info = ctx.type(name, 1);
        if (info && !info.isMap) ctx.add("MESSAGE_ADDED");
      } else {
        compareMessages(ctx, om, um);
        // Moving a message is compatible: a payload's message indexes are those of the schema of its id.
        if (o.indexes.get(name) !== u.indexes.get(name)) ctx.add("MESSAGE_MOVED");
      }
    });
  }
  for (const name of union(o.enums.keys(), u.enums.keys())) {
    ctx.inName(name, () => {
      const oe = o.enums.get(name);
      const ue = u.enums.get(name);
      if (!ue) ctx.add("ENUM_REMOVED");
      else if (!oe) ctx.add("ENUM_ADDED");
      else compareEnums(ctx, oe, ue);
    });
  }
}

function compareEnums(ctx: Context, original: EnumEl, update: EnumEl): void {
  const o = new Map(original.constants.map((c) => [c.tag, c]));
  const u = new Map(update.constants.map((c) => [c.tag, c]));
  for (const tag of union(o.keys(), u.keys())) {
    ctx.inPath(String(tag), () => {
      const oc = o.get(tag);
      const uc = u.get(tag);
      if (!uc) ctx.add("ENUM_CONST_REMOVED");
      else if (!oc) ctx.add("ENUM_CONST_ADDED");
      else if (oc.name !== uc.name) ctx.add("ENUM_CONST_CHANGED");
    });
  }
}

function compareMessages(ctx: Context, original: MessageEl, update: MessageEl): void {
  if (!ctx.inProgress.has(original)) {
    ctx.inProgress.add(original);
    try {
      compareFields(ctx, original, update);
    } finally {
      ctx.inProgress.delete(original);
    }
  }
  compareTypes(ctx, original.nested, update.nested);
}

function compareFields(ctx: Context, original: MessageEl, update: MessageEl): void {
  const oByTag = new Map(original.fields.map((f) => [f.tag, f]));
  const uByTag = new Map(update.fields.map((f) => [f.tag, f]));
  const oAll = new Map(oByTag);
  const uAll = new Map(uByTag);
  const oOneofOf = new Map<number, string>();
  const uOneofOf = new Map<number, string>();
  const oOneofs = new Map(original.oneofs.map((o) => [o.name, o]));
  const uOneofs = new Map(update.oneofs.map((o) => [o.name, o]));
  const oOneofTags = new Set<number>();
  for (const oneof of original.oneofs) {
    for (const f of oneof.fields) {
      oOneofTags.add(f.tag);
      oAll.set(f.tag, f);
      oOneofOf.set(f.tag, oneof.name);
    }
  }
  for (const oneof of update.oneofs) {
    ctx.inPath(oneof.name, () => {
      let moved = 0;
      let existing = 0;
      for (const f of oneof.fields) {
        uAll.set(f.tag, f);
        uOneofOf.set(f.tag, oneof.name);
        // A field moved into a oneof is not reported as removed.
        if (oByTag.delete(f.tag)) moved++;
        else if (oOneofTags.has(f.tag)) existing++;
      }
      if (moved > 1) ctx.add("MULTIPLE_FIELDS_MOVED_TO_ONEOF");
      else if (moved === 1 && existing > 0) ctx.add("FIELD_MOVED_TO_EXISTING_ONEOF");
    });
  }
  for (const name of union(oOneofs.keys(), uOneofs.keys())) {
    ctx.inPath(name, () => {
      const oo = oOneofs.get(name);
      const uo = uOneofs.get(name);
      if (!uo) ctx.add("ONEOF_REMOVED");
      else if (!oo) ctx.add("ONEOF_ADDED");
      else compareOneofs(ctx, oo.fields, uo.fields, new Set(uAll.keys()));
    });
  }
  for (const tag of union(oByTag.keys(), uByTag.keys())) {
    ctx.inPath(String(tag), () => {
      const of = oByTag.get(tag);
      const uf = uByTag.get(tag);
      if (!uf) ctx.add(of!.label === "required" ? "REQUIRED_FIELD_REMOVED" : "FIELD_REMOVED");
      else if (!of) ctx.add(uf.label === "required" ? "REQUIRED_FIELD_ADDED" : "FIELD_ADDED");
      else compareField(ctx, of, uf);
    });
  }
  // Fields whose oneof membership changed (moved in or out of a oneof, or its oneof renamed) are compared by
  // number too, so a type change is never hidden by the move.
  for (const tag of [...oAll.keys()].filter((t) => uAll.has(t)).sort((a, b) => a - b)) {
    const oo = oOneofOf.get(tag);
    const uo = uOneofOf.get(tag);
    if ((oo === undefined && uo === undefined) || (oo !== undefined && oo === uo)) continue;
    ctx.inPath(String(tag), () => compareField(ctx, oAll.get(tag)!, uAll.get(tag)!));
  }
}

function compareOneofs(ctx: Context, original: FieldEl[], update: FieldEl[], updateTags: Set<number>): void {
  const o = new Map(original.map((f) => [f.tag, f]));
  const u = new Map(update.map((f) => [f.tag, f]));
  for (const tag of union(o.keys(), u.keys()).sort((a, b) => a - b)) {
    ctx.inPath(String(tag), () => {
      const of = o.get(tag);
      const uf = u.get(tag);
      // A field that left the oneof but still exists elsewhere was moved, not removed.
      if (!uf) {
        if (!updateTags.has(tag)) ctx.add("ONEOF_FIELD_REMOVED");
      } else if (!of) ctx.add("ONEOF_FIELD_ADDED");
      else compareField(ctx, of, uf);
    });
  }
}

function compareField(ctx: Context, original: FieldEl, update: FieldEl): void {
  if (original.name !== update.name) ctx.add("FIELD_NAME_CHANGED");
  compareLabelsAndTypes(ctx, original.label, update.label, original.type, update.type);
}

type Kind = "SCALAR" | "MAP" | "MESSAGE";

function kind(ctx: Context, type: string, side: 0 | 1): Kind {
  if (SCALARS.has(type)) return "SCALAR";
  if (mapTypes(type)) return "MAP";
  return ctx.type(type, side)?.type.kind === "enum" ? "SCALAR" : "MESSAGE";
}

// The scalar groups of protobuf's "updating a message type" rules.
function scalarKind(ctx: Context, type: string, side: 0 | 1): string {
  if (ctx.type(type, side)?.type.kind === "enum") return "GENERAL_NUMBER";
  switch (type) {
    case "int32":
    case "int64":
    case "uint32":
    case "uint64":
    case "bool":
      return "GENERAL_NUMBER";
    case "sint32":
    case "sint64":
      return "SIGNED_NUMBER";
    case "string":
    case "bytes":
      return "STRING_OR_BYTES";
    case "fixed32":
    case "sfixed32":
      return "FIXED32";
    case "fixed64":
    case "sfixed64":
      return "FIXED64";
    default:
      return type.toUpperCase();
  }
}

function asMap(ctx: Context, type: string, side: 0 | 1): string {
  const info = SCALARS.has(type) || mapTypes(type) ? undefined : ctx.type(type, side);
  return (info && mapTypeOf(info)) ?? type;
}

function compareLabelsAndTypes(ctx: Context, ol: Label, ul: Label, oType: string, uType: string): void {
  const o = asMap(ctx, oType, 0);
  const u = asMap(ctx, uType, 1);
  const ok = kind(ctx, o, 0);
  if (ok !== kind(ctx, u, 1)) return ctx.add("FIELD_KIND_CHANGED");
  if (ok === "SCALAR") {
    const os = scalarKind(ctx, o, 0);
    if (os !== scalarKind(ctx, u, 1)) return ctx.add("FIELD_SCALAR_KIND_CHANGED");
    // Labels are compared only when both fields have one (proto3 singular fields have none).
    if (ol !== null && ul !== null && ol !== ul)
      ctx.add(
        os === "STRING_OR_BYTES" ? "FIELD_STRING_OR_BYTES_LABEL_CHANGED" : "FIELD_NUMERIC_LABEL_CHANGED",
      );
  } else if (ok === "MESSAGE") compareMessageTypes(ctx, o, u);
  else {
    const om = mapTypes(o)!;
    const um = mapTypes(u)!;
    compareLabelsAndTypes(ctx, null, null, om[0], um[0]);
    compareLabelsAndTypes(ctx, null, null, om[1], um[1]);
  }
}

function localName(full: string, info: TypeInfo): string {
  return info.packageName && full.startsWith(`${info.packageName}.`)
    ? full.slice(info.packageName.length + 1)
    : full;
}

function compareMessageTypes(ctx: Context, original: string, update: string): void {
  const oFull = ctx.resolve(original, 0);
  const uFull = ctx.resolve(update, 1);
  if (oFull === undefined || uFull === undefined) {
    if (original !== update) ctx.add("FIELD_NAMED_TYPE_CHANGED");
    return;
  }
  const oInfo = ctx.sides[0].get(oFull)!;
  const uInfo = ctx.sides[1].get(uFull)!;
  const oLocal = localName(oFull, oInfo);
  if (oLocal !== localName(uFull, uInfo)) return ctx.add("FIELD_NAMED_TYPE_CHANGED");
  // Types of the schema's own file are compared where they are declared; the same referenced subject and
  // version needs no comparison either.
  const or = oInfo.ref;
  const ur = uInfo.ref;
  const same =
    or !== undefined &&
    ur !== undefined &&
    or !== null &&
    ur !== null &&
    or.subject === ur.subject &&
    or.version === ur.version;
  const bothLocal = isLocal(or) && isLocal(ur);
  if (same || bothLocal) return;
  if (oInfo.type.kind !== "message" || uInfo.type.kind !== "message") return;
  const sub = ctx.sub();
  sub.pkg = [oInfo.packageName, uInfo.packageName];
  sub.path = oLocal.split(".");
  sub.names = oLocal.split(".");
  compareMessages(sub, oInfo.type, uInfo.type);
  ctx.diffs.push(...sub.diffs);
  if (!sub.compatible()) ctx.add("FIELD_NAMED_TYPE_CHANGED");
}

/** The schema's own types carry Confluent's dummy reference ("", -1); `null` marks a built-in dependency. */
function isLocal(ref: TypeInfo["ref"]): boolean {
  return ref !== null && ref.subject === "" && ref.version === -1;
}

const DESCRIPTIONS: Record<string, string> = {
  PACKAGE_CHANGED: "The package at '{p}' in the %s schema does not match the package in the %s schema",
  MESSAGE_REMOVED: "The %s schema is missing a MESSAGE type at path '{p}' in the %s schema",
  FIELD_KIND_CHANGED: "The type of a field at path '{p}' in the %s schema does not match the %s schema",
  FIELD_SCALAR_KIND_CHANGED:
    "The kind of a SCALAR field at path '{p}' in the %s schema does not match its kind in the %s schema",
  FIELD_NAMED_TYPE_CHANGED:
    "The type of a MESSAGE field at path '{p}' in the %s schema does not match its type in the %s schema",
  FIELD_NUMERIC_LABEL_CHANGED:
    "The label for a NUMERIC field at path '{p}' in the %s schema does not match its label in the %s schema",
  REQUIRED_FIELD_ADDED: "A required field  at path '{p}' in the %s schema is missing in the %s schema",
  REQUIRED_FIELD_REMOVED: "The %s schema is missing a required field at path: '{p}' in the %s schema",
  ONEOF_FIELD_REMOVED: "The %s schema is missing a oneof field at path '{p}' in the %s schema",
  MULTIPLE_FIELDS_MOVED_TO_ONEOF:
    "Multiple fields in the oneof at path '{p}' in the %s schema are outside a oneof in the %s schema",
  FIELD_MOVED_TO_EXISTING_ONEOF:
    "A field in the oneof at path '{p}' in the %s schema is outside an existing oneof in the %s schema",
};

/** Confluent's Difference.toString: `{errorType:"T", description:"..."}` with `%s` for reader and writer. */
export function describe(d: Difference): string {
  const text = (DESCRIPTIONS[d.type] ?? "").replace("{p}", d.path);
  return `{errorType:"${d.type}", description:"${text}"}`;
}

/** Confluent's ProtobufSchema.isBackwardCompatible: can `reader` read what `writer` wrote? */
export function protoBackwardMessages(reader: Side, writer: Side): string[] {
  return diffProto(writer, reader)
    .filter((d) => !COMPATIBLE_CHANGES.has(d.type))
    .map(describe);
}
