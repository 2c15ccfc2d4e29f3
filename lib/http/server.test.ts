// What every server gets from lib/http: its request id kept or made and answered, one log line per request,
// and every failure answered in the server's one error shape (MESH by default, or the server's own).
import { describe, expect, it } from "vitest";
import { MeshError } from "../errors.ts";
import { createLogger } from "../logger.ts";
import type { ErrorShape } from "./errors.ts";
import { createServer } from "./server.ts";
import { testAuthenticator, withToken } from "../../test/support/auth.ts";

function logged(): { lines: Record<string, unknown>[]; logger: ReturnType<typeof createLogger> } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: "debug",
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { lines, logger };
}

describe("createServer", () => {
  it("keeps a caller's request id, makes one otherwise, and answers it", async () => {
    const app = withToken(createServer({ auth: testAuthenticator() }));
    app.get("/x", (request) => ({ id: request.id }));
    const given = await app.inject({ url: "/x", headers: { "x-request-id": "abc-1" } });
    expect(given.json()).toEqual({ id: "abc-1" });
    expect(given.headers["x-request-id"]).toBe("abc-1");
    // An id that could break a log line or a header is replaced.
    const bad = await app.inject({ url: "/x", headers: { "x-request-id": "a b\u0001" } });
    expect(bad.json<{ id: string }>().id).toMatch(/^[0-9a-f-]{36}$/);
    expect(bad.headers["x-request-id"]).toBe(bad.json<{ id: string }>().id);
  });

  it("answers failures in the MESH shape, masks URL passwords, and hides internal errors", async () => {
    const { lines, logger } = logged();
    const app = withToken(createServer({ auth: testAuthenticator(), logger }));
    app.get("/conflict", () => {
      throw new MeshError("MESH_CONFLICT", "postgres://u:s3cret@db/x is taken", {
        url: "postgres://u:s3cret@db",
      });
    });
    app.get("/bug", () => {
      throw new Error("connect to postgres://u:s3cret@db failed");
    });
    const conflict = await app.inject({ url: "/conflict" });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json()).toEqual({
      code: "MESH_CONFLICT",
      message: "postgres://u:***@db/x is taken",
      details: { url: "postgres://u:***@db" },
    });
    const bug = await app.inject({ url: "/bug", headers: { "x-request-id": "r-7" } });
    expect(bug.statusCode).toBe(500);
    expect(bug.json()).toEqual({
      code: "MESH_INTERNAL",
      message: "an unexpected error; the server log has details under the request id",
      details: { requestId: "r-7" },
    });
    const missing = await app.inject({ url: "/nowhere?x=1" });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({
      code: "MESH_NOT_FOUND",
      message: expect.stringContaining("GET /nowhere;"),
    });
    const text = JSON.stringify(lines);
    expect(text).not.toContain("s3cret");
    expect(lines.find((l) => l.msg === "request failed")).toMatchObject({ level: 50, reqId: "r-7" });
    // One line per request, with the path but not the query.
    const requests = lines.filter((l) => l.msg === "request");
    expect(requests.map((l) => [l.path, l.status])).toEqual([
      ["/conflict", 409],
      ["/bug", 500],
      ["/nowhere", 404],
    ]);
  });

  it("answers in the server's own error shape when it brings one", async () => {
    const plain: ErrorShape = {
      answer: (err) => ({
        status: 418,
        body: { error_code: 418, message: (err as Error).message },
        internal: false,
        code: 418,
        message: (err as Error).message,
      }),
      notFound: () => ({ status: 404, body: { error_code: 404, message: "HTTP 404 Not Found" } }),
    };
    const app = withToken(createServer({ auth: testAuthenticator(), errors: plain }));
    app.get("/x", () => {
      throw new Error("teapot");
    });
    expect((await app.inject({ url: "/x" })).json()).toEqual({ error_code: 418, message: "teapot" });
    expect((await app.inject({ url: "/y" })).json()).toEqual({
      error_code: 404,
      message: "HTTP 404 Not Found",
    });
  });
});
