// The row query's URL grammar: filters, order, limit, cursor, and printing a query back for another server.
import { describe, expect, it } from "vitest";
import { parseRowKey, parseRowQuery, rowKeySegment, rowsQueryString } from "./row-query.ts";

describe("row query parsing", () => {
  it("keeps repeated filters, rejects repeated order, parses composite keys", () => {
    expect(parseRowQuery({ status: ["a", "b"] }, null).filters).toHaveLength(2);
    expect(() => parseRowQuery({ order: ["a", "b"] }, null)).toThrow(/once/);
    expect(parseRowKey(encodeURIComponent('["a",1]') && '["a",1]')).toEqual(["a", 1]);
    expect(parseRowKey("42")).toEqual(["42"]);
    expect(parseRowKey(decodeURIComponent(rowKeySegment(["a", 1])))).toEqual(["a", 1]);
  });

  it("parses every part, and names the view's columns when one is wrong", () => {
    const query = { status: "paid", "total[gte]": "10", order: "-total", limit: "5", cursor: "c1" };
    expect(parseRowQuery(query, ["status", "total"])).toEqual({
      filters: [
        { column: "status", op: "eq", value: "paid" },
        { column: "total", op: "gte", value: "10" },
      ],
      order: "total",
      desc: true,
      limit: 5,
      cursor: "c1",
    });
    expect(parseRowQuery({}, null)).toEqual({ filters: [], limit: 100 });
    expect(() => parseRowQuery({ nope: "1" }, ["status"])).toThrow(/no column "nope".*columns: status/);
    expect(() => parseRowQuery({ "total[in]": "1" }, null)).toThrow(/unknown filter operator "in"/);
    expect(() => parseRowQuery({ limit: "1001" }, null)).toThrow(/from 1 to 1000/);
  });

  it("prints a query another server parses to the same query", () => {
    const query = parseRowQuery(
      { status: ["paid", "new"], "total[lt]": "9", order: "-total", limit: "50", cursor: "abc" },
      null,
    );
    const printed = rowsQueryString(query);
    expect(printed).toBe("status=paid&status=new&total%5Blt%5D=9&order=-total&limit=50&cursor=abc");
    const again: Record<string, string | string[]> = {};
    for (const [k, v] of new URLSearchParams(printed)) {
      const seen = again[k];
      again[k] = seen === undefined ? v : [seen, v].flat();
    }
    expect(parseRowQuery(again, null)).toEqual(query);
  });
});
