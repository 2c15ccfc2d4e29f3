// Owns a server's metrics: `GET /metrics` (the process's registry, lib/metrics.ts, in the Prometheus text
// format), a latency histogram of every answered request by route template (never the raw path: one series
// per route, not per row key), the open SSE streams, and failures by MESH code. Registered by registerCommon
// (server.ts), so every server has them; several servers in one process (`mesh up`) share one registry and
// tell their series apart by the `server` label.
import type { FastifyInstance, FastifyRequest } from "fastify";
import { countError, METRICS_CONTENT_TYPE, metrics, scrapeMetrics } from "../metrics.ts";
import type { Series } from "../series-histogram.ts";
import { requireScope } from "./auth.ts";

export const METRICS_PATH = "/metrics";

declare module "fastify" {
  interface FastifyRequest {
    /** The name of the server answering (registerMetrics' `server`; an instance-wide default, not per request). */
    meshServer: string;
    /** The code of the failure the request is answered with (errors.ts), counted once the answer is sent. */
    meshErrorCode: string | number | null;
  }
}

/** The route template of a request ("unmatched" for a path no route serves: one series, not one per URL). */
export function routeOf(request: FastifyRequest): string {
  return request.is404 ? "unmatched" : (request.routeOptions.url ?? "unmatched");
}

/** The name of the server answering `request` (registerMetrics' `server`). */
export function serverOf(request: FastifyRequest): string {
  return request.meshServer ?? "http";
}

/** errors.ts: the failure `request` is answered with, counted once the answer is sent. */
export function noteError(request: FastifyRequest, code: string | number): void {
  request.meshErrorCode = code;
}

/** An SSE stream opened on `request`; the returned function is called once when it ends. */
export function sseOpened(request: FastifyRequest): () => void {
  const labels = { server: serverOf(request), route: routeOf(request) };
  metrics.sseSubscribers.inc(labels);
  let open = true;
  return () => {
    if (open) metrics.sseSubscribers.dec(labels);
    open = false;
  };
}

export function registerMetrics(
  app: FastifyInstance,
  server: string,
  options: { scoped?: boolean } = {},
): void {
  // Request properties rather than a WeakMap keyed by the request: a WeakMap entry per request cost a
  // registry lookup more than the histogram did (ephemerons for the collector: registry/README.md).
  app.decorateRequest("meshServer", server);
  app.decorateRequest("meshErrorCode", null);
  // This server's latency series by route template, method and status, each looked up in the histogram once.
  const seriesOf = new Map<string, Map<string, Map<number, Series>>>();
  const series = (route: string, method: string, status: number): Series => {
    let byMethod = seriesOf.get(route);
    if (byMethod === undefined) seriesOf.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) byMethod.set(method, (byStatus = new Map()));
    let s = byStatus.get(status);
    if (s === undefined) {
      s = metrics.httpDuration.series({ server, method, route, status: String(status) });
      byStatus.set(status, s);
    }
    return s;
  };
  app.addHook("onResponse", (request, reply, done) => {
    if (request.meshErrorCode !== null) countError(server, request.meshErrorCode);
    const route = routeOf(request);
    // Scrapes are not traffic: they would only measure the scraper.
    if (route !== METRICS_PATH) {
      metrics.httpDuration.observe(series(route, request.method, reply.statusCode), reply.elapsedTime / 1000);
    }
    done();
  });
  app.get(METRICS_PATH, { schema: { hide: true } }, async (request, reply) => {
    // A scraper's token needs the `metrics` scope (admin and internal credentials have every scope).
    if (options.scoped) requireScope(request, "metrics");
    const text = await scrapeMetrics();
    return reply.type(METRICS_CONTENT_TYPE).send(text);
  });
}
