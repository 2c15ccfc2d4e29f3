// Owns the Protobuf diff rules of one field, a port of Confluent's FieldSchemaDiff: its name, its kind
// (scalar, map, message), the scalar groups that share a wire encoding, labels, and a named type compared by
// its local name and, when it comes from another schema, by comparing the two messages. Pure.
import { SCALARS, mapTypes, type FieldEl, type Label } from "./model.ts";
import { mapTypeOf, type TypeInfo } from "./types.ts";
import type { DiffContext } from "./diff-context.ts";

export function compareField(ctx: DiffContext, original: FieldEl, update: FieldEl): void {
  if (original.name !== update.name) ctx.add("FIELD_NAME_CHANGED");
  compareLabelsAndTypes(ctx, original.label, update.label, original.type, update.type);
}

type Kind = "SCALAR" | "MAP" | "MESSAGE";

function kind(ctx: DiffContext, type: string, side: 0 | 1): Kind {
  if (SCALARS.has(type)) return "SCALAR";
  if (mapTypes(type)) return "MAP";
  return ctx.type(type, side)?.type.kind === "enum" ? "SCALAR" : "MESSAGE";
}

// The scalar groups of protobuf's "updating a message type" rules.
function scalarKind(ctx: DiffContext, type: string, side: 0 | 1): string {
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

function asMap(ctx: DiffContext, type: string, side: 0 | 1): string {
  const info = SCALARS.has(type) || mapTypes(type) ? undefined : ctx.type(type, side);
  return (info && mapTypeOf(info)) ?? type;
}

function compareLabelsAndTypes(ctx: DiffContext, ol: Label, ul: Label, oType: string, uType: string): void {
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

function compareMessageTypes(ctx: DiffContext, original: string, update: string): void {
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
  sub.compareMessages(oInfo.type, uInfo.type);
  ctx.diffs.push(...sub.diffs);
  if (!sub.compatible()) ctx.add("FIELD_NAMED_TYPE_CHANGED");
}

/** The schema's own types carry Confluent's dummy reference ("", -1); `null` marks a built-in dependency. */
function isLocal(ref: TypeInfo["ref"]): boolean {
  return ref !== null && ref.subject === "" && ref.version === -1;
}
