// The key of GET /v1/views/{name}/rows/{key} as each view types it, where the view is known here (an
// embedded engine): one JSON schema per view, from its key columns' kinds, that both validates the key the
// route receives and, served in the OpenAPI document under the view's own path
// (`/v1/views/<view>/rows/{key}`), tells a generated client the key's type, so the two cannot differ.
import { MeshError } from "../../lib/errors.ts";
import type { ViewSummary } from "../../materializer/contract.ts";

type KeyKind = NonNullable<ViewSummary["keyKinds"]>[number];

/** A number as a key value: what the view engine compares as one (materializer/query-values.ts). */
const NUMBER_PATTERN = "^[+-]?(?:[0-9]+\\.?[0-9]*|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?$";

/** A view whose name can be a literal OpenAPI path segment. */
const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function words(kind: KeyKind): string {
  if (kind === "number" || kind === "decimal") return "a number (64-bit integers and decimals as digits)";
  if (kind === "boolean") return "true or false";
  if (kind === "bytes") return "base64";
  return "text";
}

/** The path parameter's schema: the one key column's value, or a composite key's URL-encoded JSON array. */
export function keySchema(
  view: Pick<ViewSummary, "name" | "key">,
  kinds: KeyKind[],
): Record<string, unknown> {
  const [only] = kinds;
  if (kinds.length === 1 && only !== undefined) {
    const column = view.key[0] ?? "key";
    const description = `the value of \`${column}\`, ${words(only)}`;
    if (only === "number" || only === "decimal")
      return { type: "string", pattern: NUMBER_PATTERN, description };
    if (only === "boolean") return { type: "string", enum: ["true", "false"], description };
    // A value starting with "[" is read as a composite key: a one-column key cannot start with it.
    return { type: "string", minLength: 1, pattern: "^[^[]", description };
  }
  return {
    type: "string",
    pattern: "^\\[.*\\]$",
    description:
      `a JSON array of ${view.key.map((k, i) => `\`${k}\` (${words(kinds[i] ?? "any")})`).join(", ")}, ` +
      'URL-encoded, e.g. `["a",1]`',
  };
}

/** Refuses a key the view's key schema does not take (422 MESH_BAD_QUERY, like the engine's own check). */
export function checkViewKey(view: ViewSummary, raw: string): void {
  const kinds = view.keyKinds;
  if (!kinds || kinds.length !== 1) return;
  const schema = keySchema(view, kinds) as { pattern?: string; enum?: string[]; description: string };
  const ok =
    (schema.pattern === undefined || new RegExp(schema.pattern).test(raw)) &&
    (schema.enum === undefined || schema.enum.includes(raw));
  if (!ok)
    throw new MeshError(
      "MESH_BAD_QUERY",
      `column "${view.key[0] ?? "key"}" of view ${view.name} is ${words(kinds[0] ?? "any")}; the key value ${JSON.stringify(raw)} is not`,
      { column: view.key[0] ?? null, value: raw },
    );
}

interface Operation {
  parameters?: { in: string; name: string; schema?: unknown; description?: string }[];
  operationId?: string;
  summary?: string;
  description?: string;
  [key: string]: unknown;
}
type Document = { paths?: Record<string, Record<string, Operation | undefined>> } & Record<string, unknown>;

/**
 * The document with, for each known view, its own `GET /v1/views/<view>/rows/{key}`: the generic row
 * operation with the key typed as the view types it.
 */
export function withViewKeys(document: Document, views: ViewSummary[]): Document {
  const generic = document.paths?.["/v1/views/{name}/rows/{key}"]?.get;
  if (!generic || !document.paths) return document;
  for (const view of views) {
    if (!view.keyKinds || view.keyKinds.length === 0 || !PLAIN_NAME.test(view.name)) continue;
    const parameters = (generic.parameters ?? [])
      .filter((p) => !(p.in === "path" && p.name === "name"))
      .map((p) =>
        p.in === "path" && p.name === "key" ? { ...p, schema: keySchema(view, view.keyKinds ?? []) } : p,
      );
    document.paths[`/v1/views/${view.name}/rows/{key}`] = {
      get: {
        ...generic,
        operationId: `getRowOf_${view.name}`,
        summary: `One row of view ${view.name} by its key (${view.key.join(", ")})`,
        parameters: parameters.map((p) =>
          p.in === "path" && p.name === "key"
            ? { ...p, description: (p.schema as { description: string }).description }
            : p,
        ),
      },
    };
  }
  return document;
}
