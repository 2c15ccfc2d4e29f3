// A change-feed entry built from a view row's bytes (packChange with afterView) must be byte-identical to
// one encoded from the decoded values, for single-table views (head [k, p]) and joins (head [k]). Entries
// carry the time they were applied, and entries written before that still read.
import { describe, expect, it } from "vitest";
import { compileViewSql } from "../sql/compile.ts";
import { shopCatalog } from "../test-support/shop-catalog.ts";
import { encodeValue } from "./codec.ts";
import { RowFormat } from "./row-format.ts";
import type { Row } from "./shape.ts";

const views = [
  "CREATE VIEW rf_replica AS SELECT * FROM orders",
  "CREATE VIEW rf_join AS SELECT o.id, o.total, c.name FROM orders o LEFT JOIN customers c ON o.customer_id = c.id",
];

const rows: Row[] = [
  { id: 1n, customer_id: 7n, status: "paid", total: "12.50", name: "ann" },
  { id: -(2n ** 63n), customer_id: null, status: "héllo 中 😀", total: null, name: null },
  { id: 2n ** 80n, customer_id: 0n, status: "x".repeat(300), total: "0", name: "" },
];

describe("row format", () => {
  for (const sql of views)
    it(`feed entries spliced from view row bytes equal encoded ones (${sql.slice(12, 22)})`, () => {
      const format = new RowFormat(compileViewSql(sql, shopCatalog()));
      const viewCols = compileViewSql(sql, shopCatalog()).columns.map((c) => c.name);
      const project = (r: Row): Row => Object.fromEntries(viewCols.map((c) => [c, r[c] ?? null]));
      rows.forEach((r, i) => {
        const v = project(r);
        const k = [r.id];
        const packed = format.packView(k, v, i);
        const before = i === 0 ? null : project(rows[i - 1] as Row);
        const change = {
          seq: 1000 + i,
          at: 1_800_000_000_000 + i,
          op: before ? ("update" as const) : ("insert" as const),
          key: k,
          before,
          after: v,
        };
        const spliced = format.packChange(change, packed);
        expect(spliced.equals(format.packChange(change)), `row ${i}`).toBe(true);
        expect(format.unpackChange(spliced)).toEqual(change);
        // Bytes of an earlier packView are not the last: encoded as usual, still equal.
        format.packView([0n], project(rows[0] as Row));
        expect(format.packChange(change, packed).equals(spliced)).toBe(true);
      });
    });
});

describe("feed entry times", () => {
  const sql = views[0] as string;

  it("stamps entries with the clock, never going down when the clock steps back", () => {
    const format = new RowFormat(compileViewSql(sql, shopCatalog()));
    const times = [5_000, 7_000, 6_000, 8_000];
    format.clock = () => times.shift() ?? 0;
    const change = { seq: 1, op: "insert" as const, key: [1n], before: null, after: { id: 1n } };
    const stamped = [1, 2, 3, 4].map((seq) => format.unpackChange(format.packChange({ ...change, seq })).at);
    expect(stamped).toEqual([5_000, 7_000, 7_000, 8_000]);
  });

  it("reads entries written before times were kept (a bare seq first), without a time", () => {
    const format = new RowFormat(compileViewSql(sql, shopCatalog()));
    const cols = compileViewSql(sql, shopCatalog()).columns.map((c) => c.name);
    const old = encodeValue([42, "delete", [9n], cols.map((c) => (c === "id" ? 9n : null)), null]);
    const c = format.unpackChange(old);
    expect(c.seq).toBe(42);
    expect(c.op).toBe("delete");
    expect(c.at).toBeUndefined();
    expect(c.before?.id).toBe(9n);
  });
});
