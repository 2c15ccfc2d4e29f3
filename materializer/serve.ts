// The query endpoint of a `mesh materialize` process: the API's row routes (same shapes, same errors) over
// this process's views, plus who owns what in a split view. A request with `x-mesh-local: 1` (a forwarded
// query: api/adapters/split-views.ts) is answered from this process's own partitions with sort positions;
// any other request for a split view is forwarded to every member of its group and merged. Change streams
// and parked retry/skip act on this process's own feed and parked records (an API with --materializer
// fans them out: api/adapters/remote-views.ts).
import fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { EngineViews } from "../api/adapters/engine-views.ts";
import { LOCAL_HEADER, SERVED_HEADER } from "../api/adapters/split-views.ts";
import { notFound, registerErrorHandling } from "../api/http/errors.ts";
import { MeshError } from "../lib/errors.ts";
import { parseRowKey, parseRowQuery } from "../api/http/row-query.ts";
import { changesFrom } from "../api/http/routes/views.ts";
import { streamSse } from "../api/http/sse.ts";
import type { MaterializerEngine } from "./engine.ts";

/** `engine` may be given late (a process listens first to learn its port, then starts its engine). */
export function buildViewServer(getEngine: () => MaterializerEngine): FastifyInstance {
  const app = fastify({ logger: false, routerOptions: { maxParamLength: 2000 } });
  registerErrorHandling(app);
  let views: EngineViews | null = null;
  const engineViews = (): EngineViews => (views ??= new EngineViews(getEngine()));
  const known = (name: string): string[] => {
    const info = engineViews().info(name);
    if (!info) throw notFound("view", name);
    return info.columns;
  };
  /** A forwarded request: answer locally, saying which partitions the answer covers. */
  const local = (request: FastifyRequest, reply: FastifyReply, name: string): boolean => {
    if (request.headers[LOCAL_HEADER] !== "1") return false;
    const ownership = getEngine().ownership(name);
    if (ownership) void reply.header(SERVED_HEADER, ownership.served.join(","));
    return true;
  };

  app.get("/v1/views", () => ({
    views: getEngine()
      .listViews()
      .map((v) => ({
        name: v.name,
        sql: v.sql,
        key: v.key,
        columns: v.columns.map((c) => c.name),
        status: v.status,
        split: getEngine().ownership(v.name),
      })),
  }));

  app.get<{ Params: { name: string }; Querystring: Record<string, string | string[]> }>(
    "/v1/views/:name/rows",
    async (request, reply) => {
      const { name } = request.params;
      const query = parseRowQuery(request.query, known(name));
      const views = engineViews();
      return local(request, reply, name) ? views.localRows(name, query) : views.queryRows(name, query);
    },
  );

  app.get<{ Params: { name: string; key: string } }>("/v1/views/:name/rows/:key", async (request, reply) => {
    const { name } = request.params;
    known(name);
    const key = parseRowKey(request.params.key);
    const views = engineViews();
    const row = local(request, reply, name) ? await views.localRow(name, key) : await views.getRow(name, key);
    if (!row)
      throw new MeshError(
        "MESH_NOT_FOUND",
        `view ${name} has no row with key ${JSON.stringify(key)}; find keys with GET /v1/views/${name}/rows`,
        { view: name, key },
      );
    return row;
  });

  app.get<{ Params: { name: string } }>("/v1/views/:name/members", async (request) => {
    const { name } = request.params;
    known(name);
    const engine = getEngine();
    const split = engine.split(name);
    return {
      split: split !== null,
      partitions: split?.partitions ?? null,
      members: await engine.members(name),
    };
  });

  /**
   * This process's change feed (a split view: its own partitions), as the API serves it, with an
   * `event: start` first whose id is where it starts: a proxy merging members' streams (remote-changes.ts)
   * knows each member's position before that member's first change.
   */
  app.get<{
    Params: { name: string };
    Querystring: { from?: string };
    Headers: { "last-event-id"?: string };
  }>("/v1/views/:name/changes", async (request, reply) => {
    const { name } = request.params;
    known(name);
    const from = changesFrom(request.query.from, request.headers["last-event-id"]);
    const upstream = new AbortController();
    const stop = (): void => upstream.abort();
    request.raw.on("close", stop);
    const opened = await engineViews().openChanges(name, from, upstream.signal);
    await streamSse(request, reply, async function* (signal) {
      signal.addEventListener("abort", stop);
      if (opened.after !== null)
        yield { id: String(opened.after), event: "start", data: { after: String(opened.after) } };
      for await (const c of opened.events) yield { id: c.id, event: c.event ?? "change", data: c.data };
    }).finally(() => {
      request.raw.off("close", stop);
      upstream.abort();
    });
  });

  for (const action of ["retry", "skip"] as const) {
    app.post<{ Params: { name: string }; Body: { topic?: unknown; key?: unknown } | undefined }>(
      `/v1/views/:name/parked/${action}`,
      async (request) => {
        const { name } = request.params;
        known(name);
        const { topic, key }: { topic?: unknown; key?: unknown } = request.body ?? {};
        if (typeof topic !== "string" || typeof key !== "string" || topic === "" || key === "")
          throw new MeshError("MESH_BAD_REQUEST", 'the body must be {"topic": "...", "key": "..."}', {
            view: name,
          });
        return engineViews().resolveParked(name, { topic, key }, action);
      },
    );
  }

  return app;
}
