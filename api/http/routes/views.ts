// /v1/views: declare a view in SQL, list, show status, drop, read rows (filters, order, cursor), read one
// row by key, and follow its changes as server-sent events.
import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { MeshError } from "../../../lib/errors.ts";
import { changesFrom } from "../../../lib/http/change-start.ts";
import { notFound } from "../../../lib/http/errors.ts";
import { rowNotFound } from "../../../lib/http/member-answers.ts";
import { parseRowKey, parseRowQuery } from "../../../lib/http/row-query.ts";
import { sseSchema, streamSse } from "../../../lib/http/sse.ts";
import type { ViewStatus, ViewSummary } from "../../../materializer/contract.ts";
import type { ViewRecord } from "../../../protocol/catalog.ts";
import { PARKED_LISTED } from "../../runtime.ts";
import type { ApiContext } from "../context.ts";

const errorRef = { $ref: "MeshError#" };
const nameParams = {
  type: "object",
  required: ["name"],
  additionalProperties: false,
  properties: { name: { type: "string" } },
} as const;

const viewSchema = {
  type: "object",
  properties: {
    name: { type: "string" },
    sql: { type: "string" },
    key: { type: "array", items: { type: "string" } },
    columns: { type: "array", items: { type: "string" } },
    createdAt: { type: "string" },
    status: {
      type: "object",
      properties: {
        state: { type: "string", enum: ["backfilling", "ready", "failed"] },
        error: { type: ["string", "null"] },
        progress: { type: ["number", "null"] },
        rows: { type: "number" },
        lagMs: { type: ["number", "null"] },
        parked: {
          type: "array",
          description: "records the view could not apply, each holding back its key (at most 100 listed)",
          items: {
            type: "object",
            properties: {
              topic: { type: "string" },
              partition: { type: "number" },
              offset: { type: "string" },
              key: { type: "string", description: "the record's Kafka key, hex" },
              reason: { type: "string" },
            },
          },
        },
        parkedCount: { type: "number" },
      },
    },
  },
} as const;

const rowSchema = { type: "object", additionalProperties: true } as const;

// Rows are free-form objects already in lossless JSON (api/adapters), so fast-json-stringify has nothing to
// specialise on and only walks every key with a generic path: plain JSON.stringify is faster for them. The
// response schemas stay, for the OpenAPI document.
const plainJson = (): ((data: unknown) => string) => (data) => JSON.stringify(data);

function publicView(view: ViewRecord, info: ViewSummary | undefined): Record<string, unknown> {
  return {
    name: view.name,
    sql: view.sql,
    key: info?.key ?? [],
    columns: info?.columns ?? [],
    createdAt: view.createdAt,
    status: info
      ? publicStatus(info.status)
      : {
          state: "backfilling",
          error: null,
          progress: null,
          rows: 0,
          lagMs: null,
          parked: [],
          parkedCount: 0,
        },
  };
}

/** A view's status as the API shows it (viewSchema): a stopped view is failed, the error one line. */
function publicStatus(status: ViewStatus): Record<string, unknown> {
  return {
    state: status.state === "stopped" ? "failed" : status.state,
    error: status.error ? `${status.error.code}: ${status.error.message}` : null,
    progress: status.progress,
    rows: status.rows,
    lagMs: status.lagMs,
    parked: status.parked.slice(0, PARKED_LISTED),
    parkedCount: status.parked.length,
  };
}

export function viewRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const mustGet = (name: string): ViewRecord => {
    const view = ctx.catalog.view(name);
    if (!view) throw notFound("view", name);
    return view;
  };

  app.post<{ Body: { sql: string } }>(
    "/v1/views",
    {
      schema: {
        tags: ["views"],
        summary:
          "Declare a view: CREATE VIEW name AS SELECT ... [JOIN ...] [WHERE ...]; it backfills from the topics",
        body: {
          type: "object",
          additionalProperties: false,
          required: ["sql"],
          properties: { sql: { type: "string", minLength: 1 } },
        },
        response: { 201: viewSchema, "4xx": errorRef, "5xx": errorRef },
      },
    },
    async (request, reply) => {
      const { name } = ctx.views.parse(request.body.sql);
      const record: ViewRecord = {
        type: "view",
        id: randomUUID(),
        name,
        sql: request.body.sql,
        createdAt: new Date().toISOString(),
      };
      ctx.catalog.checkView(record);
      // Compile and create first: SQL the engine refuses is never written to the catalog.
      await ctx.views.ensure(record);
      try {
        await ctx.catalog.putView(record);
      } catch (err) {
        await ctx.views.drop(name).catch(() => undefined);
        throw err;
      }
      await ctx.reconciler.settled("view", name);
      return reply.status(201).send(publicView(record, ctx.views.info(name)));
    },
  );

  app.get(
    "/v1/views",
    {
      schema: {
        tags: ["views"],
        summary: "List views with their status",
        response: { 200: { type: "object", properties: { views: { type: "array", items: viewSchema } } } },
      },
    },
    () => ({ views: ctx.catalog.views().map((v) => publicView(v, ctx.views.info(v.name))) }),
  );

  app.get<{ Params: { name: string } }>(
    "/v1/views/:name",
    {
      schema: {
        tags: ["views"],
        summary: "A view with its status, backfill progress, rows and lag",
        params: nameParams,
        response: { 200: viewSchema, "4xx": errorRef },
      },
    },
    (request) => {
      const view = mustGet(request.params.name);
      return publicView(view, ctx.views.info(view.name));
    },
  );

  app.delete<{ Params: { name: string } }>(
    "/v1/views/:name",
    {
      schema: {
        tags: ["views"],
        summary: "Drop a view and its state",
        params: nameParams,
        response: {
          200: { type: "object", properties: { deleted: { type: "string" } } },
          "4xx": errorRef,
          "5xx": errorRef,
        },
      },
    },
    async (request) => {
      const view = mustGet(request.params.name);
      await ctx.catalog.deleteView(view.name);
      await ctx.reconciler.settled("view", view.name);
      return { deleted: view.name };
    },
  );

  app.get<{ Params: { name: string }; Querystring: Record<string, string | string[]> }>(
    "/v1/views/:name/rows",
    {
      schema: {
        tags: ["views"],
        summary: "Rows: ?col=v&col[gte]=x (ops eq gt gte lt lte) &order=col|-col &limit=1..1000 &cursor=...",
        params: nameParams,
        querystring: {
          type: "object",
          additionalProperties: { anyOf: [{ type: "string" }, { type: "array", items: { type: "string" } }] },
          properties: {
            order: { type: "string", description: "column, or -column for descending" },
            limit: { type: "string", description: "1..1000, default 100" },
            cursor: { type: "string", description: "the `next` of the previous page" },
          },
        },
        response: {
          200: {
            type: "object",
            properties: { rows: { type: "array", items: rowSchema }, next: { type: ["string", "null"] } },
          },
          "4xx": errorRef,
          "5xx": errorRef,
        },
      },
      serializerCompiler: plainJson,
    },
    async (request) => {
      const view = mustGet(request.params.name);
      const info = ctx.views.info(view.name);
      const query = parseRowQuery(request.query, info && info.columns.length > 0 ? info.columns : null);
      return ctx.views.queryRows(view.name, query);
    },
  );

  app.get<{ Params: { name: string; key: string } }>(
    "/v1/views/:name/rows/:key",
    {
      schema: {
        tags: ["views"],
        summary: "One row by key; a composite key is a URL-encoded JSON array",
        params: {
          type: "object",
          required: ["name", "key"],
          additionalProperties: false,
          properties: { name: { type: "string" }, key: { type: "string" } },
        },
        response: { 200: rowSchema, "4xx": errorRef, "5xx": errorRef },
      },
      serializerCompiler: plainJson,
    },
    async (request) => {
      const view = mustGet(request.params.name);
      const key = parseRowKey(request.params.key);
      const row = await ctx.views.getRow(view.name, key);
      if (!row) throw rowNotFound(view.name, key);
      return row;
    },
  );

  for (const action of ["retry", "skip"] as const) {
    app.post<{ Params: { name: string }; Body: { topic: string; key: string } }>(
      `/v1/views/:name/parked/${action}`,
      {
        schema: {
          tags: ["views"],
          summary:
            action === "retry"
              ? "Retry a parked key: re-read its parked records in order, applying those that now can be"
              : "Skip a parked key's oldest record, then apply the records parked behind it that can be",
          params: nameParams,
          body: {
            type: "object",
            additionalProperties: false,
            required: ["topic", "key"],
            properties: {
              topic: { type: "string", minLength: 1 },
              key: { type: "string", description: "the parked record's `key` from status.parked" },
            },
          },
          response: {
            200: {
              type: "object",
              properties: {
                applied: { type: "number" },
                stillParked: { type: "number" },
                members: {
                  type: "array",
                  description:
                    "API with --materializer: what each member did (error: it failed or holds no such key)",
                  items: {
                    type: "object",
                    properties: {
                      member: { type: "string" },
                      applied: { type: "number" },
                      stillParked: { type: "number" },
                      error: {
                        type: "object",
                        properties: { code: { type: "string" }, message: { type: "string" } },
                      },
                    },
                  },
                },
              },
            },
            "4xx": errorRef,
            "5xx": errorRef,
          },
        },
      },
      async (request) => {
        const view = mustGet(request.params.name);
        if (!ctx.views.resolveParked)
          throw new MeshError(
            "MESH_BAD_REQUEST",
            `parked records of view ${view.name} are retried or skipped on the materializer process that ` +
              "runs it (this API reads views from other processes)",
            { view: view.name },
          );
        const { topic, key } = request.body;
        return ctx.views.resolveParked(view.name, { topic, key }, action);
      },
    );
  }

  app.get<{
    Params: { name: string };
    Querystring: { from?: string };
    Headers: { "last-event-id"?: string };
  }>(
    "/v1/views/:name/changes",
    {
      schema: {
        tags: ["views"],
        summary:
          "Server-sent events of the view's row changes; ?from=latest|earliest|<id>|<ISO time>; Last-Event-ID resumes",
        params: nameParams,
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            from: {
              type: "string",
              default: "latest",
              description:
                "earliest, latest, a change id, or an ISO-8601 time (the first change applied at or after it; " +
                "older than the oldest change kept: starts there with an `event: notice` first)",
            },
          },
        },
        ...sseSchema(
          "the view's change id, e.g. `42` (a split view through --materializer: one per member, " +
            "`http://m1:8081=120,http://m2:8081=98`)",
        ),
        produces: ["text/event-stream"],
      },
    },
    async (request, reply) => {
      const view = mustGet(request.params.name);
      const from = changesFrom(request.query.from, request.headers["last-event-id"]);
      // The start is resolved (and a member asked) before answering, so a bad one is an error status.
      const upstream = new AbortController();
      const stop = (): void => upstream.abort();
      request.raw.on("close", stop);
      const opened = ctx.views.openChanges
        ? await ctx.views.openChanges(view.name, from, upstream.signal).catch((err: unknown) => {
            upstream.abort();
            throw err;
          })
        : { events: ctx.views.changes(view.name, from, upstream.signal) };
      await streamSse(request, reply, async function* (signal) {
        signal.addEventListener("abort", stop);
        for await (const change of opened.events) {
          yield { id: change.id, event: change.event ?? "change", data: change.data };
        }
      }).finally(() => {
        request.raw.off("close", stop);
        upstream.abort();
      });
    },
  );
}
