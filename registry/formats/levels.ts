// Owns the seven compatibility levels for the formats whose check is a list of reasons (Protobuf, JSON
// Schema), the way Confluent's SchemaValidatorBuilder runs a format's isBackwardCompatible: BACKWARD asks the
// new schema to read the old (reasons worded new/old), FORWARD the old to read the new (old/new), FULL both
// (forward reasons first), the transitive levels against every previous version newest first, stopping at the
// first that fails; then the old version and schema, and the level. Pure.
import type { Level } from "../avro/levels.ts";

export interface PreviousOf<T> {
  schema: T;
  version?: number;
  text?: string;
}

/** Reasons `reader` cannot read data written with `writer`, each with two `%s` for (reader, writer) labels. */
export type BackwardCheck<T> = (reader: T, writer: T) => string[];

const MAX_SCHEMA_LOG = 10 * 1024;

function format(messages: string[], reader: string, writer: string): string[] {
  return messages.map((m) => m.replace("%s", reader).replace("%s", writer));
}

function appendOld<T>(messages: string[], prev: PreviousOf<T>): string[] {
  if (messages.length === 0) return messages;
  const out = [...messages];
  if (prev.version !== undefined) out.push(`{oldSchemaVersion: ${prev.version}}`);
  if (prev.text !== undefined) {
    out.push(
      prev.text.length <= MAX_SCHEMA_LOG
        ? `{oldSchema: '${prev.text}'}`
        : `{oldSchema: <truncated to ${MAX_SCHEMA_LOG} characters> '${prev.text.slice(0, MAX_SCHEMA_LOG)}'}`,
    );
  }
  return out;
}

export function checkLevelWith<T>(
  level: Level,
  candidate: T,
  previous: readonly PreviousOf<T>[],
  backward: BackwardCheck<T>,
): { compatible: boolean; messages: string[] } {
  if (level === "NONE" || previous.length === 0) return { compatible: true, messages: [] };
  const against = level.endsWith("_TRANSITIVE") ? [...previous].reverse() : previous.slice(-1);
  for (const prev of against) {
    let messages: string[];
    if (level.startsWith("BACKWARD"))
      messages = appendOld(format(backward(candidate, prev.schema), "new", "old"), prev);
    else if (level.startsWith("FORWARD"))
      messages = appendOld(format(backward(prev.schema, candidate), "old", "new"), prev);
    else {
      messages = [
        ...format(backward(prev.schema, candidate), "old", "new"),
        ...appendOld(format(backward(candidate, prev.schema), "new", "old"), prev),
      ];
    }
    if (messages.length > 0)
      return { compatible: false, messages: [...messages, `{compatibility: '${level}'}`] };
  }
  return { compatible: true, messages: [] };
}
