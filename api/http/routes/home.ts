// `GET /` and `GET /v1`: where a person who opens the API's address lands (HTML in a browser, JSON for a
// program): links to the web console, the OpenAPI document and its UI, the v1 resources, metrics and health.
import type { FastifyInstance } from "fastify";
import { errorResponses } from "../../../lib/http/error-responses.ts";
import { serveIndex } from "../../../lib/http/index-page.ts";
import { CONSOLE_PATH } from "./console.ts";

export function homeRoutes(app: FastifyInstance): void {
  serveIndex(
    app,
    "/",
    {
      title: "datamesh API",
      description:
        "Register source databases, subscribe to their change topics, declare and query join views. " +
        "Clients in any language can be generated from the OpenAPI document (docs/api.md).",
      links: [
        { href: "/docs", rel: "service-doc", title: "API documentation (Swagger UI)" },
        { href: "/docs/json", rel: "service-desc", title: "OpenAPI document (JSON)" },
        { href: "/docs/yaml", rel: "alternate", title: "OpenAPI document (YAML)" },
        { href: "/v1", rel: "api", title: "API v1: sources, topics, views, status" },
        { href: CONSOLE_PATH, rel: "console", title: "Console: sources, topics, views, lineage" },
        { href: "/metrics", rel: "metrics", title: "Metrics (Prometheus text format; docs/metrics.md)" },
        { href: "/healthz", rel: "health", title: "Liveness" },
        { href: "/readyz", rel: "ready", title: "Readiness" },
      ],
    },
    {
      tags: ["index"],
      operationId: "index",
      summary: "Links to the API's parts",
      response: errorResponses(),
    },
  );
  serveIndex(
    app,
    "/v1",
    {
      title: "datamesh API v1",
      description: "The resources of API version 1.",
      links: [
        { href: "/v1/sources", rel: "sources", title: "Sources: register, list, pause, re-snapshot, delete" },
        { href: "/v1/topics", rel: "topics", title: "Topics and their events (server-sent events)" },
        { href: "/v1/events", rel: "events", title: "Domain events: topics, event types, parked events" },
        { href: "/v1/views", rel: "views", title: "Views: declare, query rows, follow changes" },
        { href: "/v1/lineage", rel: "lineage", title: "Lineage: source → table → topic → views → consumers" },
        { href: "/v1/trace", rel: "trace", title: "Trace one source row: ?source=&table=&key=" },
        { href: "/v1/status", rel: "status", title: "Where each role listens" },
      ],
    },
    {
      tags: ["index"],
      operationId: "v1Index",
      summary: "Links to the v1 resources",
      response: errorResponses(),
    },
  );
}
