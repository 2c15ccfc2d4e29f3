// Owns the lineage graph of GET /v1/lineage: source → table → topic → views → consumers, each node with its
// owner and state. Built from the catalog (sources, their tables, views and the tables a view reads), the
// runtimes' statuses, the Kafka consumer groups reading each topic (consumers.ts: the services' own
// consumers) and this process's readers (readers.ts: SSE streams and view row readers). Pure: everything is
// passed in.
import { declaredTables } from "../../materializer/pending-views.ts";
import type { SourceRecord, ViewRecord } from "../../protocol/catalog.ts";
import { qualifiedTableTopic } from "../../protocol/topics.ts";
import type { PlacedSourceStatus } from "../runtime.ts";
import type { ViewSummary } from "../../materializer/contract.ts";
import type { ConsumerGroupRead } from "./consumers.ts";
import type { Reader, ReadTarget } from "./readers.ts";

export type LineageKind = "source" | "table" | "topic" | "view" | "consumer-group" | "client";

export interface LineageNode {
  id: string;
  kind: LineageKind;
  name: string;
  owner: string | null;
  state: string | null;
  details: Record<string, unknown>;
}

export interface LineageEdge {
  from: string;
  to: string;
  /** What flows: `changes` (source → table → topic → view), `consumes` (a group), `sse`, `rows`. */
  kind: "changes" | "consumes" | "sse" | "rows";
}

export interface Lineage {
  nodes: LineageNode[];
  edges: LineageEdge[];
  /** Parts that could not be read (e.g. Kafka's consumer groups); the rest of the graph stands. */
  problems: string[];
}

export interface LineageInputs {
  sources: SourceRecord[];
  status(source: string): PlacedSourceStatus | undefined;
  views: ViewRecord[];
  info(view: string): ViewSummary | undefined;
  /** Consumer groups by topic (null when they could not be listed: see problems). */
  groups: Map<string, ConsumerGroupRead[]> | null;
  readers(target: ReadTarget): Reader[];
  problems?: string[];
}

export const sourceId = (name: string): string => `source:${name}`;
export const tableId = (source: string, table: string): string => `table:${source}/${table}`;
export const topicId = (topic: string): string => `topic:${topic}`;
export const viewId = (name: string): string => `view:${name}`;

export function buildLineage(input: LineageInputs): Lineage {
  const nodes = new Map<string, LineageNode>();
  const edges: LineageEdge[] = [];
  const node = (n: LineageNode): void => void (nodes.has(n.id) || nodes.set(n.id, n));
  const topics = new Map<string, string>(); // topic → owner
  for (const s of input.sources) {
    const status = input.status(s.name);
    node({
      id: sourceId(s.name),
      kind: "source",
      name: s.name,
      owner: s.owner,
      state: s.paused ? "paused" : (status?.state ?? null),
      details: {
        kind: s.kind,
        lagSeconds: status?.lagSeconds ?? null,
        lagBytes: status?.lagBytes ?? null,
        error: status?.error ?? null,
        holder: status?.holder?.url ?? null,
      },
    });
    for (const table of s.tables) {
      const topic = qualifiedTableTopic(s.name, table);
      topics.set(topic, s.owner);
      node({
        id: tableId(s.name, table),
        kind: "table",
        name: table,
        owner: s.owner,
        state: status?.tables[table]?.state ?? status?.state ?? null,
        details: { source: s.name, events: status?.events[table] ?? 0 },
      });
      node({
        id: topicId(topic),
        kind: "topic",
        name: topic,
        owner: s.owner,
        state: null,
        details: { source: s.name, table },
      });
      edges.push({ from: sourceId(s.name), to: tableId(s.name, table), kind: "changes" });
      edges.push({ from: tableId(s.name, table), to: topicId(topic), kind: "changes" });
    }
  }
  const viewNames = new Set(input.views.map((v) => v.name));
  for (const v of input.views) {
    const info = input.info(v.name);
    node({
      id: viewId(v.name),
      kind: "view",
      name: v.name,
      owner: null,
      state: info?.status.state ?? null,
      details: {
        rows: info?.status.rows ?? null,
        lagMs: info?.status.lagMs ?? null,
        parked: info?.status.parked.length ?? 0,
      },
    });
    for (const table of declaredTables(v.sql).tables) {
      if (viewNames.has(table)) edges.push({ from: viewId(table), to: viewId(v.name), kind: "changes" });
      else if (topics.has(table)) edges.push({ from: topicId(table), to: viewId(v.name), kind: "changes" });
    }
  }
  for (const [topic, groups] of input.groups ?? []) {
    if (!topics.has(topic)) continue;
    for (const g of groups) {
      const id = `group:${g.groupId}`;
      node({
        id,
        kind: "consumer-group",
        name: g.groupId,
        owner: null,
        state: g.state,
        details: { internal: g.internal, members: g.members, lag: g.lag },
      });
      edges.push({ from: topicId(topic), to: id, kind: "consumes" });
    }
  }
  const clients = (target: ReadTarget, from: string): void => {
    for (const r of input.readers(target)) {
      const id = `client:${r.service ?? `${r.address} ${r.userAgent ?? ""}`.trim()}`;
      node({
        id,
        kind: "client",
        name: r.service ?? r.address,
        owner: r.service,
        state: r.streams > 0 ? "streaming" : "idle",
        details: { address: r.address, userAgent: r.userAgent, lastSeen: r.lastSeen },
      });
      const kind = target.kind === "topic" ? "sse" : "rows";
      edges.push({ from, to: id, kind });
      const last = nodes.get(id)!;
      last.details = {
        ...last.details,
        [`${target.kind}:${target.name}`]: { streams: r.streams, requests: r.requests },
      };
    }
  };
  for (const topic of topics.keys()) clients({ kind: "topic", name: topic }, topicId(topic));
  for (const v of input.views) clients({ kind: "view", name: v.name }, viewId(v.name));
  return { nodes: [...nodes.values()], edges, problems: input.problems ?? [] };
}
