// `mesh connect --metrics-listen`'s listener answers /metrics and /healthz over a real socket.
import { describe, expect, it } from "vitest";
import { listenMetrics, parseListenAddress } from "./metrics-listener.ts";
import { authHeaders, mintServiceToken, testAuthenticator } from "../../test/support/auth.ts";

describe("metrics listener", () => {
  it("serves /metrics (with a token of the metrics scope) and /healthz (open) where it was asked to listen", async () => {
    const auth = testAuthenticator();
    const scraper = mintServiceToken(auth.tokens, { service: "prometheus", scopes: ["metrics"] });
    const reader = mintServiceToken(auth.tokens, { service: "prometheus", scopes: ["read"] });
    const listener = await listenMetrics({ host: "127.0.0.1", port: 0 }, { name: "connect", auth });
    try {
      expect(listener.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const health = await fetch(`${listener.url}/healthz`);
      expect(await health.json()).toEqual({ status: "ok" });
      expect((await fetch(`${listener.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${listener.url}/metrics`, { headers: authHeaders(reader.token) })).status).toBe(
        403,
      );
      const metrics = await fetch(`${listener.url}/metrics`, { headers: authHeaders(scraper.token) });
      expect(metrics.headers.get("content-type")).toMatch(/^text\/plain/);
      expect(await metrics.text()).toContain(
        'mesh_http_request_duration_seconds_count{server="connect",method="GET",route="/healthz",status="200"} 1',
      );
    } finally {
      await listener.close();
    }
  });

  it("reads host:port", () => {
    expect(parseListenAddress("0.0.0.0:9464", "--x")).toEqual({ host: "0.0.0.0", port: 9464 });
    expect(parseListenAddress(":9464", "--x")).toEqual({ host: "127.0.0.1", port: 9464 });
    expect(() => parseListenAddress("9464", "--x")).toThrow(/--x must be host:port/);
    expect(() => parseListenAddress("h:70000", "--x")).toThrow(/--x must be host:port/);
  });
});
