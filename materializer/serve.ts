// The query endpoint of a `mesh materialize` process: the API's view routes (same shapes, same errors) over
// this process's views, plus who owns what in a split view. A query forwarded by another member or an API
// (`x-mesh-local: 1`) is answered from this process's own partitions by lib/http's member endpoint; any other
// query for a split view is forwarded to every member of its group and merged (engine-views.ts). Change
// streams and parked retry/skip act on this process's own feed and parked records (an API with
// --materializer fans them out: api/adapters/remote-views.ts).
import { columnTypes } from "./column-types.ts";
import type { FastifyInstance } from "fastify";
import { MeshError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import type { AuditSink } from "../lib/http/audit.ts";
import { requireAdmin, type Authenticator } from "../lib/http/auth.ts";
import { changesFrom } from "../lib/http/change-start.ts";
import type { HttpClient } from "../lib/http/client.ts";
import { METRICS_PATH } from "../lib/http/metrics.ts";
import { notFound } from "../lib/http/errors.ts";
import { answerLocally, rowNotFound } from "../lib/http/member-answers.ts";
import { parseRowKey, parseRowQuery } from "../lib/http/row-query.ts";
import { createServer } from "../lib/http/server.ts";
import { streamSse } from "../lib/http/sse.ts";
import { EngineViews } from "./engine-views.ts";
import type { MaterializerEngine } from "./engine.ts";

export interface ViewServerOptions {
  logger?: Logger;
  /**
   * Who a token is (lib/http/auth-tokens.ts). A member serves datamesh processes (internal credentials) and
   * the admin only: services read views through the API, where their policies are applied; a service token
   * is 403 here, except on GET /metrics with the `metrics` scope.
   */
  auth: Authenticator;
  /** Calls to the other members of a split view (carrying this process's internal credential). */
  client?: HttpClient;
  /** Where its denials (401/403) are audited (lib/http/audit.ts; protocol/audit-writer.ts). */
  audit?: AuditSink;
}

/** `engine` may be given late (a process listens first to learn its port, then starts its engine). */
export function buildViewServer(
  getEngine: () => MaterializerEngine,
  options: ViewServerOptions,
): FastifyInstance {
  // Members answer many forwarded queries: their request lines are debug; failures still reach the log.
  const app = createServer({
    ...(options.logger ? { logger: options.logger } : {}),
    auth: options.auth,
    ...(options.audit ? { audit: { sink: options.audit } } : {}),
    logLevel: "debug",
    name: "materializer",
  });
  app.addHook("onRequest", (request, _reply, done) => {
    if (request.url === METRICS_PATH || request.principal === null) return done();
    try {
      requireAdmin(
        request,
        "a materializer member answers datamesh processes and the admin only; read views through the API (GET /v1/views/{name}/rows)",
      );
    } catch (err) {
      return done(err as Error);
    }
    done();
  });
  let views: EngineViews | null = null;
  const engineViews = (): EngineViews => (views ??= new EngineViews(getEngine(), options.client));
  answerLocally(app, engineViews);
  const known = (name: string): string[] => {
    const columns = engineViews().columns(name);
    if (!columns) throw notFound("view", name);
    return columns;
  };

  app.get("/v1/views", () => ({
    views: getEngine()
      .listViews()
      .map((v) => ({
        name: v.name,
        sql: v.sql,
        key: v.key,
        columns: v.columns.map((c) => c.name),
        columnTypes: columnTypes(v),
        status: v.status,
        split: getEngine().ownership(v.name),
      })),
  }));

  app.get<{ Params: { name: string }; Querystring: Record<string, string | string[]> }>(
    "/v1/views/:name/rows",
    async (request) => {
      const { name } = request.params;
      return engineViews().queryRows(name, parseRowQuery(request.query, known(name)));
    },
  );

  app.get<{ Params: { name: string; key: string } }>("/v1/views/:name/rows/:key", async (request) => {
    const { name } = request.params;
    known(name);
    const key = parseRowKey(request.params.key);
    const row = await engineViews().getRow(name, key);
    if (!row) throw rowNotFound(name, key);
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
