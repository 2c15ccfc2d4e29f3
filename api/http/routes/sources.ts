// /v1/sources: register (prerequisites checked, ownership claimed in the catalog, connector started),
// list, show with status, pause/resume, re-snapshot, delete (optionally dropping the slot).
import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { MeshError } from "../../../lib/errors.ts";
import { DEFAULT_DELIVERY } from "../../../connectors/core/contract.ts";
import type { SourceRecord } from "../../../protocol/catalog.ts";
import { SOURCE_NAME_PATTERN } from "../../../protocol/topics.ts";
import {
  parseSourceUrl,
  qualifyTable,
  tableIdentity,
  type SourceKind,
} from "../../catalog/table-identity.ts";
import { FORWARDED_HEADER, type SourceProblem } from "../../runtime.ts";
import { principalOf, type Principal } from "../../../lib/http/auth.ts";
import { registeringOwner, requireOwner } from "../../governance/ownership.ts";
import type { ApiContext } from "../context.ts";
import { notFound } from "../../../lib/http/errors.ts";
import { errorResponses } from "../../../lib/http/error-responses.ts";
import { publicSource, sourceRef, tablesSchema } from "../source-shape.ts";

const nameParams = {
  type: "object",
  required: ["name"],
  additionalProperties: false,
  properties: { name: { type: "string", pattern: SOURCE_NAME_PATTERN, description: "the source's name" } },
} as const;

/** Marks a route's body optional in the OpenAPI document (api/http/openapi.ts). */
const optionalBody = { "x-body-optional": true };

interface CreateBody {
  name: string;
  owner?: string;
  kind: SourceKind;
  url: string;
  tables: string[];
  snapshot?: "initial" | "never";
  partitions?: number;
  delivery?: "at-least-once" | "exactly-once";
  outbox?: { tables?: string[]; messagePrefix?: string; untyped?: "park" | "json" };
}

export function sourceRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post<{ Body: CreateBody }>(
    "/v1/sources",
    {
      schema: {
        tags: ["sources"],
        summary:
          "Register a source database: checks prerequisites, claims its tables for the owner, starts capture",
        operationId: "registerSource",
        description:
          "The body is a Postgres or a MySQL/MariaDB registration (`kind` decides which); its `url` must be the " +
          "kind's (`postgres://` or `mysql://`, with a database). The database is checked before anything is " +
          "stored: every problem is answered at once, coded by the most basic one (422).",
        body: { $ref: "SourceRegistration#" },
        response: {
          201: { description: "Registered: capture is starting", ...sourceRef },
          ...errorResponses(
            "MESH_FORBIDDEN",
            "MESH_CONFLICT",
            "MESH_UNPROCESSABLE",
            "MESH_TABLE_OWNED",
            "MESH_TOPIC_OWNED",
            "MESH_SOURCE_UNREACHABLE",
            "MESH_SOURCE_AUTH",
            "MESH_SOURCE_PREREQUISITE",
            "MESH_KAFKA_FENCED",
          ),
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const owner = registeringOwner(principalOf(request), "source", body.owner, true) ?? "";
      const url = parseSourceUrl(body.kind, body.url);
      const tables = body.tables.map((t) => qualifyTable(body.kind, url.database, t));
      const now = new Date().toISOString();
      const record: SourceRecord = {
        type: "source",
        id: randomUUID(),
        name: body.name,
        owner,
        kind: body.kind,
        url: body.url,
        tables,
        tableIds: tables.map((t) => tableIdentity(body.kind, url, t)),
        snapshot: body.snapshot ?? "initial",
        partitions: body.partitions ?? 3,
        // Stored resolved: a later change of the default does not change how an existing source delivers.
        delivery: body.delivery ?? DEFAULT_DELIVERY,
        ...sourceOutbox(body, url),
        paused: false,
        createdAt: now,
        updatedAt: now,
      };
      // Cheap checks first: a name or table conflict is answered without touching the source database.
      ctx.catalog.checkSource(record);
      const problems = await ctx.sources.check(record);
      if (problems.length > 0) throw problemsError(record, problems);
      await ctx.catalog.putSource(record);
      await ctx.reconciler.settled("source", record.name);
      return reply.status(201).send(shown(ctx, ctx.catalog.source(record.name) ?? record));
    },
  );

  app.get(
    "/v1/sources",
    {
      schema: {
        tags: ["sources"],
        operationId: "listSources",
        summary: "List sources with their status",
        response: {
          200: {
            type: "object",
            required: ["sources"],
            properties: { sources: { type: "array", items: sourceRef } },
          },
          ...errorResponses(),
        },
      },
    },
    () => ({ sources: ctx.catalog.sources().map((s) => shown(ctx, s)) }),
  );

  app.get<{ Params: { name: string } }>(
    "/v1/sources/:name",
    {
      schema: {
        tags: ["sources"],
        operationId: "getSource",
        summary: "A source with status, lag and offset",
        params: nameParams,
        response: { 200: sourceRef, ...errorResponses("MESH_NOT_FOUND") },
      },
    },
    (request) => shown(ctx, mustGet(ctx, request.params.name)),
  );

  for (const action of ["pause", "resume"] as const) {
    app.post<{ Params: { name: string } }>(
      `/v1/sources/:name/${action}`,
      {
        schema: {
          tags: ["sources"],
          operationId: action === "pause" ? "pauseSource" : "resumeSource",
          summary:
            action === "pause"
              ? "Stop reading the source log (the slot keeps WAL)"
              : "Continue reading the source log",
          params: nameParams,
          response: {
            200: sourceRef,
            ...errorResponses("MESH_NOT_FOUND", "MESH_FORBIDDEN", "MESH_KAFKA_FENCED"),
          },
        },
      },
      async (request) => {
        const current = mustOwn(ctx, principalOf(request), request.params.name);
        const paused = action === "pause";
        if (current.paused !== paused) {
          await ctx.catalog.putSource({ ...current, paused, updatedAt: new Date().toISOString() });
          await ctx.reconciler.settled("source", current.name);
        }
        return shown(ctx, ctx.catalog.source(current.name) ?? current);
      },
    );
  }

  app.post<{ Params: { name: string }; Body: { tables?: string[] } | undefined }>(
    "/v1/sources/:name/snapshot",
    {
      schema: {
        tags: ["sources"],
        operationId: "snapshotSource",
        ...optionalBody,
        summary: "Re-snapshot tables (default: all) while streaming continues",
        description:
          "No body, or no `tables`: every table of the source. 409 `MESH_CONFLICT`: the source is paused, or no " +
          "process runs its connector right now (retry).",
        params: nameParams,
        body: {
          type: "object",
          additionalProperties: false,
          properties: { tables: tablesSchema },
        },
        response: {
          202: { description: "Saved: the re-snapshot runs while streaming goes on", ...sourceRef },
          ...errorResponses(
            "MESH_NOT_FOUND",
            "MESH_FORBIDDEN",
            "MESH_CONFLICT",
            "MESH_NOT_CAPTURED",
            "MESH_KAFKA_FENCED",
          ),
        },
      },
      // The body is optional (no body: every table); a JSON `null` is a body, and not an object.
      preValidation: (request, _reply, done) => {
        if (request.body === undefined) request.body = {};
        done();
      },
    },
    async (request, reply) => {
      const source = mustOwn(ctx, principalOf(request), request.params.name);
      const database = parseSourceUrl(source.kind, source.url).database;
      const tables = (request.body?.tables ?? source.tables).map((t) =>
        qualifyTable(source.kind, database, t),
      );
      const unknown = tables.filter((t) => !source.tables.includes(t));
      if (unknown.length > 0) {
        throw new MeshError(
          "MESH_NOT_CAPTURED",
          `source "${source.name}" does not capture ${unknown.join(", ")}; it captures ${source.tables.join(", ")}`,
          {
            tables: unknown,
          },
        );
      }
      await ctx.sources.snapshot(source.name, tables, {
        forwarded: request.headers[FORWARDED_HEADER] === "1",
      });
      return reply.status(202).send(shown(ctx, source));
    },
  );

  app.delete<{ Params: { name: string }; Querystring: { dropSlot?: boolean } }>(
    "/v1/sources/:name",
    {
      schema: {
        tags: ["sources"],
        operationId: "deleteSource",
        summary: "Stop capturing and release the tables; ?dropSlot=true also removes the slot/publication",
        description:
          "When ?dropSlot=true cannot drop the slot the source is deleted all the same and the answer is an error " +
          "(422 MESH_SOURCE_UNREACHABLE / MESH_SOURCE_AUTH / MESH_SOURCE_PREREQUISITE, 409 MESH_CONFLICT while " +
          "the slot is in use) whose details name the slot and give the SQL to drop it by hand: " +
          "{source, deleted: true, slot, publication, sql}.",
        params: nameParams,
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            dropSlot: {
              type: "boolean",
              default: false,
              description: "also drop the replication slot and publication (Postgres)",
            },
          },
        },
        response: {
          200: {
            type: "object",
            required: ["deleted", "droppedSlot"],
            properties: { deleted: { type: "string" }, droppedSlot: { type: "boolean" } },
          },
          ...errorResponses(
            "MESH_NOT_FOUND",
            "MESH_FORBIDDEN",
            "MESH_CONFLICT",
            "MESH_SOURCE_UNREACHABLE",
            "MESH_SOURCE_AUTH",
            "MESH_SOURCE_PREREQUISITE",
            "MESH_KAFKA_FENCED",
          ),
        },
      },
    },
    async (request) => {
      const source = mustOwn(ctx, principalOf(request), request.params.name);
      const dropSlot = request.query.dropSlot === true;
      const dropped = dropSlot ? ctx.reconciler.dropSlotOnDelete(source.name) : null;
      try {
        await ctx.catalog.deleteSource(source.name);
      } catch (err) {
        ctx.reconciler.cancelDropSlot(source.name);
        throw err;
      }
      await ctx.reconciler.settled("source", source.name);
      // The source is deleted either way; a slot left behind is an error naming it and the SQL to drop it.
      const failure = await dropped;
      if (failure) throw failure;
      return { deleted: source.name, droppedSlot: dropSlot };
    },
  );
}

/** The registration's outbox, its tables qualified and claimed like captured ones (none: no field). */
function sourceOutbox(
  body: CreateBody,
  url: ReturnType<typeof parseSourceUrl>,
): Pick<SourceRecord, "outbox"> {
  const o = body.outbox;
  if (!o || (!o.tables?.length && !o.messagePrefix)) return {};
  const tables = (o.tables ?? []).map((t) => qualifyTable(body.kind, url.database, t));
  return {
    outbox: {
      tables,
      tableIds: tables.map((t) => tableIdentity(body.kind, url, t)),
      messagePrefix: o.messagePrefix ?? null,
      untyped: o.untyped ?? "park",
    },
  };
}

/** The topics with declared event types of each owner (a source shows those of its owner). */
function declaredOf(ctx: ApiContext, owner: string): string[] {
  return ctx.catalog
    .eventTopics()
    .filter((e) => e.owner === owner)
    .map((e) => e.topic);
}

/** A source as the API shows it. */
function shown(ctx: ApiContext, source: SourceRecord): Record<string, unknown> {
  return publicSource(source, ctx.sources, declaredOf(ctx, source.owner));
}

function mustGet(ctx: ApiContext, name: string): SourceRecord {
  const source = ctx.catalog.source(name);
  if (!source) throw notFound("source", name);
  return source;
}

/** The source, when the principal's service owns it (or it is the admin); 403 naming the owner otherwise. */
function mustOwn(ctx: ApiContext, principal: Principal, name: string): SourceRecord {
  const source = mustGet(ctx, name);
  requireOwner(principal, "source", name, source.owner);
  return source;
}

/** One error carrying every problem found, coded by the most basic one (can't connect > can't log in > setup). */
function problemsError(record: SourceRecord, problems: SourceProblem[]): MeshError {
  const details = {
    source: record.name,
    problems: problems.map((p) => ({ kind: p.kind, message: p.message, fix: p.fix ?? null })),
  };
  const list = problems.map((p) => `- ${p.message}${p.fix ? ` (fix: ${p.fix})` : ""}`).join("\n");
  if (problems.some((p) => p.kind === "unreachable")) {
    return new MeshError(
      "MESH_SOURCE_UNREACHABLE",
      `the ${record.kind} database did not answer:\n${list}`,
      details,
    );
  }
  if (problems.some((p) => p.kind === "auth")) {
    return new MeshError(
      "MESH_SOURCE_AUTH",
      `the ${record.kind} database refused the credentials:\n${list}`,
      details,
    );
  }
  return new MeshError(
    "MESH_SOURCE_PREREQUISITE",
    `the ${record.kind} database is not ready for capture (${problems.length} problem${problems.length > 1 ? "s" : ""}):\n${list}`,
    details,
  );
}
