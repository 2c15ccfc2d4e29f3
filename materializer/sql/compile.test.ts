import { describe, expect, it } from "vitest";
import { MeshError } from "../../lib/errors.ts";
import { shopCatalog, shopTables } from "../test-support/shop-catalog.ts";
import { compileStatements, compileViewSql } from "./compile.ts";
import { evaluate } from "./predicate.ts";

const catalog = shopCatalog();

function refused(sql: string): MeshError {
  try {
    compileStatements(sql, catalog);
  } catch (err) {
    expect(err).toBeInstanceOf(MeshError);
    expect((err as MeshError).code).toBe("MESH_BAD_SQL");
    return err as MeshError;
  }
  throw new Error(`accepted: ${sql}`);
}

describe("view compiler: accepted statements", () => {
  it("compiles SELECT * FROM t as a replica keyed by the table's primary key", () => {
    const plan = compileViewSql("CREATE VIEW items AS SELECT * FROM order_items", catalog);
    expect(plan.relations).toHaveLength(1);
    expect(plan.columns.map((c) => c.name)).toEqual(["order_id", "line", "product_id", "qty", "price"]);
    expect(plan.key.map((k) => k.name)).toEqual(["order_id", "line"]);
    expect(plan.where).toBeNull();
  });

  it("resolves source.schema.table, schema.table and short names", () => {
    for (const t of ["shop.public.orders", "public.orders", "orders", '"shop".public.orders']) {
      expect(compileViewSql(`CREATE VIEW v AS SELECT id FROM ${t}`, catalog).relations[0]?.table.topic).toBe(
        "shop.public.orders",
      );
    }
  });

  it("compiles a many-to-one LEFT JOIN: the key stays the driving key, kinds normalized for int = long", () => {
    const plan = compileViewSql(
      "CREATE VIEW od AS SELECT o.id, o.total, c.name AS customer FROM orders o LEFT JOIN customers c ON o.customer_id = c.id",
      catalog,
    );
    const c = plan.relations[1];
    expect(c).toMatchObject({
      alias: "c",
      parent: 0,
      join: "left",
      parentCols: ["customer_id"],
      childCols: ["id"],
      manyToOne: true,
    });
    expect(c?.joinKinds).toEqual(["decimal"]);
    expect(plan.key.map((k) => [k.name, k.rel, k.column])).toEqual([["id", 0, "id"]]);
    expect(plan.relations[0]?.needed.sort()).toEqual(["customer_id", "id", "total"]);
  });

  it("compiles one-to-many and 3-way chains with multi-column ON; one-to-many keys join the view key", () => {
    const plan = compileViewSql(
      `CREATE VIEW x AS SELECT c.id AS cid, o.id AS oid, i.line, p.name AS product
       FROM customers c JOIN orders o ON o.customer_id = c.id
       LEFT JOIN order_items i ON i.order_id = o.id AND i.order_id = o.id
       JOIN products p ON p.id = i.product_id
       WHERE c.region IN ('eu', 'us') AND (o.total >= 10.5 OR o.status IS NULL) AND NOT p.category = 'x'`,
      catalog,
    );
    expect(plan.relations.map((r) => [r.alias, r.parent, r.manyToOne])).toEqual([
      ["c", null, false],
      ["o", 0, false],
      ["i", 1, false],
      ["p", 2, true],
    ]);
    expect(plan.key.map((k) => k.name)).toEqual(["cid", "oid", "i.order_id", "line"]);
    expect(plan.relations[2]?.childCols).toEqual(["order_id", "order_id"]);
    const tuple = [{ region: "eu" }, { total: "11.00", status: "new" }, {}, { category: "y" }];
    expect(evaluate(plan.where!, tuple)).toBe(true);
    expect(
      evaluate(plan.where!, [{ region: "eu" }, { total: "10.49", status: "x" }, {}, { category: "y" }]),
    ).toBe(false);
    expect(evaluate(plan.where!, [{ region: "eu" }, { total: "20", status: "x" }, {}, null])).toBeNull();
  });

  it("accepts CREATE INDEX after the view and on its own", () => {
    const { view } = compileStatements(
      "CREATE VIEW v AS SELECT id, status FROM orders; CREATE INDEX ON v (status)",
      catalog,
    );
    expect(view?.indexes).toEqual([["status"]]);
    expect(compileStatements("CREATE INDEX ON v (a, b)", catalog).indexes).toEqual([
      { view: "v", columns: ["a", "b"] },
    ]);
  });

  it("implements SQL three-valued logic in WHERE", () => {
    const p = compileViewSql(
      "CREATE VIEW v AS SELECT * FROM orders WHERE status NOT IN ('a', NULL)",
      catalog,
    );
    expect(evaluate(p.where!, [{ status: "b" }])).toBeNull();
    expect(evaluate(p.where!, [{ status: "a" }])).toBe(false);
    const q = compileViewSql(
      "CREATE VIEW v AS SELECT * FROM orders WHERE total <> '5' AND customer_id < 9223372036854775807",
      catalog,
    );
    expect(evaluate(q.where!, [{ total: "5.00", customer_id: 1n }])).toBe(false);
    expect(evaluate(q.where!, [{ total: "5.01", customer_id: 9223372036854775806n }])).toBe(true);
  });

  it("compiles NOT (predicate), which the parser reads as a function NOT, as a negation", () => {
    const where = (w: string) =>
      compileViewSql(`CREATE VIEW v AS SELECT * FROM orders WHERE ${w}`, catalog).where!;
    const a = where("NOT (status = 'a' OR status IS NULL)");
    expect(a).toMatchObject({ op: "not", arg: { op: "or" } });
    expect(evaluate(a, [{ status: "a" }])).toBe(false);
    expect(evaluate(a, [{ status: null }])).toBe(false);
    expect(evaluate(a, [{ status: "b" }])).toBe(true);
    const b = where("id = 1 AND NOT (total > 2)");
    expect(evaluate(b, [{ id: 1n, total: "1.5" }])).toBe(true);
    expect(evaluate(b, [{ id: 1n, total: "3" }])).toBe(false);
    const c = where("NOT (NOT (id = 1))");
    expect(c).toMatchObject({ op: "not", arg: { op: "not", arg: { op: "cmp" } } });
    expect(evaluate(c, [{ id: 1n }])).toBe(true);
    expect(evaluate(where("status NOT IN ('a') AND NOT (id = 1)"), [{ status: "b", id: 2n }])).toBe(true);
    // NULL stays unknown under NOT (three-valued logic).
    expect(evaluate(where("NOT (total > 2)"), [{ total: null }])).toBeNull();
  });
});

describe("view compiler: refused statements name the construct and position", () => {
  const cases: [string, RegExp][] = [
    [
      "CREATE VIEW v AS SELECT status, count(*) FROM orders",
      /aggregate without GROUP BY .* at line 1, column 33/,
    ],
    ["CREATE VIEW v AS SELECT id FROM orders ORDER BY id", /ORDER BY/],
    ["CREATE VIEW v AS SELECT DISTINCT id FROM orders", /DISTINCT \(write GROUP BY\) at line 1, column 25/],
    ["CREATE VIEW v AS SELECT id FROM orders LIMIT 3", /LIMIT/],
    ["CREATE VIEW v AS SELECT upper(status) AS x FROM orders o", /function UPPER at line 1, column 25/],
    ["CREATE VIEW v AS SELECT * FROM orders o RIGHT JOIN customers c ON o.customer_id = c.id", /RIGHT JOIN/],
    ["CREATE VIEW v AS SELECT o.id FROM orders o, customers c", /comma join/],
    ["CREATE VIEW v AS SELECT o.id FROM orders o JOIN customers c ON o.customer_id > c.id", /ON condition >/],
    ["CREATE VIEW v AS SELECT o.id FROM orders o JOIN customers c USING (id)", /USING/],
    [
      "CREATE VIEW v AS SELECT o.id FROM orders o JOIN customers c ON o.status = c.id",
      /join of number column id with string column status/,
    ],
    ["CREATE VIEW v AS SELECT id FROM nope", /table nope, which no registered topic/],
    ["CREATE VIEW v AS SELECT o.nope FROM orders o", /column o.nope, which no table/],
    [
      "CREATE VIEW v AS SELECT id FROM orders o JOIN customers c ON o.customer_id = c.id",
      /column id, which is ambiguous/,
    ],
    [
      "CREATE VIEW v AS SELECT * FROM orders o JOIN customers c ON o.customer_id = c.id",
      /output column id, specified more than once/,
    ],
    ["CREATE VIEW v AS SELECT id FROM orders WHERE status ILIKE 'a%'", /operator ILIKE at line 1, column 46/],
    ["CREATE VIEW v AS SELECT id FROM orders WHERE id LIKE 'a%'", /LIKE on bigint and text/],
    ["CREATE VIEW v AS SELECT id FROM (SELECT 1 AS id) s", /subquery/],
    [
      "CREATE VIEW v AS SELECT id FROM orders WHERE status = 5",
      /comparing text with integer at line 1, column 46/,
    ],
    [
      "CREATE VIEW v AS SELECT id FROM orders WHERE total = 'abc'",
      /the text 'abc' where a number is expected/,
    ],
    ["CREATE VIEW v AS SELECT id FROM orders WHERE total", /condition of type numeric/],
    [
      "CREATE VIEW v AS SELECT status || 1 + 'x' AS s FROM orders",
      /\|\| next to \+ or - without parentheses/,
    ],
    ["CREATE VIEW v AS SELECT status || (1 + 'x') AS s FROM orders", /the text 'x' where an integer/],
    ["CREATE VIEW v AS SELECT status + 1 AS s FROM orders", /operator \+ on text and integer/],
    ["CREATE VIEW v AS SELECT id::double precision AS s FROM orders", /cast to DOUBLE PRECISION/],
    [
      "CREATE VIEW v AS SELECT CASE WHEN id > 1 THEN 1 ELSE 'a' END AS s FROM orders",
      /the text 'a' where an integer/,
    ],
    [
      "CREATE VIEW v AS SELECT CASE WHEN id > 1 THEN 1 ELSE status END AS s FROM orders",
      /CASE with results of types integer, text/,
    ],
    [
      "CREATE VIEW v AS SELECT id, total + 1 FROM orders WHERE id IS TRUE",
      /IS TRUE \(only IS \[NOT\] NULL\)/,
    ],
    ["CREATE VIEW v AS SELECT status, count(DISTINCT id) FROM orders GROUP BY status", /COUNT\(DISTINCT/],
    ["CREATE VIEW v AS SELECT status, sum(status) FROM orders GROUP BY status", /SUM of text/],
    ["CREATE VIEW v AS SELECT id, count(*) FROM orders GROUP BY status", /column id outside GROUP BY/],
    [
      "CREATE VIEW v AS SELECT status, string_agg(status, ',') FROM orders GROUP BY status",
      /aggregate STRING_AGG|function STRING_AGG/,
    ],
    ["CREATE VIEW v AS SELECT status FROM orders WHERE count(*) > 1 GROUP BY status", /aggregate COUNT here/],
    ["CREATE VIEW v AS SELECT status, sum(count(*)) FROM orders GROUP BY status", /aggregate COUNT here/],
    ["CREATE VIEW v AS SELEC id FROM orders", /does not parse at line 1, column 18/],
    ["DROP TABLE orders", /statement DROP/],
    ["CREATE VIEW v AS SELECT id FROM orders; CREATE INDEX ON v (nope)", /index column nope/],
  ];
  for (const [sql, message] of cases) {
    it(sql, () => {
      const err = refused(sql);
      expect(err.message).toMatch(message);
      expect(err.details.construct).toBeTruthy();
    });
  }

  it("refuses an ambiguous short name and asks for source.schema.table", () => {
    const two = { tables: [...shopTables("a"), ...shopTables("b")] };
    expect(() => compileViewSql("CREATE VIEW v AS SELECT * FROM orders", two)).toThrow(
      /ambiguous \(a.public.orders, b.public.orders\)/,
    );
    expect(
      compileViewSql(
        "CREATE VIEW v AS SELECT o.id, c.name FROM a.public.orders o JOIN b.public.customers c ON o.customer_id = c.id",
        two,
      ).relations.map((r) => r.table.topic),
    ).toEqual(["a.public.orders", "b.public.customers"]);
  });
});
