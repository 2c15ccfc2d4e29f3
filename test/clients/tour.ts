// The README tour through a TypeScript client generated from the API's OpenAPI document (openapi-typescript
// types + openapi-fetch), as a service would write it: register a source, wait for it to stream, declare a
// view, query it with filters page by page (cursor), and read the error of a 409. Run by
// api/e2e/generated-clients.e2e.test.ts, which generates ../../.mesh/generated/ts/schema.d.ts first and
// type-checks this file against it (tsconfig.json here). Prints one JSON line of what it saw.
import createClient from "openapi-fetch";
import type { paths } from "../../.mesh/generated/ts/schema.d.ts";

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const [apiUrl, dbUrl, source, view] = ["API_URL", "DB_URL", "SOURCE", "VIEW"].map(env) as [
  string,
  string,
  string,
  string,
];

// Row filters are one exploded object (`status=paid&total[gte]=40`): form style, not openapi-fetch's default.
const mesh = createClient<paths>({
  baseUrl: apiUrl,
  // Every route needs a token (README "Tokens and access").
  headers: { authorization: `Bearer ${env("MESH_TOKEN")}` },
  querySerializer: { object: { style: "form", explode: true } },
});

async function until(what: string, ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const registration = {
  name: source,
  owner: "tour",
  kind: "postgres" as const,
  url: dbUrl,
  tables: ["public.orders"],
};
const registered = await mesh.POST("/v1/sources", { body: registration });
if (!registered.data) throw new Error(`register: ${JSON.stringify(registered.error)}`);

await until("the source to stream", async () => {
  const { data } = await mesh.GET("/v1/sources/{name}", { params: { path: { name: source } } });
  return data?.status.state === "streaming";
});

const declared = await mesh.POST("/v1/views", {
  body: { sql: `CREATE VIEW ${view} AS SELECT o.id, o.status, o.total FROM ${source}.public.orders o` },
});
if (!declared.data) throw new Error(`declare: ${JSON.stringify(declared.error)}`);
await until("the view to be ready", async () => {
  const { data } = await mesh.GET("/v1/views/{name}", { params: { path: { name: view } } });
  return data?.status.state === "ready";
});

const ids: unknown[] = [];
let pages = 0;
let cursor: string | undefined;
do {
  const { data, error } = await mesh.GET("/v1/views/{name}/rows", {
    params: {
      path: { name: view },
      query: { filters: { status: "paid", "total[gte]": "40" }, limit: 2, ...(cursor ? { cursor } : {}) },
    },
  });
  if (!data) throw new Error(`rows: ${JSON.stringify(error)}`);
  pages++;
  ids.push(...data.rows.map((row) => row.id));
  cursor = data.next ?? undefined;
} while (cursor);

const again = await mesh.POST("/v1/sources", { body: registration });
const conflict = { status: again.response.status, code: again.error?.code, message: again.error?.message };

console.log(JSON.stringify({ ids, pages, conflict }));
