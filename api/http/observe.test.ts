// The observability routes on fakes: lineage without Kafka (its problems say so), the routes that need Kafka
// and the registry answer 503 without them, the console is served with its assets and a CSP, and the index
// links it and /metrics.
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeContext, type FakeContext } from "../testing/fakes.ts";
import { buildApi } from "./server.ts";
import { testAuthenticator, withToken } from "../../test/support/auth.ts";

let ctx: FakeContext;
let app: FastifyInstance;

beforeAll(async () => {
  ctx = await fakeContext();
  app = withToken(await buildApi(ctx, { auth: testAuthenticator() }));
});

afterAll(async () => {
  await app.close();
});

describe("observability routes", () => {
  it("answers lineage without Kafka access, naming what it left out", async () => {
    const res = await app.inject({ url: "/v1/lineage" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      nodes: [],
      edges: [],
      problems: [expect.stringMatching(/consumer groups/)],
    });
  });

  it("answers 503 for trace, the SQL check and schema versions without Kafka and the registry", async () => {
    ctx.fakes.topics.list = [
      {
        topic: "s.public.t",
        owner: "o",
        source: "s",
        table: "public.t",
        partitions: 1,
        keySubject: "k",
        valueSubject: "v",
        latestVersion: 1,
      },
    ];
    const check = await app.inject({
      method: "POST",
      url: "/v1/views/check",
      payload: { sql: "CREATE VIEW x AS SELECT 1" },
    });
    expect(check.statusCode).toBe(503);
    expect(check.json().code).toBe("MESH_UNAVAILABLE");
    expect((await app.inject({ url: "/v1/topics/s.public.t/schemas" })).statusCode).toBe(503);
    expect((await app.inject({ url: "/v1/topics/nope/schemas" })).statusCode).toBe(404);
    expect((await app.inject({ url: "/v1/trace?source=s&table=t&key=1" })).statusCode).toBe(503);
    // Missing parameters are the caller's mistake.
    expect((await app.inject({ url: "/v1/trace?source=s" })).statusCode).toBe(400);
  });

  it("serves the console page, its assets and a content security policy; the index links it and /metrics", async () => {
    const page = await app.inject({ url: "/console" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toContain("text/html");
    expect(page.headers["content-security-policy"]).toContain("default-src 'self'");
    expect(page.body).toContain('src="/console/assets/app.js"');
    const js = await app.inject({ url: "/console/assets/app.js" });
    expect(js.statusCode).toBe(200);
    expect(js.headers["content-type"]).toContain("javascript");
    expect(js.body.length).toBeGreaterThan(10_000);
    expect((await app.inject({ url: "/console/assets/app.css" })).statusCode).toBe(200);
    expect((await app.inject({ url: "/console/assets/../../package.json" })).statusCode).toBe(404);
    const index = (await app.inject({ url: "/" })).json<{ links: { href: string; available: boolean }[] }>();
    expect(index.links).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ href: "/console", available: true }),
        expect.objectContaining({ href: "/metrics", available: true }),
      ]),
    );
    const metrics = await app.inject({ url: "/metrics" });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain(
      'mesh_http_request_duration_seconds_count{server="api",method="GET",route="/console"',
    );
  });
});
