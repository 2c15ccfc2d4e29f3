// Owns a JSON Schema as the registry holds it: the text parsed, validated against its draft's meta-schema with
// ajv (draft 4, 6, 7 — the default when `$schema` names none of these — 2019-09 and 2020-12), `$ref`s resolved
// within the document (JSON pointers) and to references (a reference's name is the URL used in `$ref`), the
// typed model compatibility is computed on, and the texts Confluent answers. Pure: lookups passed in.
import { createRequire } from "node:module";
import type { ValidateFunction } from "ajv";
import { canonicalJson } from "./canonical.ts";
import { jsonBackward } from "./diff.ts";
import { JsonSchemaError, loadSchema, type JsonValue, type Schema } from "./model.ts";

export { JsonSchemaError } from "./model.ts";

const require = createRequire(import.meta.url);

interface MetaValidator {
  validateSchema(schema: unknown): boolean | Promise<unknown>;
  errorsText(errors?: unknown): string;
  errors?: unknown;
  addMetaSchema(schema: unknown): unknown;
  compile(schema: unknown): ValidateFunction;
}
type AjvClass = new (opts: Record<string, unknown>) => MetaValidator;

const DRAFTS: Record<string, { load: () => MetaValidator; modern: boolean }> = {
  "http://json-schema.org/draft-04/schema": {
    load: () => make(require("ajv-draft-04") as AjvClass),
    modern: false,
  },
  "http://json-schema.org/draft-06/schema": {
    load: () => {
      const ajv = make(require("ajv") as AjvClass);
      ajv.addMetaSchema(require("ajv/dist/refs/json-schema-draft-06.json"));
      return ajv;
    },
    modern: false,
  },
  "http://json-schema.org/draft-07/schema": { load: () => make(require("ajv") as AjvClass), modern: false },
  "https://json-schema.org/draft/2019-09/schema": {
    load: () => make((require("ajv/dist/2019.js") as { default: AjvClass }).default),
    modern: true,
  },
  "https://json-schema.org/draft/2020-12/schema": {
    load: () => make((require("ajv/dist/2020.js") as { default: AjvClass }).default),
    modern: true,
  },
};

function make(Ajv: AjvClass & { default?: AjvClass }): MetaValidator {
  const C = Ajv.default ?? Ajv;
  return new C({ strict: false, validateFormats: false, allErrors: false });
}

const validators = new Map<string, MetaValidator>();

function draftOf(schema: JsonValue): { key: string; modern: boolean } {
  const declared =
    schema !== null &&
    typeof schema === "object" &&
    !Array.isArray(schema) &&
    typeof schema.$schema === "string"
      ? schema.$schema.replace(/#$/, "")
      : "";
  const key = DRAFTS[declared] ? declared : "http://json-schema.org/draft-07/schema";
  return { key, modern: DRAFTS[key]!.modern };
}

function validate(schema: JsonValue): { modern: boolean } {
  const { key, modern } = draftOf(schema);
  let v = validators.get(key);
  if (!v) validators.set(key, (v = DRAFTS[key]!.load()));
  // A `$schema` naming another meta-schema is checked as draft 7 (Confluent's default), without it.
  const checked =
    schema !== null &&
    typeof schema === "object" &&
    !Array.isArray(schema) &&
    schema.$schema !== undefined &&
    !DRAFTS[JSON.stringify(schema.$schema).replace(/^"|#?"$/g, "")]
      ? { ...schema, $schema: undefined }
      : schema;
  let ok: boolean | Promise<unknown>;
  try {
    ok = v.validateSchema(JSON.parse(JSON.stringify(checked)));
  } catch (e) {
    throw new JsonSchemaError((e as Error).message);
  }
  if (ok !== true) throw new JsonSchemaError(v.errorsText(v.errors));
  return { modern };
}

export interface Reference {
  name: string;
  subject: string;
  version: number;
}

export type LookupReference = (
  subject: string,
  version: number,
) => { schema: string; references: readonly Reference[] } | undefined;

export interface JsonSchemaResolved {
  /** Confluent's canonical string: compact, keys in the order written. */
  canonical: string;
  /** Keys sorted (computed on first use). */
  normalized(): string;
  schema: Schema;
}

function parseJson(text: string, what: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (e) {
    throw new JsonSchemaError(`Invalid JSON ${what}: ${(e as Error).message}`);
  }
}

function pointer(doc: JsonValue, fragment: string, ref: string): JsonValue {
  if (fragment === "" || fragment === "/") return doc;
  if (!fragment.startsWith("/")) throw new JsonSchemaError(`$ref ${ref}: only JSON pointers are resolved`);
  let at: JsonValue | undefined = doc;
  for (const raw of fragment.slice(1).split("/")) {
    const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    at =
      at !== null && typeof at === "object"
        ? Array.isArray(at)
          ? at[Number(key)]
          : (at as Record<string, JsonValue>)[key]
        : undefined;
    if (at === undefined) throw new JsonSchemaError(`$ref ${ref} points at nothing`);
  }
  return at;
}

export function resolveJsonSchema(
  text: string,
  references: readonly Reference[],
  lookup: LookupReference,
): JsonSchemaResolved {
  const root = parseJson(text, "schema");
  const { modern } = validate(root);
  const docs = new Map<string, JsonValue>();
  const load = (refs: readonly Reference[], depth: number): void => {
    if (depth > 32) throw new JsonSchemaError("schema references nest too deeply (or form a cycle)");
    for (const ref of refs) {
      if (docs.has(ref.name)) continue;
      const found = lookup(ref.subject, ref.version);
      if (!found) {
        throw new JsonSchemaError(
          `Invalid schema reference ${ref.name}: subject ${ref.subject} version ${ref.version} not found`,
        );
      }
      docs.set(ref.name, parseJson(found.schema, `reference ${ref.name}`));
      load(found.references, depth + 1);
    }
  };
  load(references, 0);
  const byId = new Map<string, JsonValue>();
  for (const d of docs.values()) {
    const id = d !== null && typeof d === "object" && !Array.isArray(d) ? (d.$id ?? d.id) : undefined;
    if (typeof id === "string") byId.set(id.replace(/#$/, ""), d);
  }
  const findDoc = (base: string): JsonValue | undefined => {
    if (docs.has(base)) return docs.get(base);
    if (byId.has(base)) return byId.get(base);
    const last = base.split("/").at(-1) ?? base;
    for (const [name, d] of docs) if (name === last || name.split("/").at(-1) === last) return d;
    return undefined;
  };
  const schema = loadSchema(root, root, {
    modern,
    deref(ref, doc) {
      const hash = ref.indexOf("#");
      const base = hash < 0 ? ref : ref.slice(0, hash);
      const fragment = hash < 0 ? "" : ref.slice(hash + 1);
      const ownId =
        doc !== null && typeof doc === "object" && !Array.isArray(doc) ? (doc.$id ?? doc.id) : undefined;
      const target = base === "" || base === ownId ? doc : findDoc(base);
      if (target === undefined)
        throw new JsonSchemaError(`$ref ${ref} cannot be resolved: no reference names it`);
      return { json: pointer(target, fragment, ref), doc: target };
    },
  });
  // Every $ref is followed once now, so an unresolvable one is refused at registration.
  touch(schema, new Set());
  let normalized: string | undefined;
  return { canonical: JSON.stringify(root), normalized: () => (normalized ??= canonicalJson(root)), schema };
}

function touch(s: Schema, seen: Set<Schema>): void {
  if (seen.has(s)) return;
  seen.add(s);
  const next: Schema[] = [];
  switch (s.kind) {
    case "ref":
      next.push(s.target());
      break;
    case "combined":
      next.push(...s.subschemas);
      break;
    case "not":
      next.push(s.mustNotMatch);
      break;
    case "object":
      next.push(
        ...s.properties.values(),
        ...s.schemaDependencies.values(),
        ...s.patternProperties.map(([, x]) => x),
      );
      if (s.additional) next.push(s.additional);
      break;
    case "array":
      for (const x of [s.allItems, s.additionalItems, s.unevaluatedItems, ...(s.itemSchemas ?? [])])
        if (x) next.push(x);
      break;
    default:
      break;
  }
  for (const n of next) touch(n, seen);
}

export function jsonBackwardMessages(reader: JsonSchemaResolved, writer: JsonSchemaResolved): string[] {
  return jsonBackward(reader.schema, writer.schema);
}
