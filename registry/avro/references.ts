// Owns schema references for Avro: a schema may use named types defined by other registered schemas
// (`references: [{name, subject, version}]`). Resolving parses the referenced schemas first (depth first, each
// once), so their named types are known when the referring schema is parsed. A reference's `name` is a label
// (often a file name such as `country.avsc`), never checked against the types it defines: Confluent's
// AvroSchema parses each resolved reference into the parser and looks at nothing else. Pure: lookups are
// passed in.
import { canonicalText } from "./canonical.ts";
import { javaSchemaText } from "./java-text.ts";
import { AvroSchemaError, parseSchema, type AvroSchema, type NamedTypes } from "./schema.ts";

export interface Reference {
  name: string;
  subject: string;
  version: number;
}

export interface Referenced {
  schema: string;
  references: readonly Reference[];
}

export type LookupReference = (subject: string, version: number) => Referenced | undefined;

export interface ResolvedSchema {
  schema: AvroSchema;
  /**
   * The identity key, as Confluent's (the MD5 of its stored text and references): the stored text below plus
   * the references. Whitespace and the order of Avro's own attributes do not change it; docs, defaults,
   * aliases, logical types and other properties (in their order) do.
   */
  identity: string;
  /** Our normalized form (`normalize=true`): canonical.ts, written on first use. */
  readonly canonical: string;
  /** What Confluent stores and serves for it: Avro's Java `Schema.toString()` (java-text.ts). */
  text: string;
}

export function resolveSchema(
  text: string,
  references: readonly Reference[],
  lookup: LookupReference,
): ResolvedSchema {
  const known: NamedTypes = new Map();
  const visited = new Set<string>();
  const load = (refs: readonly Reference[], depth: number): void => {
    if (depth > 32) throw new AvroSchemaError("schema references nest too deeply (or form a cycle)");
    for (const ref of refs) {
      const key = `${ref.subject}\u0000${ref.version}`;
      if (visited.has(key)) continue;
      visited.add(key);
      const found = lookup(ref.subject, ref.version);
      if (!found) {
        throw new AvroSchemaError(
          `reference ${ref.name} to subject ${ref.subject} version ${ref.version} not found`,
        );
      }
      load(found.references, depth + 1);
      parseSchema(found.schema, known);
    }
  };
  load(references, 0);
  const predefined = new Set(known.keys());
  const schema = parseSchema(text, known);
  const stored = javaSchemaText(schema, predefined);
  const refKey = references.map((r) => `${r.name}|${r.subject}|${r.version}`).join(",");
  let canonical: string | undefined;
  return {
    schema,
    // Only `normalize=true` needs it: written on first use, not for every registration and lookup.
    get canonical() {
      return (canonical ??= canonicalText(schema, { predefined }));
    },
    text: stored,
    identity: refKey ? `${stored}\u0000${refKey}` : stored,
  };
}
