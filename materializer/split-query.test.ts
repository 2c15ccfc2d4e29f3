// The merge of members' pages for split views: position order, the scan boundary of members that stopped
// early, the limit, and a merged cursor every member can continue from.
import { describe, expect, it } from "vitest";
import { HttpClient } from "../lib/http/client.ts";
import { SERVED_HEADER } from "../lib/http/member-answers.ts";
import { rowsQueryString } from "../lib/http/row-query.ts";
import type { MemberPage } from "./contract.ts";
import { forwardRow, forwardRows, mergePages } from "./split-query.ts";

const cursor = (after: string): string =>
  Buffer.from(JSON.stringify({ path: "k", after })).toString("base64url");
const page = (positions: string[], next: string | null = null): MemberPage => ({
  rows: positions.map((p) => ({ id: p })),
  next: next === null ? null : cursor(next),
  path: "k",
  positions,
  stale: false,
});

describe("merging split views' pages", () => {
  it("orders rows by position and cuts at the limit with a cursor after the last row", () => {
    const merged = mergePages([page(["01", "04", "05"]), page(["02", "03", "06"])], 4, false);
    expect(merged.rows.map((r) => r.id)).toEqual(["01", "02", "03", "04"]);
    expect(merged.next).toBe(cursor("04"));
  });

  it("stops at the first position a member has not scanned past", () => {
    // Member 1 hit its scan bound after "03": rows of member 2 beyond it may have company there.
    const merged = mergePages([page(["01"], "03"), page(["02", "05", "07"])], 10, false);
    expect(merged.rows.map((r) => r.id)).toEqual(["01", "02"]);
    expect(merged.next).toBe(cursor("03"));
  });

  it("ends when every member is exhausted, and keeps one copy of a row two members answered", () => {
    const merged = mergePages([page(["01", "03"]), page(["02", "03"])], 10, false);
    expect(merged.rows.map((r) => r.id)).toEqual(["01", "02", "03"]);
    expect(merged.next).toBeNull();
  });

  it("merges descending pages", () => {
    const merged = mergePages([page(["09", "05"], "05"), page(["08", "07", "01"])], 10, true);
    expect(merged.rows.map((r) => r.id)).toEqual(["09", "08", "07", "05"]);
    expect(merged.next).toBe(cursor("05"));
  });

  it("asks members the same question", () => {
    expect(
      rowsQueryString({
        filters: [
          { column: "status", op: "eq", value: "paid" },
          { column: "total", op: "gte", value: "10" },
        ],
        order: "total",
        desc: true,
        limit: 50,
        cursor: "abc",
      }),
    ).toBe("status=paid&total%5Bgte%5D=10&order=-total&limit=50&cursor=abc");
  });
});

describe("forwarding to a split view's members", () => {
  const members = [
    { memberId: "a", url: "http://a", partitions: [0, 1] },
    { memberId: "b", url: "http://b", partitions: [2, 3] },
  ];
  const query = { filters: [], limit: 10 };
  /** Members answering with these pages (by host), or 404 for point lookups, with their served partitions. */
  const fakeFetch = (
    answers: Record<string, { body: unknown; status?: number; served: number[] }>,
  ): HttpClient =>
    new HttpClient({
      fetch: (input) => {
        const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
        const a = answers[new URL(url).host]!;
        return Promise.resolve(
          new Response(JSON.stringify(a.body), {
            status: a.status ?? 200,
            headers: { [SERVED_HEADER]: a.served.join(",") },
          }),
        );
      },
    });
  const pageOf = (ids: string[], owned: number[], served: number[]): MemberPage => ({
    ...page(ids),
    owned,
    served,
  });

  it("merges every member's rows, and says stale while an owner catches up", async () => {
    const fetch = fakeFetch({
      a: { body: pageOf(["01", "03"], [0, 1], [0, 1]), served: [0, 1] },
      b: { body: pageOf(["02"], [2, 3], [2]), served: [2] },
    });
    const got = await forwardRows("v", members, 4, query, fetch);
    expect(got.rows.map((r) => r.id)).toEqual(["01", "02", "03"]);
    expect(got.stale).toBe(true);
  });

  it("refuses a partial answer: a partition nobody owns, or no assignment yet", async () => {
    await expect(forwardRows("v", members.slice(0, 1), 4, query)).rejects.toMatchObject({
      code: "MESH_UNAVAILABLE",
      details: { view: "v", partitions: [2, 3] },
    });
    await expect(forwardRows("v", [], 0, query)).rejects.toMatchObject({ code: "MESH_UNAVAILABLE" });
    const moved = fakeFetch({
      a: { body: pageOf(["01"], [0, 1], [0, 1]), served: [0, 1] },
      b: { body: pageOf([], [3], [3]), served: [3] },
    });
    await expect(forwardRows("v", members, 4, query, moved)).rejects.toMatchObject({
      code: "MESH_UNAVAILABLE",
      details: { partitions: [2] },
    });
  });

  it("answers 404 for a key only when every partition was answered for", async () => {
    const notFound = { code: "MESH_NOT_FOUND", message: "no row", details: {} };
    const all = fakeFetch({
      a: { body: notFound, status: 404, served: [0, 1] },
      b: { body: notFound, status: 404, served: [2, 3] },
    });
    expect(await forwardRow("v", members, 4, ["9"], all)).toBeUndefined();
    const catchingUp = fakeFetch({
      a: { body: notFound, status: 404, served: [0, 1] },
      b: { body: notFound, status: 404, served: [2] },
    });
    await expect(forwardRow("v", members, 4, ["9"], catchingUp)).rejects.toMatchObject({
      code: "MESH_UNAVAILABLE",
      details: { partitions: [3] },
    });
    const found = fakeFetch({
      a: { body: notFound, status: 404, served: [0, 1] },
      b: { body: { id: "9" }, served: [2, 3] },
    });
    expect(await forwardRow("v", members, 4, ["9"], found)).toEqual({ id: "9" });
  });
});
