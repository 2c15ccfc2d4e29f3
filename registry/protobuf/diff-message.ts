// Owns the Protobuf diff rules of messages and of the types declared in a scope, ports of Confluent's
// SchemaDiff type comparison (messages and enums matched by name, a moved message) and MessageSchemaDiff (a
// message's fields matched by number, with the oneof rules of diff-oneof.ts, then its nested types). Pure.
import { union, type DiffContext } from "./diff-context.ts";
import { compareEnums } from "./diff-enum.ts";
import { compareField } from "./diff-field.ts";
import {
  compareMembershipChanges,
  compareMovesIntoOneofs,
  compareOneofsByName,
  oneofMembership,
} from "./diff-oneof.ts";
import type { EnumEl, MessageEl, TypeEl } from "./model.ts";

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

export function compareTypes(ctx: DiffContext, original: readonly TypeEl[], update: readonly TypeEl[]): void {
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

export function compareMessages(ctx: DiffContext, original: MessageEl, update: MessageEl): void {
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

function compareFields(ctx: DiffContext, original: MessageEl, update: MessageEl): void {
  const oByTag = new Map(original.fields.map((f) => [f.tag, f]));
  const uByTag = new Map(update.fields.map((f) => [f.tag, f]));
  const o = oneofMembership(original);
  const u = oneofMembership(update);
  compareMovesIntoOneofs(ctx, update, oByTag, o);
  compareOneofsByName(ctx, original, update, new Set(u.all.keys()));
  for (const tag of union(oByTag.keys(), uByTag.keys())) {
    ctx.inPath(String(tag), () => {
      const of = oByTag.get(tag);
      const uf = uByTag.get(tag);
      if (!uf) ctx.add(of!.label === "required" ? "REQUIRED_FIELD_REMOVED" : "FIELD_REMOVED");
      else if (!of) ctx.add(uf.label === "required" ? "REQUIRED_FIELD_ADDED" : "FIELD_ADDED");
      else compareField(ctx, of, uf);
    });
  }
  compareMembershipChanges(ctx, o, u);
}
