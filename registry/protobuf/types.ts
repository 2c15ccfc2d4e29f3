// Owns the table of every message and enum a schema can see (its own file and its imports, each under its own
// package) and type-name resolution from a scope, as Confluent's diff Context does it: the enclosing names
// prefixed by the package, innermost first, then the name as given. Map-entry messages (`map_entry = true`,
// from descriptors) are known as maps. Pure.
import { findOption, type FieldEl, type ProtoFile, type TypeEl } from "./model.ts";

export interface RefTag {
  subject: string;
  version: number;
}

export interface TypeInfo {
  fullName: string;
  packageName: string;
  /** The reference the type came from; null for the schema's own file. */
  ref: RefTag | null;
  type: TypeEl;
  isMap: boolean;
  key?: FieldEl;
  value?: FieldEl;
}

export class TypeTable {
  readonly types = new Map<string, TypeInfo>();

  addFile(file: ProtoFile, ref: RefTag | null): void {
    const pkg = file.packageName ?? "";
    const walk = (types: readonly TypeEl[], path: string[]): void => {
      for (const t of types) {
        const names = [...path, t.name];
        const fullName = pkg ? `${pkg}.${names.join(".")}` : names.join(".");
        const info: TypeInfo = { fullName, packageName: pkg, ref, type: t, isMap: false };
        if (t.kind === "message") {
          const mapEntry = findOption(t.options, "map_entry");
          info.isMap = mapEntry?.kind === "BOOLEAN" && mapEntry.value === true;
          const key = t.fields.find((f) => f.name === "key");
          const value = t.fields.find((f) => f.name === "value");
          if (key) info.key = key;
          if (value) info.value = value;
          walk(t.nested, names);
        }
        this.types.set(fullName, info);
      }
    };
    walk(file.types, []);
  }

  get(fullName: string): TypeInfo | undefined {
    return this.types.get(fullName.startsWith(".") ? fullName.slice(1) : fullName);
  }

  /**
   * Resolves `name` seen inside the message `scope` (names below the package) of a file in `packageName`;
   * undefined when nothing matches. Tries Confluent's order first, then protobuf's own scoping (the package
   * popped one component at a time), so descriptors always get a name when one exists.
   */
  resolve(name: string, packageName: string, scope: readonly string[]): string | undefined {
    if (name.startsWith(".")) return this.types.has(name.slice(1)) ? name.slice(1) : undefined;
    const prefix = [...(packageName ? [packageName] : []), ...scope];
    while (prefix.length > 0) {
      const n = `${prefix.join(".")}.${name}`;
      if (this.types.has(n)) return n;
      prefix.pop();
    }
    if (this.types.has(name)) return name;
    const parts = [...(packageName ? packageName.split(".") : []), ...scope];
    while (parts.length > 0) {
      const n = `${parts.join(".")}.${name}`;
      if (this.types.has(n)) return n;
      parts.pop();
    }
    return undefined;
  }
}

/** The map type a map-entry message stands for: `map<K, V>` from its key and value fields. */
export function mapTypeOf(info: TypeInfo): string | undefined {
  return info.isMap && info.key && info.value ? `map<${info.key.type}, ${info.value.type}>` : undefined;
}
