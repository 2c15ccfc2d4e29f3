// Owns the Protobuf diff rules of oneofs, a port of Confluent's OneOfDiff and MessageSchemaDiff's oneof
// checks: fields moved into a oneof, oneofs added or removed by name, the fields of a oneof, and fields whose
// oneof membership changed. Pure.
import { compareField } from "./diff-field.ts";
import { union, type DiffContext } from "./diff-context.ts";
import type { FieldEl, MessageEl } from "./model.ts";

function compareOneofs(
  ctx: DiffContext,
  original: FieldEl[],
  update: FieldEl[],
  updateTags: Set<number>,
): void {
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

/** A message's fields by number, those of its oneofs included, and the oneof each of the latter is in. */
export interface OneofMembership {
  all: Map<number, FieldEl>;
  oneofOf: Map<number, string>;
}

export function oneofMembership(message: MessageEl): OneofMembership {
  const all = new Map(message.fields.map((f) => [f.tag, f]));
  const oneofOf = new Map<number, string>();
  for (const oneof of message.oneofs) {
    for (const f of oneof.fields) {
      all.set(f.tag, f);
      oneofOf.set(f.tag, oneof.name);
    }
  }
  return { all, oneofOf };
}

/**
 * Reports fields moved into the update's oneofs, and deletes them from `outside` (the original's fields
 * outside oneofs, by number): a field moved into a oneof is not reported as removed.
 */
export function compareMovesIntoOneofs(
  ctx: DiffContext,
  update: MessageEl,
  outside: Map<number, FieldEl>,
  original: OneofMembership,
): void {
  for (const oneof of update.oneofs) {
    ctx.inPath(oneof.name, () => {
      let moved = 0;
      let existing = 0;
      for (const f of oneof.fields) {
        if (outside.delete(f.tag)) moved++;
        else if (original.oneofOf.has(f.tag)) existing++;
      }
      if (moved > 1) ctx.add("MULTIPLE_FIELDS_MOVED_TO_ONEOF");
      else if (moved === 1 && existing > 0) ctx.add("FIELD_MOVED_TO_EXISTING_ONEOF");
    });
  }
}

/** Oneofs matched by name; `updateTags` are all the update's field numbers, in a oneof or not. */
export function compareOneofsByName(
  ctx: DiffContext,
  original: MessageEl,
  update: MessageEl,
  updateTags: Set<number>,
): void {
  const oOneofs = new Map(original.oneofs.map((o) => [o.name, o]));
  const uOneofs = new Map(update.oneofs.map((o) => [o.name, o]));
  for (const name of union(oOneofs.keys(), uOneofs.keys())) {
    ctx.inPath(name, () => {
      const oo = oOneofs.get(name);
      const uo = uOneofs.get(name);
      if (!uo) ctx.add("ONEOF_REMOVED");
      else if (!oo) ctx.add("ONEOF_ADDED");
      else compareOneofs(ctx, oo.fields, uo.fields, updateTags);
    });
  }
}

/**
 * Fields whose oneof membership changed (moved in or out of a oneof, or its oneof renamed) are compared by
 * number too, so a type change is never hidden by the move.
 */
export function compareMembershipChanges(ctx: DiffContext, o: OneofMembership, u: OneofMembership): void {
  for (const tag of [...o.all.keys()].filter((t) => u.all.has(t)).sort((a, b) => a - b)) {
    const oo = o.oneofOf.get(tag);
    const uo = u.oneofOf.get(tag);
    if ((oo === undefined && uo === undefined) || (oo !== undefined && oo === uo)) continue;
    ctx.inPath(String(tag), () => compareField(ctx, o.all.get(tag)!, u.all.get(tag)!));
  }
}
