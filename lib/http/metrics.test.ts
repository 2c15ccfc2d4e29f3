// Every server made by createServer answers GET /metrics and counts its requests by route template, its
// failures by code and its open SSE streams (lib/http/metrics.ts).
import { describe, expect, it } from "vitest";
import { MeshError } from "../errors.ts";
import { metricValue, parseMetrics } from "../metrics-text.ts";
import { createServer } from "./server.ts";
import { authHeaders, testAuthenticator, withToken } from "../../test/support/auth.ts";
import { streamSse } from "./sse.ts";

describe("metrics plugin", () => {
  it("observes each request under its route template, counts failures by code, and scrapes as text", async () => {
    const app = withToken(createServer({ auth: testAuthenticator(), name: "t1" }));
    app.get("/v1/things/:id", () => ({ ok: true }));
    app.get("/v1/fail", () => {
      throw new MeshError("MESH_CONFLICT", "taken", {});
    });
    const scrape = async (): Promise<ReturnType<typeof parseMetrics>> => {
      const res = await app.inject({ url: "/metrics" });
      expect(res.statusCode).toBe(200);
      expect(res.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
      return parseMetrics(res.body);
    };
    const count = { server: "t1", method: "GET", route: "/v1/things/:id", status: "200" };
    const before = await scrape();
    for (const id of ["a", "b", "c"]) await app.inject({ url: `/v1/things/${id}` });
    await app.inject({ url: "/v1/fail" });
    await app.inject({ url: "/nowhere/at/all" });
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>): number =>
      (metricValue(after, name, labels) ?? 0) - (metricValue(before, name, labels) ?? 0);
    expect(delta("mesh_http_request_duration_seconds_count", count)).toBe(3);
    // One series per route, never per raw path.
    expect(metricValue(after, "mesh_http_request_duration_seconds_count", { route: "/v1/things/a" })).toBe(
      undefined,
    );
    expect(delta("mesh_errors_total", { where: "t1", code: "MESH_CONFLICT" })).toBe(1);
    expect(delta("mesh_errors_total", { where: "t1", code: "MESH_NOT_FOUND" })).toBe(1);
    expect(
      delta("mesh_http_request_duration_seconds_count", { server: "t1", route: "unmatched", status: "404" }),
    ).toBe(1);
    // The process metrics and the Kafka client's come with it.
    expect(metricValue(after, "process_cpu_user_seconds_total", {})).toBeGreaterThan(0);
  });

  it("counts an open event stream while it is open", async () => {
    const app = withToken(createServer({ auth: testAuthenticator(), name: "t2" }));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    app.get("/stream", async (request, reply) => {
      await streamSse(request, reply, async function* () {
        yield { id: "1", event: "x", data: 1 };
        await held;
      });
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    try {
      const address = app.server.address() as { port: number };
      const subscribers = async (): Promise<number | undefined> =>
        metricValue(parseMetrics((await app.inject({ url: "/metrics" })).body), "mesh_sse_subscribers", {
          server: "t2",
          route: "/stream",
        });
      const res = await fetch(`http://127.0.0.1:${address.port}/stream`, { headers: authHeaders() });
      const reader = res.body!.getReader();
      await reader.read();
      expect(await subscribers()).toBe(1);
      release();
      while (!(await reader.read()).done);
      expect(await subscribers()).toBe(0);
    } finally {
      await app.close();
    }
  });
});
