// The API process's answers as a member of a split view's group (`mesh up --materializer-group NAME`: its
// embedded engine advertises the API's own URL). Other members forward a view query here with
// `x-mesh-local: 1` (api/adapters/split-views.ts); it is answered from this process's partitions only, with
// sort positions and the partitions covered, exactly as a `mesh materialize` member answers (serve.ts).
import type { FastifyInstance } from "fastify";
import type { ViewEngine } from "../../materializer/contract.ts";
import { notFound } from "../http/errors.ts";
import { parseRowKey, parseRowQuery } from "../http/row-query.ts";
import type { EngineViews } from "./engine-views.ts";
import { LOCAL_HEADER, SERVED_HEADER } from "./split-views.ts";

const ROWS = "/v1/views/:name/rows";
const ROW = "/v1/views/:name/rows/:key";

/** A preHandler (after the route's own validation) that answers forwarded row queries locally. */
export function answerLocally(app: FastifyInstance, views: EngineViews, engine: ViewEngine): void {
  app.addHook("preHandler", async (request, reply) => {
    if (request.headers[LOCAL_HEADER] !== "1") return;
    const route = request.routeOptions.url;
    if (route !== ROWS && route !== ROW) return;
    const params = request.params as { name: string; key?: string };
    const info = views.info(params.name);
    if (!info) throw notFound("view", params.name);
    const ownership = engine.ownership?.(params.name);
    if (ownership) void reply.header(SERVED_HEADER, ownership.served.join(","));
    if (route === ROWS) {
      const query = parseRowQuery(request.query as Record<string, string | string[]>, info.columns);
      return reply.send(await views.localRows(params.name, query));
    }
    const key = parseRowKey(params.key ?? "");
    const row = await views.localRow(params.name, key);
    if (!row) throw notFound(`row of view ${params.name}`, JSON.stringify(key));
    return reply.send(row);
  });
}
