// Owns the Protobuf diff rules of an enum, a port of Confluent's EnumSchemaDiff: constants added, removed or
// renamed, matched by number. Pure.
import { union, type DiffContext } from "./diff-context.ts";
import type { EnumEl } from "./model.ts";

export function compareEnums(ctx: DiffContext, original: EnumEl, update: EnumEl): void {
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
