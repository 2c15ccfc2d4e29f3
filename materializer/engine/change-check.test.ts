import { describe, expect, it } from "vitest";
import { compileViewSql } from "../sql/compile.ts";
import { shopCatalog } from "../test-support/shop-catalog.ts";
import { ChangeCheck } from "./change-check.ts";
import type { TableChange } from "./view-state.ts";

const T = "shop.public.orders";
const upsert = (row: Record<string, unknown>, key: unknown[] = [1n]): TableChange => ({
  op: "upsert",
  topic: T,
  partition: 0,
  key,
  row,
});
const good = { id: 1n, customer_id: 3n, status: "new", total: "12.50" };

describe("change check (values a view cannot use park instead of failing it)", () => {
  const check = (sql: string) => new ChangeCheck(compileViewSql(sql, shopCatalog()));

  it("names the column of a value that cannot be read as the view's type, without the value", () => {
    const filtered = check("CREATE VIEW a AS SELECT * FROM orders WHERE total > 5");
    expect(filtered.reason([upsert(good)])).toBeNull();
    const reason = filtered.reason([upsert({ ...good, total: "n/a" })]);
    expect(reason).toMatch(/^column total: a string value that cannot be used as a number$/);
    const joined = check(
      "CREATE VIEW b AS SELECT o.id, c.name FROM orders o LEFT JOIN customers c ON o.customer_id = c.id",
    );
    expect(joined.reason([upsert({ ...good, customer_id: "x-17" })])).toMatch(/^column customer_id:/);
    expect(joined.reason([upsert(good, ["x"])])).toMatch(/^key column id:/);
  });

  it("lets NULLs, numeric text in numeric columns, deletes, truncates and other topics through", () => {
    const c = check("CREATE VIEW c AS SELECT * FROM orders; CREATE INDEX ON c (total)");
    expect(c.reason([upsert({ ...good, total: null, customer_id: "17" })])).toBeNull();
    expect(c.reason([{ op: "delete", topic: T, partition: 0, key: [1n] }])).toBeNull();
    expect(c.reason([{ op: "truncate", topic: T, partition: 0 }])).toBeNull();
    expect(c.reason([{ ...upsert({ total: "n/a" }), topic: "shop.public.other" }])).toBeNull();
  });

  it("refuses a value a column cannot be encoded with only where the view encodes that column", () => {
    const odd = { ...good, status: { nested: true } };
    expect(check("CREATE VIEW d AS SELECT * FROM orders").reason([upsert(odd)])).toBeNull();
    expect(check("CREATE VIEW e AS SELECT * FROM orders WHERE status = 'a'").reason([upsert(odd)])).toMatch(
      /^column status: a Object value that cannot be used as a string$/,
    );
    expect(
      check("CREATE VIEW f AS SELECT * FROM orders; CREATE INDEX ON f (status)").reason([upsert(odd)]),
    ).toMatch(/^column status:/);
  });

  it("checks the tables of GROUP BY views and views over views, group columns as keys", () => {
    const odd = { ...good, status: { nested: true } };
    const grouped = check("CREATE VIEW g AS SELECT status, SUM(total) AS s FROM orders GROUP BY status");
    expect(grouped.reason([upsert(odd)])).toMatch(/^column status:/);
    expect(grouped.reason([upsert({ ...good, total: "n/a" })])).toMatch(/^column total:/);
    expect(grouped.reason([upsert(good)])).toBeNull();
    const od = compileViewSql(
      "CREATE VIEW od AS SELECT id, total FROM orders WHERE status = 'a'",
      shopCatalog(),
    );
    const over = new ChangeCheck(
      compileViewSql("CREATE VIEW h AS SELECT * FROM od", { ...shopCatalog(), views: [od] }),
    );
    expect(over.reason([upsert(odd)])).toMatch(/^column status:/);
    expect(over.reason([upsert({ ...good, id: 1n }, ["x"])])).toMatch(/^key column id:/);
  });
});
