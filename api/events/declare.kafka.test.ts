// Declarations against the real registry, in every format: two event types, then a compatible new version
// of the first, each accepted under the subjects' compatibility rule (adding a type to the topic schema and
// changing one compatibly are BACKWARD), an incompatible change refused with 409; the connector's codec of the
// latest topic schema (read back with its references resolved) encodes each type and decodes it again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadLatestCodec, type EventFormat } from "../../connectors/core/outbox-schemas.ts";
import { isMeshError } from "../../lib/errors.ts";
import { silentLogger } from "../../lib/logger.ts";
import { RegistryClient } from "../../lib/registry-client.ts";
import { startRegistry, type RunningRegistry } from "../../registry/server.ts";
import { kafka, kafkaConnection, uniqueName } from "../../test/support/stack.ts";
import { Catalog, MemoryCatalogLog } from "../catalog/catalog.ts";
import { EventDeclarations } from "./declare.ts";
import { TEST_ADMIN_TOKEN } from "../../test/support/auth.ts";

let registry: RunningRegistry;
const schemasTopic = uniqueName("_schemas_events");

beforeAll(async () => {
  registry = await startRegistry({
    adminToken: TEST_ADMIN_TOKEN,
    ...kafkaConnection(),
    port: 0,
    topic: schemasTopic,
    logger: silentLogger(),
  });
});
afterAll(async () => {
  await registry?.stop();
  await kafka()
    .admin()
    .deleteTopics([schemasTopic, `${schemasTopic}_leader`]);
});

const schemas: Record<EventFormat, { placed: string; shipped: string; placed2: string; broken: string }> = {
  AVRO: {
    placed: JSON.stringify({
      type: "record",
      name: "Placed",
      namespace: "shop",
      fields: [{ name: "total", type: "double" }],
    }),
    shipped: JSON.stringify({
      type: "record",
      name: "Shipped",
      namespace: "shop",
      fields: [{ name: "carrier", type: "string" }],
    }),
    placed2: JSON.stringify({
      type: "record",
      name: "Placed",
      namespace: "shop",
      fields: [
        { name: "total", type: "double" },
        { name: "note", type: ["null", "string"], default: null },
      ],
    }),
    broken: JSON.stringify({
      type: "record",
      name: "Placed",
      namespace: "shop",
      fields: [{ name: "total", type: "string" }],
    }),
  },
  // Closed content models: Confluent's rule lets a new optional property into those only.
  JSON: {
    placed: JSON.stringify({
      type: "object",
      properties: { total: { type: "number" } },
      required: ["total"],
      additionalProperties: false,
    }),
    shipped: JSON.stringify({ type: "object", properties: { carrier: { type: "string" } } }),
    placed2: JSON.stringify({
      type: "object",
      properties: { total: { type: "number" }, note: { type: "string" } },
      required: ["total"],
      additionalProperties: false,
    }),
    broken: JSON.stringify({
      type: "object",
      properties: { total: { type: "string" } },
      required: ["total"],
      additionalProperties: false,
    }),
  },
  PROTOBUF: {
    placed: 'syntax = "proto3";\npackage shop;\nmessage Placed { double total = 1; }\n',
    shipped: 'syntax = "proto3";\npackage shop;\nmessage Shipped { string carrier = 1; }\n',
    placed2: 'syntax = "proto3";\npackage shop;\nmessage Placed { double total = 1; string note = 2; }\n',
    broken: 'syntax = "proto3";\npackage shop;\nmessage Placed { string total = 1; }\n',
  },
};

describe("event type declarations against the registry", () => {
  for (const format of ["AVRO", "JSON", "PROTOBUF"] as const) {
    it(`${format}: two types, a compatible change, an incompatible one refused; the codec round-trips`, async () => {
      const catalog = new Catalog(new MemoryCatalogLog());
      await catalog.start();
      const client = new RegistryClient({ token: TEST_ADMIN_TOKEN, url: registry.url });
      const declarations = new EventDeclarations(catalog, client);
      const owner = uniqueName("svc").replaceAll("_", "-");
      const topic = `${owner}.Order`;
      const s = schemas[format];
      const declare = (type: string, schema: string) =>
        declarations.declare(topic, type, { owner, format, schema });
      expect((await declare("Placed", s.placed)).created).toBe(true);
      expect((await declare("Shipped", s.shipped)).created).toBe(true);
      const changed = await declare("Placed", s.placed2);
      expect(changed).toMatchObject({ created: false, type: { version: 2 } });
      const refused = await declare("Placed", s.broken).catch((e: unknown) => e);
      expect(isMeshError(refused) && refused.code).toBe("MESH_SCHEMA_INCOMPATIBLE");
      expect(catalog.eventTopic(topic)).toMatchObject({
        format,
        valueVersion: 3,
        types: [
          { type: "Placed", version: 2 },
          { type: "Shipped", version: 1 },
        ],
      });

      const codec = await loadLatestCodec(client, topic);
      expect(codec?.types).toEqual(["Placed", "Shipped"]);
      const placed = { total: 12.5, note: "gift" };
      expect(codec?.decode(codec.encode("Placed", placed))).toEqual(placed);
      expect(codec?.decode(codec.encode("Shipped", { carrier: "ups" }))).toEqual({ carrier: "ups" });
      await catalog.stop();
    }, 60_000);
  }
});
