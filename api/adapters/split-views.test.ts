// The merge of members' pages for split views: position order, the scan boundary of members that stopped
// early, the limit, and a merged cursor every member can continue from.
import { describe, expect, it } from "vitest";
import { mergePages, rowsQueryString, type MemberPage } from "./split-views.ts";

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
        order: { column: "total", desc: true },
        limit: 50,
        cursor: "abc",
      }),
    ).toBe("status=paid&total%5Bgte%5D=10&order=-total&limit=50&cursor=abc");
  });
});
