// Owns the seven compatibility levels: which (reader, writer) pairs a level checks between a new schema and a
// subject's previous versions (oldest first), and the verbose reasons in Confluent's wording. Pure.
import type { AvroSchema } from "./schema.ts";
import { checkReaderWriter, type Incompatibility } from "./compat.ts";

export const LEVELS = [
  "BACKWARD",
  "BACKWARD_TRANSITIVE",
  "FORWARD",
  "FORWARD_TRANSITIVE",
  "FULL",
  "FULL_TRANSITIVE",
  "NONE",
] as const;
export type Level = (typeof LEVELS)[number];

export function isLevel(v: unknown): v is Level {
  return typeof v === "string" && (LEVELS as readonly string[]).includes(v);
}

export interface Previous {
  schema: AvroSchema;
  version?: number;
  text?: string;
}

export interface LevelResult {
  compatible: boolean;
  messages: string[];
}

function describe(i: Incompatibility, direction: "backward" | "forward"): string {
  const which = direction === "backward" ? "new" : "old";
  const other = direction === "backward" ? "old" : "new";
  let description: string;
  switch (i.type) {
    case "READER_FIELD_MISSING_DEFAULT_VALUE":
      description = `The field '${i.message}' at path '${i.location}' in the ${which} schema has no default value and is missing in the ${other} schema`;
      break;
    case "TYPE_MISMATCH":
      description = `The type (path '${i.location}') of a field in the ${which} schema does not match with the ${other} schema (${i.message})`;
      break;
    case "NAME_MISMATCH":
      description = `The name of the schema has changed (path '${i.location}'): ${i.message}`;
      break;
    case "MISSING_ENUM_SYMBOLS":
      description = `The ${which} schema is missing enum symbols '${i.message}' at path '${i.location}' in the ${other} schema`;
      break;
    case "FIXED_SIZE_MISMATCH":
      description = `The size of FIXED type field at path '${i.location}' in the ${which} schema does not match with the ${other} schema (${i.message})`;
      break;
    case "MISSING_UNION_BRANCH":
      description = `The ${which} schema is missing a type inside a union field at path '${i.location}' in the ${other} schema (${i.message})`;
      break;
  }
  return `{errorType:'${i.type}', description:'${description}', additionalInfo:'${i.message}'}`;
}

/** Checks `candidate` against `previous` (oldest first, soft-deleted versions already left out). */
export function checkLevel(level: Level, candidate: AvroSchema, previous: readonly Previous[]): LevelResult {
  if (level === "NONE" || previous.length === 0) return { compatible: true, messages: [] };
  const transitive = level.endsWith("_TRANSITIVE");
  const against = transitive ? [...previous].reverse() : previous.slice(-1);
  const backward = level.startsWith("BACKWARD") || level.startsWith("FULL");
  const forward = level.startsWith("FORWARD") || level.startsWith("FULL");
  const messages: string[] = [];
  for (const prev of against) {
    const found: string[] = [];
    if (backward) {
      for (const i of checkReaderWriter(candidate, prev.schema).incompatibilities)
        found.push(describe(i, "backward"));
    }
    if (forward) {
      for (const i of checkReaderWriter(prev.schema, candidate).incompatibilities)
        found.push(describe(i, "forward"));
    }
    if (found.length > 0) {
      messages.push(...found);
      if (prev.version !== undefined) messages.push(`{oldSchemaVersion: ${prev.version}}`);
      if (prev.text !== undefined) messages.push(`{oldSchema: '${prev.text}'}`);
      messages.push(`{compatibility: '${level}'}`);
      break;
    }
  }
  return { compatible: messages.length === 0, messages };
}
