// Owns the JSON schemas of the hot read responses: fastify compiles them into serializers (fast-json-stringify),
// which is most of the cost of a lookup by id. Properties not listed here would be dropped, so list them all.
const references = {
  type: "array",
  items: {
    type: "object",
    properties: { name: { type: "string" }, subject: { type: "string" }, version: { type: "integer" } },
  },
} as const;

export const schemaByIdResponse = {
  200: {
    type: "object",
    properties: {
      schema: { type: "string" },
      schemaType: { type: "string" },
      references,
      maxId: { type: "integer" },
    },
  },
} as const;

export const versionResponse = {
  200: {
    type: "object",
    properties: {
      subject: { type: "string" },
      version: { type: "integer" },
      id: { type: "integer" },
      schema: { type: "string" },
      schemaType: { type: "string" },
      references,
    },
  },
} as const;
