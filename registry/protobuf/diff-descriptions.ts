// Owns the texts of Protobuf differences: Confluent's Difference.toString, the description of each
// incompatible Difference type. Pure.
import type { Difference } from "./diff-context.ts";

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
