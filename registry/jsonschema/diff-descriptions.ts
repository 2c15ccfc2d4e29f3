// Owns the texts of JSON Schema differences: Confluent's Difference.toString, the description of each
// incompatible Difference type by group. Pure.
import type { Difference } from "./diff-context.ts";

const GROUPS: [string, string[]][] = [
  [
    "The keyword at path '{p}' in the %s schema is not present in the %s schema",
    [
      "MAXIMUM_ADDED",
      "MINIMUM_ADDED",
      "EXCLUSIVE_MAXIMUM_ADDED",
      "EXCLUSIVE_MINIMUM_ADDED",
      "MULTIPLE_OF_ADDED",
      "MAX_LENGTH_ADDED",
      "MIN_LENGTH_ADDED",
      "PATTERN_ADDED",
      "REQUIRED_ATTRIBUTE_ADDED",
      "MAX_PROPERTIES_ADDED",
      "MIN_PROPERTIES_ADDED",
      "DEPENDENCY_ARRAY_ADDED",
      "DEPENDENCY_SCHEMA_ADDED",
      "MAX_ITEMS_ADDED",
      "MIN_ITEMS_ADDED",
      "MAX_CONTAINS_ADDED",
      "MIN_CONTAINS_ADDED",
      "UNIQUE_ITEMS_ADDED",
      "ADDITIONAL_ITEMS_REMOVED",
      "ADDITIONAL_PROPERTIES_REMOVED",
    ],
  ],
  [
    "The value at path '{p}' in the %s schema is more than its value in the %s schema",
    [
      "MIN_LENGTH_INCREASED",
      "MINIMUM_INCREASED",
      "EXCLUSIVE_MINIMUM_INCREASED",
      "MIN_PROPERTIES_INCREASED",
      "MULTIPLE_OF_EXPANDED",
      "MIN_ITEMS_INCREASED",
      "MIN_CONTAINS_INCREASED",
    ],
  ],
  [
    "The value at path '{p}' in the %s schema is less than its value in the %s schema",
    [
      "MAX_LENGTH_DECREASED",
      "MAXIMUM_DECREASED",
      "MAX_ITEMS_DECREASED",
      "MAX_CONTAINS_DECREASED",
      "EXCLUSIVE_MAXIMUM_DECREASED",
      "MAX_PROPERTIES_DECREASED",
    ],
  ],
  [
    "The value at path '{p}' is different between the %s and %s schema",
    ["PATTERN_CHANGED", "MULTIPLE_OF_CHANGED", "DEPENDENCY_ARRAY_CHANGED"],
  ],
  [
    "An array or combined type at path '{p}' has fewer elements in the %s schema than the %s schema",
    [
      "ADDITIONAL_ITEMS_NARROWED",
      "ENUM_ARRAY_NARROWED",
      "SUM_TYPE_NARROWED",
      "ADDITIONAL_PROPERTIES_NARROWED",
    ],
  ],
  [
    "An array or combined type at path '{p}' has more elements in the %s schema than the %s schema",
    ["DEPENDENCY_ARRAY_EXTENDED", "PRODUCT_TYPE_EXTENDED", "SUM_TYPE_EXTENDED", "NOT_TYPE_EXTENDED"],
  ],
  [
    "A type at path '{p}' is different between the %s schema and the %s schema",
    [
      "TYPE_CHANGED",
      "TYPE_NARROWED",
      "COMBINED_TYPE_CHANGED",
      "COMBINED_TYPE_SUBSCHEMAS_CHANGED",
      "ENUM_ARRAY_CHANGED",
    ],
  ],
  [
    "The %s schema has an open content model and has a property or item at path '{p}' which is missing in the %s schema",
    [
      "REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
      "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL",
      "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
      "ITEM_ADDED_TO_OPEN_CONTENT_MODEL",
    ],
  ],
  [
    "The %s schema has an unopen content model and has a required property at path '{p}' which is missing in the %s schema",
    ["REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"],
  ],
  [
    "The %s schema has a closed content model and is missing a property or item present at path '{p}' in the %s schema",
    ["PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL"],
  ],
  [
    "A property or item is missing in the %s schema but present at path '{p}' in the %s schema and is not covered by its partially open content model",
    [
      "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
      "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    ],
  ],
  [
    "The %s schema has a property or item at path '{p}' which is missing in the %s schema and is not covered by its partially open content model",
    [
      "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
      "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    ],
  ],
];

/** Confluent's Difference.toString for JSON Schema, `%s` left for the reader and writer labels. */
export function describe(d: Difference): string {
  const text = GROUPS.find(([, types]) => types.includes(d.type))?.[0] ?? "";
  return `{errorType:"${d.type}", description:"${text.replace("{p}", d.path)}"}`;
}
