// /v1/views: declare a view in SQL, list, show status, drop, read rows (filters, order, cursor), read one
// row by key, and follow its changes as server-sent events.
import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { MeshError } from "../../../lib/errors.ts";
import { changesFrom } from "../../../lib/http/change-start.ts";
import { notFound } from "../../../lib/http/errors.ts";
import { rowNotFound } from "../../../lib/http/member-answers.ts";
import { parseRowKey, parseRowQuery } from "../../../lib/http/row-query.ts";
import { STREAM_FROM_PATTERN, VIEW_CHANGE_ID_PATTERN } from "../../../lib/http/change-start.ts";
import { errorResponses } from "../../../lib/http/error-responses.ts";
import { maxLimit, defaultLimit } from "../../../lib/http/row-query.ts";
import { sseSchema, streamSse } from "../../../lib/http/sse.ts";
import type { ViewRecord } from "../../../protocol/catalog.ts";
import { principalOf, type Principal } from "../../../lib/http/auth.ts";
import { Access, forbiddenFilters } from "../../governance/access.ts";
import { registeringOwner, requireOwner } from "../../governance/ownership.ts";
import type { ApiContext } from "../context.ts";
import { checkViewKey } from "../view-keys.ts";
import { publicView, publicViewFor } from "../view-shape.ts";

const nameParams = {
  type: "object",
  required: ["name"],
  additionalProperties: false,
  properties: { name: { type: "string", minLength: 1, description: "the view's name" } },
} as const;

// Rows are free-form objects already in lossless JSON (api/adapters), so fast-json-stringify has nothing to
// specialise on and only walks every key with a generic path: plain JSON.stringify is faster for them. The
// response schemas stay, for the OpenAPI document.
const plainJson = (): ((data: unknown) => string) => (data) => JSON.stringify(data);

export function viewRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const access = ctx.access ?? new Access(ctx.catalog, null);
  const mustGet = (name: string): ViewRecord => {
    const view = ctx.catalog.view(name);
    if (!view) throw notFound("view", name);
    return view;
  };

  const shown = (principal: Principal, view: ViewRecord): Record<string, unknown> =>
    publicViewFor(principal, view, ctx.views.info(view.name));

  app.post<{ Body: { sql: string; owner?: string } }>(
    "/v1/views",
    {
      schema: {
        tags: ["views"],
        operationId: "createView",
        summary:
          "Declare a view: CREATE VIEW name AS SELECT ... [JOIN ...] [WHERE ...]; it backfills from the topics",
        body: { $ref: "ViewDeclaration#" },
        response: {
          201: { description: "Declared: the view backfills from its topics", $ref: "View#" },
          ...errorResponses(
            "MESH_BAD_SQL",
            "MESH_FORBIDDEN",
            "MESH_CONFLICT",
            "MESH_CONNECTOR_OUTDATED",
            "MESH_KAFKA_FENCED",
          ),
        },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const owner = registeringOwner(principal, "view", request.body.owner, false);
      const { name } = ctx.views.parse(request.body.sql);
      const record: ViewRecord = {
        type: "view",
        id: randomUUID(),
        name,
        sql: request.body.sql,
        ...(owner === undefined ? {} : { owner }),
        createdAt: new Date().toISOString(),
      };
      ctx.catalog.checkView(record);
      // Its owner must be able to read it: no view over tables its service is not granted, nor one that
      // filters or joins on columns masked for it (checked when its inputs' schemas are known here).
      if (owner !== undefined) await access.checkDeclaration({ ...principal, service: owner }, record);
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
        operationId: "listViews",
        summary: "List views with their status",
        response: {
          200: {
            type: "object",
            required: ["views"],
            properties: { views: { type: "array", items: { $ref: "View#" } } },
          },
          ...errorResponses(),
        },
      },
    },
    (request) => {
      const principal = principalOf(request);
      return { views: ctx.catalog.views().map((v) => shown(principal, v)) };
    },
  );

  app.get<{ Params: { name: string } }>(
    "/v1/views/:name",
    {
      schema: {
        tags: ["views"],
        operationId: "getView",
        summary: "A view with its status, backfill progress, rows and lag",
        params: nameParams,
        response: { 200: { $ref: "View#" }, ...errorResponses("MESH_NOT_FOUND") },
      },
    },
    (request) => {
      return shown(principalOf(request), mustGet(request.params.name));
    },
  );

  app.delete<{ Params: { name: string } }>(
    "/v1/views/:name",
    {
      schema: {
        tags: ["views"],
        operationId: "deleteView",
        summary: "Drop a view and its state",
        params: nameParams,
        response: {
          200: { type: "object", required: ["deleted"], properties: { deleted: { type: "string" } } },
          ...errorResponses("MESH_NOT_FOUND", "MESH_FORBIDDEN", "MESH_KAFKA_FENCED"),
        },
      },
    },
    async (request) => {
      const view = mustGet(request.params.name);
      requireOwner(principalOf(request), "view", view.name, view.owner);
      await ctx.catalog.deleteView(view.name);
      await ctx.reconciler.settled("view", view.name);
      return { deleted: view.name };
    },
  );

  app.get<{ Params: { name: string }; Querystring: Record<string, string | string[]> & { limit?: number } }>(
    "/v1/views/:name/rows",
    {
      schema: {
        tags: ["views"],
        operationId: "queryRows",
        summary: "Rows: ?col=v&col[gte]=x (ops eq gt gte lt lte) &order=col|-col &limit=1..1000 &cursor=...",
        description:
          "A filter or `order` naming a column the view lacks, a value not of its column's type, or `order` by " +
          "a column without an index is a 422 `MESH_BAD_QUERY` naming them (GET /v1/views/{name} lists the " +
          "columns and the key).",
        params: nameParams,
        querystring: {
          type: "object",
          additionalProperties: { anyOf: [{ type: "string" }, { type: "array", items: { type: "string" } }] },
          properties: {
            order: {
              type: "string",
              minLength: 1,
              description: "the key column or an indexed column; -column for descending",
            },
            limit: {
              type: "integer",
              minimum: 1,
              maximum: maxLimit,
              default: defaultLimit,
              description: "rows per page",
            },
            cursor: {
              type: "string",
              pattern: "^[A-Za-z0-9_-]+$",
              description: "the `next` of the previous page, unchanged (with the same filters and order)",
            },
            consistent: {
              type: "string",
              enum: ["true", "false"],
              default: "true",
              description:
                "a split view's page read with every member at the same source transaction (default); " +
                '`false`: each member as it is now (docs/views.md "Consistent pages")',
            },
          },
        },
        response: {
          200: { $ref: "RowPage#" },
          ...errorResponses("MESH_NOT_FOUND", "MESH_FORBIDDEN", "MESH_BAD_QUERY", "MESH_BAD_CURSOR"),
        },
      },
      serializerCompiler: plainJson,
    },
    async (request) => {
      const view = mustGet(request.params.name);
      const grant = await access.requireView(principalOf(request), view);
      const info = ctx.views.info(view.name);
      const query = parseRowQuery(
        { ...request.query, limit: String(request.query.limit ?? defaultLimit) },
        info && info.columns.length > 0 ? info.columns : null,
      );
      if (!grant.masked) return ctx.views.queryRows(view.name, query);
      forbiddenFilters(view.name, grant, query);
      const page = await ctx.views.queryRows(view.name, query);
      return { ...page, rows: page.rows.map(grant.row) };
    },
  );

  app.get<{ Params: { name: string; key: string } }>(
    "/v1/views/:name/rows/:key",
    {
      schema: {
        tags: ["views"],
        operationId: "getRow",
        summary: "One row by key; a composite key is a URL-encoded JSON array",
        description:
          "A value not of its key column's type (or a key of the wrong number of parts) is a 422 " +
          "`MESH_BAD_QUERY` naming the column.",
        params: {
          type: "object",
          required: ["name", "key"],
          additionalProperties: false,
          properties: {
            name: { type: "string", minLength: 1, description: "the view's name" },
            key: {
              type: "string",
              minLength: 1,
              description: 'the key\'s value; a composite key is a JSON array, `["a",1]`, URL-encoded',
            },
          },
        },
        response: {
          200: { $ref: "Row#" },
          ...errorResponses("MESH_NOT_FOUND", "MESH_FORBIDDEN", "MESH_BAD_QUERY"),
        },
      },
      serializerCompiler: plainJson,
    },
    async (request) => {
      const view = mustGet(request.params.name);
      // A masked key column makes the view unreadable (decide.ts), so a lookup never tests a masked value.
      const grant = await access.requireView(principalOf(request), view);
      const info = ctx.views.info(view.name);
      // The key's type as the document states it under the view's own path (view-keys.ts).
      if (info) checkViewKey(info, request.params.key);
      const key = parseRowKey(request.params.key);
      const row = await ctx.views.getRow(view.name, key);
      if (!row) throw rowNotFound(view.name, key);
      return grant.row(row);
    },
  );

  for (const action of ["retry", "skip"] as const) {
    app.post<{ Params: { name: string }; Body: { topic: string; key: string } }>(
      `/v1/views/:name/parked/${action}`,
      {
        schema: {
          tags: ["views"],
          operationId: action === "retry" ? "retryParked" : "skipParked",
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
              key: {
                type: "string",
                pattern: "^(?:[0-9a-f]{2})*$",
                description: "the parked record's `key` from status.parked (hex)",
              },
            },
          },
          response: {
            200: { $ref: "ParkedResult#" },
            ...errorResponses("MESH_NOT_FOUND", "MESH_FORBIDDEN", "MESH_CONFLICT"),
          },
        },
      },
      async (request) => {
        const view = mustGet(request.params.name);
        requireOwner(principalOf(request), "view", view.name, view.owner);
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
        operationId: "streamViewChanges",
        summary:
          "Server-sent events of the view's row changes; ?from=latest|earliest|<id>|<ISO time>; Last-Event-ID resumes",
        params: nameParams,
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            from: {
              type: "string",
              pattern: STREAM_FROM_PATTERN,
              default: "latest",
              description:
                "earliest, latest, a change id, or an ISO-8601 time (the first change applied at or after it; " +
                "older than the oldest change kept: starts there with an `event: notice` first)",
            },
          },
        },
        ...sseSchema({
          idDescription:
            "the view's change id, e.g. `42` (a split view through --materializer: one per member, " +
            "`http://m1:8081=120,http://m2:8081=98`)",
          idPattern: VIEW_CHANGE_ID_PATTERN,
          events: {
            change: {
              description: "a row changed; the id is the change's, resumable with Last-Event-ID",
              data: { $ref: "#/components/schemas/ViewChange" },
            },
            notice: {
              description:
                "the start is older than the changes kept: the stream starts at the oldest one kept",
              data: { $ref: "#/components/schemas/ViewNotice" },
            },
          },
          errors: errorResponses("MESH_NOT_FOUND", "MESH_FORBIDDEN", "MESH_BAD_QUERY"),
        }),
      },
    },
    async (request, reply) => {
      const view = mustGet(request.params.name);
      const principal = principalOf(request);
      let grant = await access.requireView(principal, view);
      let decidedAt = access.version;
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
          if (access.version !== decidedAt) {
            // A grant changed since: decide again; a revoked one ends the stream before this change.
            decidedAt = access.version;
            const current = ctx.catalog.view(view.name);
            if (current?.id !== view.id) return;
            const again = await access.requireView(principal, current).catch(() => null);
            if (!again) return;
            grant = again;
          }
          const data = grant.masked ? grant.change(change.data) : change.data;
          yield { id: change.id, event: change.event ?? "change", data };
        }
      }).finally(() => {
        request.raw.off("close", stop);
        upstream.abort();
      });
    },
  );
}
