// RemoteViews against fake members (a fetch stub): a split view's status merged over its members, an
// unsplit view read from the first member holding it, and a member that does not answer named.
import { describe, expect, it } from "vitest";
import { HttpClient } from "../../lib/http/client.ts";
import { silentLogger } from "../../lib/logger.ts";
import { RegistryClient } from "../../lib/registry-client.ts";
import { RemoteViews } from "./remote-views.ts";
import { TEST_ADMIN_TOKEN } from "../../test/support/auth.ts";

const status = (state: string, rows: number, progress = 1, lagMs: number | null = 5) => ({
  state,
  error: null,
  progress,
  rows,
  lagMs,
  parked: [],
});

function members(routes: Record<string, (url: URL) => unknown>): typeof fetch {
  return ((input: string | URL) => {
    const url = new URL(String(input));
    const answer = routes[`${url.origin}${url.pathname}`];
    if (!answer) return Promise.reject(new Error("connect ECONNREFUSED"));
    const body = answer(url);
    return Promise.resolve(new Response(JSON.stringify(body), { status: 200 }));
  }) as typeof fetch;
}

describe("RemoteViews", () => {
  it("merges a split view's status, reads an unsplit view from one member, names a silent member", async () => {
    const view = (name: string, s: ReturnType<typeof status>, split: boolean) => ({
      name,
      sql: `CREATE VIEW ${name} AS SELECT id FROM t`,
      key: ["id"],
      columns: ["id", "total"],
      status: s,
      split: split ? { owned: [0], served: [0] } : null,
    });
    const fetchStub = members({
      "http://a:1/v1/views": () => ({
        views: [view("s", status("ready", 10, 1, 3), true), view("u", status("ready", 7), false)],
      }),
      "http://b:2/v1/views": () => ({ views: [view("s", status("backfilling", 4, 0.5, 9), true)] }),
      "http://a:1/v1/views/u/members": () => ({ split: false, partitions: null, members: [] }),
      "http://a:1/v1/views/u/rows": (url) => ({ rows: [{ id: url.searchParams.get("limit") }], next: null }),
    });
    const remote = new RemoteViews({
      urls: ["http://a:1", "http://b:2", "http://c:3"],
      registry: new RegistryClient({ token: TEST_ADMIN_TOKEN, url: "http://registry:1" }),
      logger: silentLogger(),
      client: new HttpClient({ fetch: fetchStub }),
    });
    await remote.refresh();
    expect(remote.info("s")).toEqual({
      name: "s",
      key: ["id"],
      columns: ["id", "total"],
      status: {
        state: "backfilling",
        error: null,
        progress: 0.5,
        rows: 14,
        lagMs: 9,
        parked: [],
      },
    });
    expect(remote.info("u")?.status.rows).toBe(7);
    expect(remote.info("missing")).toBeUndefined();
    const page = await remote.queryRows("u", { filters: [], limit: 3 });
    expect(page).toEqual({ rows: [{ id: "3" }], next: null });
    const checks = await remote.checks();
    expect(checks.map((c) => [c.name, c.ok])).toEqual([
      ["materializer http://a:1", true],
      ["materializer http://b:2", true],
      ["materializer http://c:3", false],
    ]);
    expect(checks[2]!.error).toMatch(/ECONNREFUSED/);
    await expect(remote.getRow("nowhere", [1])).rejects.toMatchObject({ code: "MESH_UNAVAILABLE" });
  });
});
