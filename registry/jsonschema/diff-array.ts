// Owns the JSON Schema diff rules of array schemas, a port of Confluent's ArraySchemaDiff: the schema of all
// items, tuple items added or removed against the content model (open, closed, or partially open through
// additionalItems or unevaluatedItems), additionalItems, and the item, uniqueness and contains limits. Pure.
import { deref, limit, type DiffContext } from "./diff-context.ts";
import type { ArraySchema, Schema } from "./model.ts";

function arrayOpen(s: ArraySchema): boolean {
  if (!s.permitsAdditionalItems || s.additionalItems) return false;
  return !s.unevaluatedItems || deref(s.unevaluatedItems).kind === "empty";
}

function arrayPartial(s: ArraySchema): Schema | undefined {
  if (s.additionalItems) return s.additionalItems;
  if (
    s.permitsAdditionalItems &&
    s.unevaluatedItems &&
    !["empty", "false"].includes(deref(s.unevaluatedItems).kind)
  )
    return s.unevaluatedItems;
  return undefined;
}

export function compareArray(ctx: DiffContext, o: ArraySchema, u: ArraySchema): void {
  ctx.at("items", () => ctx.compare(o.allItems, u.allItems));
  const oi = o.itemSchemas ?? [];
  const ui = u.itemSchemas ?? [];
  for (let i = 0; i < Math.max(oi.length, ui.length); i++) {
    ctx.at(`items/${i}`, () => {
      if (i < oi.length && i < ui.length) return ctx.compare(oi[i], ui[i]);
      if (i < oi.length) {
        if (arrayOpen(u)) return ctx.add("ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL");
        const partial = arrayPartial(u);
        if (partial) {
          const sub = ctx.sub();
          sub.compare(oi[i], partial);
          ctx.diffs.push(...sub.diffs);
          return ctx.add(
            sub.compatible()
              ? "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
              : "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
          );
        }
        return ctx.add(
          deref(oi[i]!).kind === "false"
            ? "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL"
            : "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        );
      }
      if (arrayOpen(o))
        return ctx.add(
          deref(ui[i]!).kind === "empty"
            ? "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL"
            : "ITEM_ADDED_TO_OPEN_CONTENT_MODEL",
        );
      const partial = arrayPartial(o);
      if (partial) {
        const sub = ctx.sub();
        sub.compare(partial, ui[i]);
        ctx.diffs.push(...sub.diffs);
        return ctx.add(
          sub.compatible()
            ? "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
            : "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        );
      }
      ctx.add("ITEM_ADDED_TO_CLOSED_CONTENT_MODEL");
    });
  }
  ctx.at("additionalItems", () => {
    if (o.permitsAdditionalItems !== u.permitsAdditionalItems)
      ctx.add(o.permitsAdditionalItems ? "ADDITIONAL_ITEMS_REMOVED" : "ADDITIONAL_ITEMS_ADDED");
    else if (!o.additionalItems && u.additionalItems) ctx.add("ADDITIONAL_ITEMS_NARROWED");
    else if (o.additionalItems && !u.additionalItems) ctx.add("ADDITIONAL_ITEMS_EXTENDED");
    else ctx.compare(o.additionalItems, u.additionalItems);
  });
  limit(ctx, "maxItems", "MAX_ITEMS", o.maxItems, u.maxItems);
  limit(ctx, "minItems", "MIN_ITEMS", o.minItems, u.minItems);
  if (o.uniqueItems !== u.uniqueItems)
    ctx.add(o.uniqueItems ? "UNIQUE_ITEMS_REMOVED" : "UNIQUE_ITEMS_ADDED", "uniqueItems");
  limit(ctx, "maxContains", "MAX_CONTAINS", o.maxContains, u.maxContains);
  limit(ctx, "minContains", "MIN_CONTAINS", o.minContains, u.minContains);
}
