// What a connector needs from a schema registry (protocol/wire.ts): registering its schemas, each before any
// event uses it; a refusal by the subject's compatibility rule (HTTP 409) is MESH_SCHEMA_INCOMPATIBLE so the
// caller can stop just that table. lib/registry-client.ts is the HTTP implementation; tests may pass their own.
import type { RegisteredSchema, SchemaRegistrar } from "../../protocol/wire.ts";

export type { RegisteredSchema, SchemaRegistrar };
