// Lineage and tracing (GET /v1/lineage, GET /v1/trace), the view SQL check the console runs as you type
// (POST /v1/views/check: the engine's compiler, nothing created) and a topic's schema versions
// (GET /v1/topics/{topic}/schemas). What they ask of Kafka and the registry is ctx.observe
// (api/lineage/observe.ts); without it (route tests) they answer 503, and lineage leaves out consumer groups.
import type { FastifyInstance } from "fastify";
import { isMeshError, MeshError } from "../../../lib/errors.ts";
import { errorResponses } from "../../../lib/http/error-responses.ts";
import { declaredTables } from "../../../materializer/pending-views.ts";
import { sourceTopics } from "../../../protocol/catalog.ts";
import { buildLineage } from "../../lineage/graph.ts";
import type { ObserveRuntime } from "../../lineage/observe.ts";
import type { ReaderBoard } from "../../lineage/readers.ts";
import { traceKey } from "../../lineage/trace.ts";
import { principalOf } from "../../../lib/http/auth.ts";
import { qualifiedTableTopic } from "../../../protocol/topics.ts";
import { Access } from "../../governance/access.ts";
import type { ApiContext } from "../context.ts";

const anyObject = { type: "object", additionalProperties: true } as const;

export const lineageSchema = {
  $id: "Lineage",
  type: "object",
  required: ["nodes", "edges", "problems"],
  properties: {
    nodes: {
      type: "array",
      items: {
        type: "object",
        required: ["id", "kind", "name", "owner", "state", "details"],
        properties: {
          id: { type: "string", description: "`<kind>:<name>`" },
          kind: { type: "string", enum: ["source", "table", "topic", "view", "consumer-group", "client"] },
          name: { type: "string" },
          owner: { type: ["string", "null"], description: "the owning service" },
          state: { type: ["string", "null"] },
          details: anyObject,
        },
      },
    },
    edges: {
      type: "array",
      items: {
        type: "object",
        required: ["from", "to", "kind"],
        properties: {
          from: { type: "string" },
          to: { type: "string" },
          kind: { type: "string", enum: ["changes", "consumes", "sse", "rows"] },
        },
      },
    },
    problems: { type: "array", items: { type: "string" } },
  },
} as const;

export const traceSchema = {
  $id: "Trace",
  type: "object",
  required: ["source", "table", "topic", "key", "event", "search", "views"],
  properties: {
    source: { type: "string" },
    table: { type: "string" },
    topic: { type: "string" },
    key: { description: "the decoded key of the event (or the key asked for when none was found)" },
    event: {
      type: ["object", "null"],
      description: "the key's latest event; null when the topic holds none",
      required: [
        "partition",
        "offset",
        "op",
        "sourceTime",
        "timestamp",
        "txId",
        "before",
        "after",
        "deleted",
      ],
      properties: {
        partition: { type: "integer" },
        offset: { type: "string" },
        op: { type: ["string", "null"], description: "r c u d t" },
        sourceTime: { type: ["string", "null"], description: "commit time at the source" },
        timestamp: { type: "string", description: "when Kafka took the record" },
        txId: { type: ["string", "null"] },
        before: {},
        after: {},
        deleted: { type: "boolean" },
      },
    },
    search: {
      type: "object",
      required: ["scanned", "complete"],
      properties: { scanned: { type: "integer" }, complete: { type: "boolean" } },
    },
    views: {
      type: "array",
      items: {
        type: "object",
        required: ["view", "state", "lagMs", "via", "rows", "reflectsEvent", "behindMs"],
        properties: {
          view: { type: "string" },
          state: { type: "string" },
          lagMs: { type: ["number", "null"] },
          via: {
            type: ["object", "null"],
            properties: { column: { type: "string" }, value: {} },
          },
          rows: { type: ["array", "null"], items: anyObject },
          reflectsEvent: { type: ["boolean", "null"] },
          behindMs: { type: ["number", "null"] },
          note: { type: "string" },
        },
      },
    },
  },
} as const;

export const viewCheckSchema = {
  $id: "ViewCheck",
  type: "object",
  required: ["ok"],
  properties: {
    ok: { type: "boolean" },
    name: { type: "string", description: "the view's name, when the SQL names one" },
    tables: {
      type: "array",
      items: { type: "string" },
      description: "the tables (topics) and views it reads",
    },
    waitingFor: {
      type: "array",
      items: { type: "string" },
      description: "registered sources' tables without a schema yet: the view would be created waiting",
    },
    error: {
      type: "object",
      required: ["code", "message", "line", "column"],
      properties: {
        code: { type: "string" },
        message: { type: "string" },
        line: { type: ["integer", "null"], description: "1-based; null when the compiler gives no position" },
        column: { type: ["integer", "null"] },
        construct: { type: ["string", "null"] },
      },
    },
  },
} as const;

export const schemaVersionsSchema = {
  $id: "SchemaVersions",
  type: "object",
  required: ["topic", "subject", "versions"],
  properties: {
    topic: { type: "string" },
    subject: { type: "string" },
    versions: {
      type: "array",
      items: {
        type: "object",
        required: ["version", "id", "schema"],
        properties: { version: { type: "integer" }, id: { type: "integer" }, schema: {} },
      },
    },
  },
} as const;

export const observeSchemas = [lineageSchema, traceSchema, viewCheckSchema, schemaVersionsSchema];

function need(observe: ObserveRuntime | undefined): ObserveRuntime {
  if (!observe)
    throw new MeshError("MESH_UNAVAILABLE", "this API process has no Kafka and registry access for this", {});
  return observe;
}

export function observeRoutes(app: FastifyInstance, ctx: ApiContext, readers: ReaderBoard): void {
  app.get(
    "/v1/lineage",
    {
      schema: {
        tags: ["lineage"],
        operationId: "getLineage",
        summary:
          "The graph source → table → topic → views → consumers (Kafka consumer groups, SSE and row readers), with owners and states",
        response: { 200: { $ref: "Lineage#" }, ...errorResponses() },
      },
    },
    async () => {
      const problems: string[] = [];
      const topics = sourceTopics(ctx.catalog.sources());
      let groups = null;
      if (ctx.observe) {
        try {
          groups = await ctx.observe.consumers.byTopic(topics);
        } catch (err) {
          problems.push(`consumer groups: ${isMeshError(err) ? `${err.code}: ${err.message}` : String(err)}`);
        }
      } else problems.push("consumer groups: this process has no Kafka admin access");
      return buildLineage({
        sources: ctx.catalog.sources(),
        status: (name) => ctx.sources.status(name),
        views: ctx.catalog.views(),
        info: (name) => ctx.views.info(name),
        groups,
        readers: (target) => readers.readers(target),
        problems,
      });
    },
  );

  app.get<{ Querystring: { source: string; table: string; key: string } }>(
    "/v1/trace",
    {
      schema: {
        tags: ["lineage"],
        operationId: "traceKey",
        summary:
          "Where one source row is now: its latest event (partition, offset, op, time), the rows of every view it feeds, each view's lag behind it",
        querystring: {
          type: "object",
          required: ["source", "table", "key"],
          additionalProperties: false,
          properties: {
            source: { type: "string", minLength: 1 },
            table: {
              type: "string",
              minLength: 1,
              description: "`schema.table` (or the table's name alone)",
            },
            key: {
              type: "string",
              minLength: 1,
              description:
                'the primary key: a value (`42`) or a JSON object of the key columns (`{"id":42}`)',
            },
          },
        },
        response: {
          200: { $ref: "Trace#" },
          ...errorResponses("MESH_NOT_FOUND", "MESH_FORBIDDEN", "MESH_UNAVAILABLE"),
        },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const access = ctx.access ?? new Access(ctx.catalog, null);
      // A trace shows the row's event in clear and looks a key up: only for who reads the table in full,
      // decided before anything is searched.
      const source = ctx.catalog.source(request.query.source);
      const table = source?.tables.find(
        (t) => t === request.query.table || t.endsWith(`.${request.query.table}`),
      );
      if (source && table) {
        const topic = qualifiedTableTopic(source.name, table);
        if (access.requireTopic(principal, topic).size > 0)
          throw new MeshError(
            "MESH_FORBIDDEN",
            `a trace shows ${topic}'s rows in clear; this token's service reads it with columns masked (use the topic's events or the views instead)`,
            { policy: null, reason: "trace needs a grant in full", topic },
          );
      }
      const answer = await traceKey(
        { catalog: ctx.catalog, views: ctx.views, observe: need(ctx.observe) },
        request.query,
      );
      const views = [];
      for (const v of answer.views) {
        const record = ctx.catalog.view(v.view);
        const grant = record ? await access.requireView(principal, record).catch(() => null) : null;
        if (grant) views.push(grant.masked && v.rows ? { ...v, rows: v.rows.map(grant.row) } : v);
      }
      return { ...answer, views };
    },
  );

  app.post<{ Body: { sql: string } }>(
    "/v1/views/check",
    {
      // A check changes nothing: not a control-plane change for the audit log (lib/http/audit.ts).
      config: { audit: false },
      schema: {
        tags: ["views"],
        operationId: "checkView",
        summary:
          "Check view SQL without creating anything: the server's compiler, errors with their line and column",
        body: { $ref: "ViewDeclaration#" },
        response: { 200: { $ref: "ViewCheck#" }, ...errorResponses("MESH_UNAVAILABLE") },
      },
    },
    async (request) => {
      const sql = request.body.sql;
      const { view, tables } = declaredTables(sql);
      const compiled = await need(ctx.observe).compile(sql);
      const named = view ? { name: view } : {};
      if (compiled.ok) return { ok: true, name: compiled.plan.name, tables };
      const d = compiled.details;
      // A registered source's table without a schema yet: POST /v1/views would accept it, waiting.
      const expected = new Set(sourceTopics(ctx.catalog.sources()));
      if (typeof d.table === "string" && expected.has(d.table)) {
        return { ok: true, ...named, tables, waitingFor: tables.filter((t) => expected.has(t)) };
      }
      return {
        ok: false,
        ...named,
        tables,
        error: {
          code: compiled.code,
          message: compiled.message,
          line: typeof d.line === "number" ? d.line : null,
          column: typeof d.column === "number" ? d.column : null,
          construct: typeof d.construct === "string" ? d.construct : null,
        },
      };
    },
  );

  app.get<{ Params: { topic: string } }>(
    "/v1/topics/:topic/schemas",
    {
      schema: {
        tags: ["topics"],
        operationId: "listTopicSchemas",
        summary: "Every registered version of a topic's value schema, oldest first",
        params: {
          type: "object",
          required: ["topic"],
          additionalProperties: false,
          properties: { topic: { type: "string", minLength: 1 } },
        },
        response: {
          200: { $ref: "SchemaVersions#" },
          ...errorResponses("MESH_NOT_FOUND", "MESH_FORBIDDEN", "MESH_UNAVAILABLE"),
        },
      },
    },
    async (request) => {
      const topic = request.params.topic;
      if (!ctx.topics.known(topic)) {
        throw new MeshError("MESH_NOT_FOUND", `no domain topic "${topic}"; list them with GET /v1/topics`, {
          topic,
        });
      }
      (ctx.access ?? new Access(ctx.catalog, null)).requireTopic(principalOf(request), topic);
      return { topic, subject: `${topic}-value`, versions: await need(ctx.observe).schemas(topic) };
    },
  );
}
