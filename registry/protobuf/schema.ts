// Owns a Protobuf schema as the registry holds it: parsed from .proto text or from a base64
// FileDescriptorProto (what serializers register), its imports resolved through references (the reference
// name is the import path) or built-in files, every field type resolvable, and the texts Confluent answers
// (canonical, normalized) and the descriptor it serves for `?format=serialized`. Pure: lookups passed in.
import { decodeDescriptor, encodeDescriptor } from "./descriptor.ts";
import {
  ProtobufSchemaError,
  SCALARS,
  mapTypes,
  type MessageEl,
  type ProtoFile,
  type TypeEl,
} from "./model.ts";
import { parseProto } from "./parse.ts";
import { printProto } from "./printer.ts";
import { TypeTable, type RefTag } from "./types.ts";
import { wellKnownFile } from "./well-known.ts";

export interface Reference {
  name: string;
  subject: string;
  version: number;
}

export type LookupReference = (
  subject: string,
  version: number,
) => { schema: string; references: readonly Reference[] } | undefined;

export interface ProtobufSchema {
  file: ProtoFile;
  table: TypeTable;
  canonical: string;
  /** Normalized text, computed on demand (it resolves every type name). */
  normalized(): string;
  serialized(): string;
}

/** .proto text first, then base64 of a FileDescriptorProto, as Confluent's ProtobufSchema does. */
export function parseProtoText(text: string): ProtoFile {
  try {
    return parseProto(text);
  } catch (e) {
    const file = decodeDescriptor(text);
    if (file && (file.types.length > 0 || file.packageName !== null || file.syntax !== null)) return file;
    throw e;
  }
}

export function resolveProtobuf(
  text: string,
  references: readonly Reference[],
  lookup: LookupReference,
): ProtobufSchema {
  const file = parseProtoText(text);
  const table = new TypeTable();
  const loaded = new Set<string>();
  const load = (refs: readonly Reference[], direct: boolean, depth: number): void => {
    if (depth > 32) throw new ProtobufSchemaError("schema references nest too deeply (or form a cycle)");
    for (const ref of refs) {
      if (loaded.has(ref.name)) continue;
      loaded.add(ref.name);
      const found = lookup(ref.subject, ref.version);
      if (!found) {
        throw new ProtobufSchemaError(
          `Invalid schema reference ${ref.name}: subject ${ref.subject} version ${ref.version} not found`,
        );
      }
      const dep = parseProtoText(found.schema);
      load(found.references, false, depth + 1);
      addWellKnown(table, dep, loaded);
      // Confluent tags a direct reference's types with it; transitive ones carry none.
      const tag: RefTag | null = direct ? { subject: ref.subject, version: ref.version } : null;
      table.addFile(dep, tag);
    }
  };
  load(references, true, 0);
  addWellKnown(table, file, loaded);
  table.addFile(file, { subject: "", version: -1 });
  checkTypesResolve(file, table);
  const canonical = printProto(file);
  let normalized: string | undefined;
  return {
    file,
    table,
    canonical,
    normalized: () => (normalized ??= printProto(file, table)),
    serialized: () => encodeDescriptor(file, table),
  };
}

function addWellKnown(table: TypeTable, file: ProtoFile, loaded: Set<string>): void {
  for (const i of [...file.imports, ...file.publicImports]) {
    if (loaded.has(i)) continue;
    const wk = wellKnownFile(i);
    if (wk) {
      loaded.add(i);
      table.addFile(wk, null);
    }
  }
}

/** Every field, map value and rpc type must name a known message or enum (Confluent validates by normalizing). */
function checkTypesResolve(file: ProtoFile, table: TypeTable): void {
  const pkg = file.packageName ?? "";
  const check = (type: string, scope: string[]) => {
    const map = mapTypes(type);
    for (const t of map ?? [type]) {
      if (!SCALARS.has(t) && table.resolve(t, pkg, scope) === undefined)
        throw new ProtobufSchemaError(`Could not resolve type: ${t}`);
    }
  };
  const walk = (types: readonly TypeEl[], scope: string[]) => {
    for (const t of types) {
      if (t.kind !== "message") continue;
      const m: MessageEl = t;
      const inner = [...scope, m.name];
      for (const f of [...m.fields, ...m.oneofs.flatMap((o) => o.fields)]) check(f.type, inner);
      walk(m.nested, inner);
    }
  };
  walk(file.types, []);
  for (const s of file.services)
    for (const r of s.rpcs) [r.requestType, r.responseType].forEach((t) => check(t, []));
}
