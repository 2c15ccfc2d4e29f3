// Parts of the OpenAPI document that route schemas cannot express: the free-form row filters of
// GET /v1/views/{name}/rows (`col=v`, `col[op]=v`) are any column's name, so they are described as one
// exploded object parameter rather than a fixed list.

interface Operation {
  parameters?: unknown[];
}
interface Document {
  paths?: Record<string, Record<string, Operation | undefined> | undefined>;
}

const rowFilters = {
  name: "filters",
  in: "query",
  required: false,
  style: "form",
  explode: true,
  description:
    "Row filters, one query parameter each, AND-ed: `col=value` (equals) or `col[op]=value` with op one of eq, gt, gte, lt, lte (e.g. `status=paid&total[gte]=100`); repeat a parameter for several conditions on one column. Values are compared as the column's type (a value of the wrong type is a 400 naming the column).",
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
  return doc;
}
