// Owns the JSON Schema diff rules of object schemas, a port of Confluent's ObjectSchemaDiff: required
// attributes, properties added or removed against the content model (open = no patternProperties and
// additionalProperties absent or true; closed = false; partially open = a schema for additional or pattern
// properties), dependencies, additionalProperties and the property counts. Pure.
import { deref, limit, type DiffContext } from "./diff-context.ts";
import type { ObjectSchema, Schema } from "./model.ts";

function isOpen(s: ObjectSchema): boolean {
  return s.patternProperties.length === 0 && s.additional === undefined && s.permitsAdditional;
}

function fromPartial(s: ObjectSchema, key: string): Schema | undefined {
  for (const [re, schema] of s.patternProperties) if (re.test(key)) return schema;
  return s.additional;
}

export function compareObject(ctx: DiffContext, o: ObjectSchema, u: ObjectSchema): void {
  ctx.at("required", () => {
    for (const key of o.properties.keys()) {
      if (!u.properties.has(key)) continue;
      ctx.at(key, () => {
        const or = o.required.includes(key);
        const ur = u.required.includes(key);
        if (or && !ur) ctx.add("REQUIRED_ATTRIBUTE_REMOVED");
        else if (!or && ur)
          ctx.add(
            deref(u.properties.get(key)!).hasDefault || u.properties.get(key)!.hasDefault
              ? "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED"
              : "REQUIRED_ATTRIBUTE_ADDED",
          );
      });
    }
  });
  ctx.at("properties", () => {
    for (const key of new Set([...o.properties.keys(), ...u.properties.keys()])) {
      ctx.at(key, () => {
        const os = o.properties.get(key);
        const us = u.properties.get(key);
        if (!us) {
          // Only the update's content model matters: a property may go where the update is open.
          if (isOpen(u)) return ctx.add("PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL");
          const partial = fromPartial(u, key);
          if (partial) {
            const sub = ctx.sub();
            sub.compare(os, partial);
            ctx.diffs.push(...sub.diffs);
            ctx.add(
              sub.compatible()
                ? "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                : "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
            );
          } else {
            ctx.add(
              deref(os!).kind === "false"
                ? "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL"
                : "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
            );
          }
        } else if (!os) {
          const required = u.required.includes(key);
          const withDefault = us.hasDefault || deref(us).hasDefault;
          // Only the original's content model matters: a property may come where the original was closed.
          if (isOpen(o)) {
            if (deref(us).kind === "empty") ctx.add("PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL");
            else if (required)
              ctx.add(
                withDefault
                  ? "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL"
                  : "REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
              );
            else ctx.add("OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL");
            return;
          }
          const partial = fromPartial(o, key);
          if (partial) {
            const sub = ctx.sub();
            sub.compare(partial, us);
            ctx.diffs.push(...sub.diffs);
            ctx.add(
              sub.compatible()
                ? "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                : "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
            );
          }
          if (required)
            ctx.add(
              withDefault
                ? "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL"
                : "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
            );
          else ctx.add("OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL");
        } else ctx.compare(os, us);
      });
    }
  });
  ctx.at("dependencies", () => {
    for (const key of new Set([...o.propertyDependencies.keys(), ...u.propertyDependencies.keys()])) {
      ctx.at(key, () => {
        const od = o.propertyDependencies.get(key);
        const ud = u.propertyDependencies.get(key);
        if (!ud) ctx.add("DEPENDENCY_ARRAY_REMOVED");
        else if (!od) ctx.add("DEPENDENCY_ARRAY_ADDED");
        else {
          const os = new Set(od);
          const us = new Set(ud);
          if (os.size === us.size && [...os].every((x) => us.has(x))) return;
          if ([...os].every((x) => us.has(x))) ctx.add("DEPENDENCY_ARRAY_EXTENDED");
          else if ([...us].every((x) => os.has(x))) ctx.add("DEPENDENCY_ARRAY_NARROWED");
          else ctx.add("DEPENDENCY_ARRAY_CHANGED");
        }
      });
    }
    for (const key of new Set([...o.schemaDependencies.keys(), ...u.schemaDependencies.keys()])) {
      ctx.at(key, () => {
        const os = o.schemaDependencies.get(key);
        const us = u.schemaDependencies.get(key);
        if (!us) ctx.add("DEPENDENCY_SCHEMA_REMOVED");
        else if (!os) ctx.add("DEPENDENCY_SCHEMA_ADDED");
        else ctx.compare(os, us);
      });
    }
  });
  ctx.at("additionalProperties", () => {
    if (o.permitsAdditional !== u.permitsAdditional)
      ctx.add(u.permitsAdditional ? "ADDITIONAL_PROPERTIES_ADDED" : "ADDITIONAL_PROPERTIES_REMOVED");
    else if (!o.additional && u.additional) ctx.add("ADDITIONAL_PROPERTIES_NARROWED");
    else if (o.additional && !u.additional) ctx.add("ADDITIONAL_PROPERTIES_EXTENDED");
    else ctx.compare(o.additional, u.additional);
  });
  limit(ctx, "maxProperties", "MAX_PROPERTIES", o.maxProperties, u.maxProperties);
  limit(ctx, "minProperties", "MIN_PROPERTIES", o.minProperties, u.minProperties);
}
