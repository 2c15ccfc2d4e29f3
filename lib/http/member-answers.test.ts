// The split-view member endpoint: a query with `x-mesh-local: 1` is answered from the process's own
// partitions (saying which in `x-mesh-served`), never by the route; any other query is the route's.
import { describe, expect, it } from "vitest";
import { answerLocally, LOCAL_HEADER, SERVED_HEADER, type LocalAnswers } from "./member-answers.ts";
import type { RowQuery } from "./row-query.ts";
import { createServer } from "./server.ts";
import { testAuthenticator, withToken } from "../../test/support/auth.ts";

function member(): { answers: LocalAnswers; asked: RowQuery[] } {
  const asked: RowQuery[] = [];
  const answers: LocalAnswers = {
    columns: (view) => (view === "v" ? ["id", "total"] : undefined),
    served: () => [0, 2],
    localRows: (_view, query) => {
      asked.push(query);
      return Promise.resolve({ rows: [{ id: "1" }], next: null, path: "k", positions: ["01"], stale: false });
    },
    localRow: (_view, key) => Promise.resolve(key[0] === "1" ? { id: "1" } : undefined),
  };
  return { answers, asked };
}

describe("answerLocally", () => {
  it("answers forwarded row queries from the member's own partitions, and leaves others to the route", async () => {
    const { answers, asked } = member();
    const app = withToken(createServer({ auth: testAuthenticator() }));
    answerLocally(app, () => answers);
    app.get("/v1/views/:name/rows", () => ({ rows: [], next: null, route: true }));
    app.get("/v1/views/:name/rows/:key", () => ({ route: true }));
    const local = { [LOCAL_HEADER]: "1" };

    const page = await app.inject({ url: "/v1/views/v/rows?total[gte]=5&limit=3", headers: local });
    expect(page.json()).toMatchObject({ positions: ["01"] });
    expect(page.headers[SERVED_HEADER]).toBe("0,2");
    expect(asked).toEqual([{ filters: [{ column: "total", op: "gte", value: "5" }], limit: 3 }]);
    expect((await app.inject({ url: "/v1/views/v/rows/1", headers: local })).json()).toEqual({ id: "1" });

    const none = await app.inject({ url: "/v1/views/v/rows/9", headers: local });
    expect(none.statusCode).toBe(404);
    expect(none.json()).toMatchObject({ code: "MESH_NOT_FOUND", details: { view: "v", key: ["9"] } });
    const unknown = await app.inject({ url: "/v1/views/w/rows", headers: local });
    expect(unknown.json()).toMatchObject({ code: "MESH_NOT_FOUND", details: { view: "w" } });
    const badColumn = await app.inject({ url: "/v1/views/v/rows?nope=1", headers: local });
    expect(badColumn.json()).toMatchObject({ code: "MESH_BAD_QUERY" });

    expect((await app.inject({ url: "/v1/views/v/rows" })).json()).toMatchObject({ route: true });
    expect((await app.inject({ url: "/v1/views/v/rows/1" })).json()).toEqual({ route: true });
  });
});
