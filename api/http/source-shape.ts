// The public shape of a source (DESIGN.md HTTP shapes): everything but the credentials.
import type { SourceRecord } from "../../protocol/catalog.ts";
import { publicUrl } from "../catalog/table-identity.ts";
import type { PlacedSourceStatus, SourceRuntime } from "../runtime.ts";

export function topicsOf(source: Pick<SourceRecord, "name" | "tables">): string[] {
  return source.tables.map((t) => `${source.name}.${t}`);
}

const unknownStatus: PlacedSourceStatus = {
  state: "stopped",
  error: null,
  progress: null,
  lagBytes: null,
  lagSeconds: null,
  offset: null,
  events: {},
  tables: {},
};

export function publicSource(source: SourceRecord, runtime: SourceRuntime): Record<string, unknown> {
  const status = runtime.status(source.name) ?? {
    ...unknownStatus,
    state: source.paused ? "paused" : "stopped",
  };
  return {
    name: source.name,
    owner: source.owner,
    kind: source.kind,
    url: publicUrl(source.url),
    tables: source.tables,
    topics: topicsOf(source),
    snapshot: source.snapshot,
    partitions: source.partitions,
    paused: source.paused,
    createdAt: source.createdAt,
    status: { ...status, resnapshot: status.resnapshot ?? null, holder: status.holder ?? null },
  };
}

const statusError = {
  type: ["object", "null"],
  properties: { code: { type: "string" }, message: { type: "string" } },
} as const;

export const sourceStatusSchema = {
  type: "object",
  properties: {
    state: { type: "string", enum: ["starting", "snapshotting", "streaming", "paused", "stopped", "failed"] },
    error: statusError,
    progress: {
      type: ["object", "null"],
      properties: {
        phase: { type: "string", enum: ["initial", "incremental"] },
        rowsDone: { type: "number" },
        rowsEstimated: { type: "number" },
        table: { type: ["string", "null"] },
      },
    },
    lagBytes: { type: ["number", "null"] },
    lagSeconds: { type: ["number", "null"] },
    offset: { type: ["string", "null"] },
    events: { type: "object", additionalProperties: { type: "number" } },
    tables: {
      type: "object",
      additionalProperties: {
        type: "object",
        properties: { state: { type: "string" }, error: statusError },
      },
    },
    resnapshot: {
      type: ["object", "null"],
      description: "a requested re-snapshot still running: the tables still to do, the current one first",
      properties: { pending: { type: "array", items: { type: "string" } } },
    },
    holder: {
      type: ["object", "null"],
      description:
        "the API process running the connector and when it reported this status (stale: no report for 5 intervals)",
      properties: { url: { type: "string" }, reportedAt: { type: "string" }, stale: { type: "boolean" } },
    },
  },
} as const;

export const sourceSchema = {
  type: "object",
  properties: {
    name: { type: "string" },
    owner: { type: "string" },
    kind: { type: "string", enum: ["postgres", "mysql"] },
    url: { type: "string", description: "the source URL without its password" },
    tables: { type: "array", items: { type: "string" } },
    topics: { type: "array", items: { type: "string" } },
    snapshot: { type: "string", enum: ["initial", "never"] },
    partitions: { type: "integer" },
    paused: { type: "boolean" },
    createdAt: { type: "string" },
    status: sourceStatusSchema,
  },
} as const;
