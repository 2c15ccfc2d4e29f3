// Completes the OpenAPI document @fastify/swagger generates from the route schemas, with what a route schema
// cannot say itself: the free-form row filters of GET /v1/views/{name}/rows (`col=v`, `col[op]=v`: any
// column's name) as one exploded object parameter, and a body a route takes optionally (`x-body-optional`,
// fastify marks every declared body required), and the bearer token every operation but the probes needs.

interface Operation {
  parameters?: unknown[];
  requestBody?: { required?: boolean };
  responses?: Record<string, unknown>;
  security?: Record<string, string[]>[];
  "x-body-optional"?: boolean;
}
interface Document {
  paths?: Record<string, Record<string, Operation | undefined> | undefined>;
  components?: { securitySchemes?: Record<string, unknown> } & Record<string, unknown>;
  security?: Record<string, string[]>[];
}

const rowFilters = {
  name: "filters",
  in: "query",
  required: false,
  style: "form",
  explode: true,
  description:
    "Row filters, one query parameter each, AND-ed: `col=value` (equals) or `col[op]=value` with op one of eq, gt, gte, lt, lte (e.g. `status=paid&total[gte]=100`); repeat a parameter for several conditions on one column. Values are compared as the column's type; a column the view lacks, an unknown operator or a value not of the column's type is a 422 `MESH_BAD_QUERY` naming it.",
  schema: {
    type: "object",
    additionalProperties: { type: "string" },
    example: { status: "paid", "total[gte]": "100" },
  },
};

export function completeOpenApi(document: object): Document {
  const doc = ("openapiObject" in document ? document.openapiObject : {}) as Document;
  const rows = doc.paths?.["/v1/views/{name}/rows"]?.get;
  if (rows) rows.parameters = [...(rows.parameters ?? []), rowFilters];
  // Every operation needs a bearer token (lib/http/auth.ts) but the probes, which stay open.
  doc.components = {
    ...doc.components,
    securitySchemes: {
      ...doc.components?.securitySchemes,
      bearerAuth: {
        type: "http",
        scheme: "bearer",
        description:
          "The admin token, or a service token from POST /v1/tokens: `Authorization: Bearer <token>`",
      },
    },
  };
  doc.security = [{ bearerAuth: [] }];
  for (const path of ["/healthz", "/readyz"]) {
    const probe = doc.paths?.[path]?.get;
    if (!probe) continue;
    probe.security = [];
    for (const status of ["401", "403"]) delete probe.responses?.[status];
  }
  for (const methods of Object.values(doc.paths ?? {})) {
    for (const operation of Object.values(methods ?? {})) {
      if (!operation?.["x-body-optional"]) continue;
      delete operation["x-body-optional"];
      if (operation.requestBody) operation.requestBody.required = false;
    }
  }
  return doc;
}
