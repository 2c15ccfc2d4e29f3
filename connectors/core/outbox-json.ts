// JSON Schema domain events: a type's schema is one self-contained JSON Schema document; the topic's value
// schema is `{"anyOf": [{"$ref": "<type>.json"}, ...]}`, each name a reference to the type's subject (anyOf,
// not oneOf: two types' schemas may both accept a payload, and a validating reader must still take it). The
// body is the payload's JSON text (Confluent's JSON Schema wire format has no message indexes). Validation
// with ajv in the draft the schema names (draft 7 when it names none, as Confluent). Pure.
import { createRequire } from "node:module";
import type { ValidateFunction } from "ajv";
import { PayloadError } from "./outbox-avro.ts";

const require = createRequire(import.meta.url);

interface Compiler {
  compile(schema: unknown): ValidateFunction;
}
type AjvClass = new (opts: Record<string, unknown>) => Compiler;

const drafts: Record<string, () => AjvClass> = {
  "http://json-schema.org/draft-04/schema": () => require("ajv-draft-04") as AjvClass,
  "https://json-schema.org/draft/2019-09/schema": () =>
    (require("ajv/dist/2019.js") as { default: AjvClass }).default,
  "https://json-schema.org/draft/2020-12/schema": () =>
    (require("ajv/dist/2020.js") as { default: AjvClass }).default,
};

const compilers = new Map<string, Compiler>();

function compilerFor(schema: unknown): Compiler {
  const declared =
    typeof schema === "object" &&
    schema !== null &&
    typeof (schema as { $schema?: unknown }).$schema === "string"
      ? (schema as { $schema: string }).$schema.replace(/#$/, "")
      : "";
  const key = drafts[declared] ? declared : "draft-07";
  let c = compilers.get(key);
  if (!c) {
    const load = drafts[key];
    const Ajv = load ? load() : (require("ajv") as AjvClass & { default?: AjvClass });
    const C = (Ajv as AjvClass & { default?: AjvClass }).default ?? Ajv;
    c = new C({ strict: false, validateFormats: false, allErrors: false });
    compilers.set(key, c);
  }
  return c;
}

/** The validator of a type's schema text; throws PayloadError when it is not a JSON Schema ajv can compile. */
export function jsonValidator(text: string): ValidateFunction {
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (err) {
    throw new PayloadError("schema", `not JSON: ${(err as Error).message}`);
  }
  // Compiled without its $id: two types (or two versions) may carry the same one, and ajv keeps ids it saw.
  const withoutId =
    typeof schema === "object" && schema !== null && !Array.isArray(schema)
      ? Object.fromEntries(Object.entries(schema).filter(([k]) => k !== "$id" && k !== "id"))
      : schema;
  try {
    return compilerFor(schema).compile(withoutId);
  } catch (err) {
    throw new PayloadError(
      "schema",
      `not a JSON Schema this connector can validate with: ${(err as Error).message}`,
    );
  }
}

/** Throws PayloadError naming the first place `payload` breaks the schema. */
export function checkJson(validate: ValidateFunction, payload: unknown): void {
  if (validate(payload)) return;
  const e = validate.errors?.[0];
  const at = `payload${(e?.instancePath ?? "").replaceAll("/", ".")}`;
  const extra =
    e?.keyword === "additionalProperties"
      ? ` (${String((e.params as { additionalProperty?: unknown }).additionalProperty)})`
      : "";
  throw new PayloadError(at, `${e?.message ?? "does not match the schema"}${extra}`);
}

export function jsonReferenceName(type: string): string {
  return `${type}.json`;
}

/** The topic's value schema over the types' references (declaration order). */
export function jsonTopicSchema(types: readonly string[]): string {
  return JSON.stringify({ anyOf: types.map((t) => ({ $ref: jsonReferenceName(t) })) });
}
