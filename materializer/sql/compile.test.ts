import { describe, expect, it } from "vitest";
import { MeshError } from "../../lib/errors.ts";
import { shopCatalog, shopTables } from "../test-support/shop-catalog.ts";
import { compileStatements, compileViewSql } from "./compile.ts";
import { baseRelations, drivingTopic, type ViewPlan } from "./plan.ts";
import { evaluate } from "./predicate.ts";
import { sqlTypeName } from "./types.ts";

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

describe("view compiler: expressions, GROUP BY and views over views", () => {
  const types = (plan: ViewPlan): Record<string, string> =>
    Object.fromEntries(plan.columns.map((c) => [c.name, sqlTypeName(c.type)]));

  it("derives each computed column's type and name as Postgres does", () => {
    const plan = compileViewSql(
      `CREATE VIEW v AS SELECT o.id, o.total * 2, o.total / 3 AS third, o.id + 1 AS next, c.id * 2 AS twice,
         c.id + o.id AS ids, -c.id AS neg, 'x' || o.status AS tag, CASE WHEN o.total > 1 THEN o.status END,
         COALESCE(c.id, 0) AS cid, COALESCE(o.total, 0) AS total0, NULLIF(o.status, 'a') AS status,
         CAST(o.total AS numeric(5,1)) AS rounded, o.total::numeric AS plain, c.name::varchar(3) AS short,
         'lit' AS label, o.total > 5 AS big, 3000000000 AS large, 1.50 AS half
       FROM orders o LEFT JOIN customers c ON o.customer_id = c.id`,
      catalog,
    );
    expect(types(plan)).toEqual({
      id: "bigint",
      "?column?": "numeric",
      third: "numeric",
      next: "bigint",
      twice: "integer",
      ids: "bigint",
      neg: "integer",
      tag: "text",
      case: "text",
      cid: "integer",
      total0: "numeric",
      status: "text",
      rounded: "numeric(5,1)",
      plain: "numeric",
      short: "text",
      label: "text",
      big: "boolean",
      large: "bigint",
      half: "numeric",
    });
    // Plain columns stay references; computed ones carry their expression and kind.
    expect(plan.columns[0]).toMatchObject({ rel: 0, column: "id" });
    expect(plan.columns[1]).toMatchObject({
      rel: -1,
      kind: "decimal",
      expr: { op: "arith", fn: "*", t: "decimal" },
    });
    // Only the columns the expressions read are kept.
    expect(plan.relations[1]?.needed.sort()).toEqual(["id", "name"]);
  });

  it("compiles GROUP BY into an input stage and aggregates over its columns", () => {
    const plan = compileViewSql(
      `CREATE VIEW g AS SELECT c.region, COUNT(*) AS n, SUM(o.total) AS total, AVG(o.total) AS mean,
         MIN(o.total) AS lo, MAX(o.total) AS hi, SUM(c.id) AS ids, COUNT(o.total) + 1 AS plus
       FROM orders o JOIN customers c ON c.id = o.customer_id
       WHERE o.status <> 'x' GROUP BY c.region HAVING SUM(o.total) > 10`,
      catalog,
    );
    expect(plan.relations).toEqual([]);
    expect(plan.key).toEqual([
      { name: "region", rel: -1, column: "g0", type: ["null", "string"], kind: "string" },
    ]);
    expect(types(plan)).toEqual({
      region: "text",
      n: "bigint",
      total: "numeric",
      mean: "numeric",
      lo: "numeric",
      hi: "numeric",
      ids: "bigint",
      plus: "bigint",
    });
    const input = plan.stages?.[0] as ViewPlan;
    // One argument column per distinct argument: o.total feeds SUM, AVG, MIN, MAX and COUNT.
    expect(input.columns.map((c) => [c.name, c.rel, c.column])).toEqual([
      ["g0", 1, "region"],
      ["x0", 0, "total"],
      ["x1", 1, "id"],
    ]);
    expect(input.key.map((k) => k.name)).toEqual(["o.id"]);
    expect(input.where).toMatchObject({ op: "cmp", cmp: "<>" });
    expect(plan.aggregate?.aggs).toEqual([
      { fn: "count", arg: null, t: "long", kind: "number" },
      { fn: "sum", arg: "x0", t: "decimal", kind: "decimal" },
      { fn: "avg", arg: "x0", t: "decimal", kind: "decimal" },
      { fn: "min", arg: "x0", t: "decimal", kind: "decimal" },
      { fn: "max", arg: "x0", t: "decimal", kind: "decimal" },
      { fn: "sum", arg: "x1", t: "int", kind: "number" },
      { fn: "count", arg: "x0", t: "decimal", kind: "decimal" },
    ]);
    expect(plan.aggregate?.having).toMatchObject({ op: "cmp", left: { col: { rel: 0, column: "a1" } } });
  });

  it("accepts GROUP BY positions, output names and expressions; names hidden group keys", () => {
    const byPosition = compileViewSql(
      "CREATE VIEW g AS SELECT status AS s, COUNT(*) FROM orders GROUP BY 1",
      catalog,
    );
    expect(byPosition.key.map((k) => k.name)).toEqual(["s"]);
    const byName = compileViewSql(
      "CREATE VIEW g AS SELECT status AS s, COUNT(*) FROM orders GROUP BY s",
      catalog,
    );
    expect(byName.key.map((k) => k.name)).toEqual(["s"]);
    const hidden = compileViewSql(
      "CREATE VIEW g AS SELECT COUNT(*) AS n, MAX(total) AS count FROM orders GROUP BY status, id % 2",
      catalog,
    );
    expect(hidden.key.map((k) => [k.name, sqlTypeName(k.type)])).toEqual([
      ["status", "text"],
      ["group_2", "bigint"],
    ]);
    const expr = compileViewSql(
      "CREATE VIEW g AS SELECT id % 2 AS parity, COUNT(*) AS n FROM orders GROUP BY id % 2",
      catalog,
    );
    expect(expr.key.map((k) => k.name)).toEqual(["parity"]);
  });

  it("reads a view in FROM as a table keyed by its key, compiled in as a stage", () => {
    const od = compileViewSql(
      "CREATE VIEW od AS SELECT o.id, o.total, i.line, i.qty FROM orders o LEFT JOIN order_items i ON i.order_id = o.id",
      catalog,
    );
    const withViews = { ...catalog, views: [od] };
    const plan = compileViewSql(
      "CREATE VIEW big AS SELECT d.id, d.line, d.total * d.qty AS amount, c.name FROM od d JOIN orders o ON o.id = d.id LEFT JOIN customers c ON c.id = o.customer_id",
      withViews,
    );
    expect(plan.stages?.map((s) => s.name)).toEqual(["od"]);
    expect(plan.relations[0]?.table).toMatchObject({
      topic: "view:od",
      key: ["id", "i.order_id", "line"],
      hidden: ["i.order_id"],
    });
    expect(plan.key.map((k) => k.name)).toEqual(["id", "d.i.order_id", "line"]);
    // * leaves the view's hidden key part out.
    const all = compileViewSql("CREATE VIEW all_od AS SELECT * FROM od", withViews);
    expect(all.columns.map((c) => c.name)).toEqual(["id", "total", "line", "qty"]);
    expect(baseRelations(all).map((r) => r.table.topic)).toEqual([
      "shop.public.orders",
      "shop.public.order_items",
    ]);
    expect(drivingTopic(all)).toBe("shop.public.orders");
    // A qualified name is always a table.
    expect(() => compileViewSql("CREATE VIEW x AS SELECT * FROM public.od", withViews)).toThrow(
      /table public.od/,
    );
    const grouped = compileViewSql(
      "CREATE VIEW gg AS SELECT id, SUM(qty) AS q FROM od GROUP BY id",
      withViews,
    );
    expect(grouped.stages?.[0]?.stages?.map((s) => s.name)).toEqual(["od"]);
    expect(drivingTopic(grouped)).toBe("shop.public.orders");
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
