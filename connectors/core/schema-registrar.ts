// Registers a connector's schemas in the Confluent-compatible registry (registry/) and builds their codecs.
// A schema is registered (and its id known) before any event uses it; the registry's refusal of an
// incompatible version (HTTP 409) becomes MESH_SCHEMA_INCOMPATIBLE so the caller can stop just that table.
import { avroType } from "../../lib/avro.ts";
import { MeshError } from "../../lib/errors.ts";
import type { RegisteredSchema, SchemaRegistrar } from "../../protocol/wire.ts";

/** What a connector needs from a registry (protocol/wire.ts); the HTTP implementation is below. */
export type { RegisteredSchema, SchemaRegistrar };

export function httpSchemaRegistrar(baseUrl: string, fetchFn: typeof fetch = fetch): SchemaRegistrar {
  // Same subject + same schema text → same id: a restart re-registers every table, so cache in memory.
  const cache = new Map<string, RegisteredSchema>();
  const root = baseUrl.replace(/\/+$/, "");
  return {
    async register(subject, schema) {
      const text = JSON.stringify(schema);
      const cacheKey = `${subject}\u0000${text}`;
      const hit = cache.get(cacheKey);
      if (hit) return hit;
      let res: Response;
      try {
        res = await fetchFn(`${root}/subjects/${encodeURIComponent(subject)}/versions`, {
          method: "POST",
          headers: { "content-type": "application/vnd.schemaregistry.v1+json" },
          body: JSON.stringify({ schema: text }),
        });
      } catch (err) {
        throw new MeshError(
          "MESH_REGISTRY_UNAVAILABLE",
          `the schema registry at ${root} did not answer`,
          { subject },
          { cause: err },
        );
      }
      const body = (await res.json().catch(() => ({}))) as {
        id?: number;
        message?: string;
        error_code?: number;
      };
      if (res.status === 409) {
        throw new MeshError(
          "MESH_SCHEMA_INCOMPATIBLE",
          `the new schema of ${subject} is refused by the subject's compatibility rule: ${body.message ?? "incompatible"}; ` +
            "make the change compatible (e.g. add columns as nullable) or change the subject's compatibility, then restart the table",
          { subject, registry: body },
        );
      }
      if (!res.ok || typeof body.id !== "number") {
        const code = res.status >= 500 ? "MESH_REGISTRY_UNAVAILABLE" : "MESH_INTERNAL";
        throw new MeshError(
          code,
          `registering ${subject} failed with HTTP ${res.status}: ${body.message ?? ""}`,
          { subject, registry: body },
        );
      }
      const registered = { id: body.id, type: avroType(schema) };
      cache.set(cacheKey, registered);
      return registered;
    },
  };
}
