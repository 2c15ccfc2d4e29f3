// Owns Protobuf schema compatibility, a port of Confluent's protobuf diff rules (SchemaDiff,
// MessageSchemaDiff, FieldSchemaDiff, OneOfDiff, EnumSchemaDiff): the differences from an original (writer)
// schema to an update (reader), each with the path where it was found, and which of them are compatible.
// Confluent's isBackwardCompatible(previous) is `diff(previous, this)` keeping the incompatible ones. This
// file is the entry (the package, then the file's types); the rules are in diff-message.ts (types of a scope,
// messages), diff-field.ts, diff-oneof.ts and diff-enum.ts; diff-context.ts holds the shared state and
// COMPATIBLE_CHANGES, diff-descriptions.ts Confluent's texts. Pure.
import { COMPATIBLE_CHANGES, DiffContext, type Difference, type Side } from "./diff-context.ts";
import { describe } from "./diff-descriptions.ts";
import { compareMessages, compareTypes } from "./diff-message.ts";

export { COMPATIBLE_CHANGES, describe, type Difference, type Side };

/** Every difference from `original` to `update` (Confluent's SchemaDiff.compare). */
export function diffProto(original: Side, update: Side): Difference[] {
  const ctx = new DiffContext(
    [original.table, update.table],
    [original.file.packageName ?? "", update.file.packageName ?? ""],
    compareMessages,
  );
  if ((original.file.packageName ?? null) !== (update.file.packageName ?? null)) ctx.add("PACKAGE_CHANGED");
  compareTypes(ctx, original.file.types, update.file.types);
  return ctx.diffs;
}

/** Confluent's ProtobufSchema.isBackwardCompatible: can `reader` read what `writer` wrote? */
export function protoBackwardMessages(reader: Side, writer: Side): string[] {
  return diffProto(writer, reader)
    .filter((d) => !COMPATIBLE_CHANGES.has(d.type))
    .map(describe);
}
