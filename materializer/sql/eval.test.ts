// The expression evaluator through the compiler (SQL text → Expr → value): SQL's NULL logic, integer
// ranges and overflow (a value that cannot be computed is NULL), exact decimals, casts, LIKE against a
// reference matcher, CASE/COALESCE/NULLIF; integer arithmetic checked against bigint with seeded values.
import { describe, expect, it } from "vitest";
import { shopCatalog } from "../test-support/shop-catalog.ts";
import { rng } from "../test-support/shop-workload.ts";
import { compileViewSql } from "./compile.ts";
import { encodeKey, type KeyKind } from "../keys/encoding.ts";
import { columnValue, compareValues, likeRegex, truth } from "./eval.ts";
import type { Expr, OutputColumn } from "./plan.ts";

const catalog = shopCatalog();

/** The computed column `expr` of a view over order_items (order_id bigint, line/qty/product_id int, price numeric(12,2)). */
function column(expr: string): OutputColumn {
  const plan = compileViewSql(`CREATE VIEW v AS SELECT ${expr} AS x FROM order_items`, catalog);
  return plan.columns[0] as OutputColumn;
}
const value = (expr: string, row: Record<string, unknown> = {}): unknown =>
  columnValue(column(expr).expr as Expr, [row]);
const where = (predicate: string, row: Record<string, unknown> = {}): boolean | null =>
  truth(
    compileViewSql(`CREATE VIEW v AS SELECT * FROM order_items WHERE ${predicate}`, catalog).where as Expr,
    [row],
  );

describe("expression evaluation", () => {
  it("follows SQL's three-valued logic", () => {
    const T = "qty = 1";
    const F = "qty = 2";
    const N = "product_id = 1"; // product_id NULL below
    const row = { qty: 1, product_id: null };
    const cases: [string, boolean | null][] = [
      [`${T} AND ${N}`, null],
      [`${F} AND ${N}`, false],
      [`${N} AND ${F}`, false],
      [`${T} OR ${N}`, true],
      [`${N} OR ${T}`, true],
      [`${F} OR ${N}`, null],
      [`NOT (${N})`, null],
      [`NOT (${F})`, true],
      ["product_id IS NULL", true],
      ["product_id IS NOT NULL", false],
      ["qty IN (1, NULL)", true],
      ["qty IN (2, NULL)", null],
      ["qty NOT IN (2, NULL)", null],
      ["qty NOT IN (2, 3)", true],
      ["product_id IN (1, 2)", null],
      ["qty BETWEEN 1 AND 3", true],
      ["qty NOT BETWEEN 1 AND 3", false],
      ["qty BETWEEN product_id AND 3", null],
      ["qty + product_id > 0", null],
    ];
    for (const [p, want] of cases) expect(where(p, row), p).toBe(want);
    expect(value("qty > 0 AND product_id > 0", row)).toBeNull();
    expect(value("qty > 0 OR product_id > 0", row)).toBe(true);
  });

  it("propagates NULL through operators and functions", () => {
    const row = { qty: null, price: "2.50", order_id: 5n };
    expect(value("qty + 1", row)).toBeNull();
    expect(value("price * qty", row)).toBeNull();
    expect(value("-qty", row)).toBeNull();
    expect(value("'a' || qty", row)).toBeNull();
    expect(value("COALESCE(qty, line, 7)", { ...row, line: null })).toBe(7);
    expect(value("COALESCE(qty, price)", row)).toBe("2.50");
    expect(value("COALESCE(qty, 3)::text", row)).toBe("3");
    expect(value("NULLIF(qty, 1)", row)).toBeNull();
    expect(value("NULLIF(price, 2.5)", row)).toBeNull(); // 2.50 = 2.5
    expect(value("NULLIF(price, 3)", row)).toBe("2.50");
    expect(value("CASE WHEN qty > 1 THEN 'a' ELSE 'b' END", row)).toBe("b"); // unknown is not true
    expect(value("CASE WHEN qty > 1 THEN 'a' END", row)).toBeNull();
    expect(value("CASE qty WHEN 1 THEN 'a' ELSE 'z' END", row)).toBe("z");
    expect(value("qty::bigint", row)).toBeNull();
    expect(where("CAST(qty AS text) LIKE '1%'", row)).toBeNull();
  });

  it("computes with Postgres' types: int, bigint, numeric scales", () => {
    const row = { qty: 7, line: 2, order_id: 9_000_000_000n, price: "2.50", product_id: -7 };
    expect(value("qty / line", row)).toBe(3);
    expect(value("product_id / line", row)).toBe(-3); // truncates toward zero
    expect(value("product_id % line", row)).toBe(-1); // sign of the dividend
    expect(value("qty * order_id", row)).toBe(63_000_000_000n); // int × bigint is bigint
    expect(value("order_id / qty", row)).toBe(1_285_714_285n);
    expect(value("price * qty", row)).toBe("17.50");
    expect(value("price * 1.10", row)).toBe("2.7500");
    expect(value("price / 3", row)).toBe("0.83333333333333333333");
    expect(value("qty / 2.0", row)).toBe("3.5000000000000000");
    expect(value("price + qty + 0.001", row)).toBe("9.501");
    expect(value("price % 1", row)).toBe("0.50");
    expect(value("-price", row)).toBe("-2.50");
    expect(value("'#' || order_id || '/' || price || '/' || (qty > 1)", row)).toBe("#9000000000/2.50/true");
    expect(value("CASE WHEN qty > 1 THEN qty ELSE price END", row)).toBe("7"); // numeric: int 7 shown as 7
    expect(value("CASE WHEN qty > 1 THEN qty ELSE order_id END", row)).toBe(7n);
    expect(value("3000000000 + qty", row)).toBe(3_000_000_007n);
    expect(value("qty + '5'", row)).toBe(12); // the literal takes the other side's type
  });

  it("makes a value that cannot be computed NULL: overflow, division by zero, bad text", () => {
    const row = {
      qty: 2147483647,
      line: 0,
      product_id: -2147483648,
      order_id: 9223372036854775807n,
      price: "1.00",
    };
    expect(value("qty + 1", row)).toBeNull(); // int4 overflow
    expect(value("qty + 0", row)).toBe(2147483647);
    expect(value("qty * qty", row)).toBeNull();
    expect(value("product_id / -1", row)).toBeNull(); // -2^31 / -1 does not fit an int
    expect(value("product_id % -1", row)).toBe(0);
    expect(value("-product_id", row)).toBeNull();
    expect(value("qty::bigint + 1", row)).toBe(2147483648n);
    expect(value("order_id + 1", row)).toBeNull(); // int8 overflow
    expect(value("order_id * 2", row)).toBeNull();
    expect(value("order_id::numeric * 2", row)).toBe("18446744073709551614");
    expect(value("qty / line", row)).toBeNull();
    expect(value("qty % line", row)).toBeNull();
    expect(value("price / line", row)).toBeNull();
    expect(value("order_id::int", row)).toBeNull();
    expect(value("price::numeric(2,1)", { price: "10.00" })).toBeNull();
    expect(value("CASE WHEN line = 0 THEN NULL ELSE qty / line END", row)).toBeNull();
    expect(value("qty / NULLIF(line, 0)", row)).toBeNull();
    expect(where("qty / line > 0", row)).toBeNull(); // and WHERE drops the row
    expect(value("(qty::text || 'x')::int", row)).toBeNull();
  });

  it("casts between the lossless types as Postgres does", () => {
    const row = { price: "2.50", qty: 3 };
    expect(value("price::int", row)).toBe(3); // rounds half away from zero
    expect(value("(-price)::int", row)).toBe(-3);
    expect(value("price::numeric(5,1)", row)).toBe("2.5");
    expect(value("price::numeric(5,3)", row)).toBe("2.500");
    expect(value("price::numeric", row)).toBe("2.50");
    expect(value("price::text", row)).toBe("2.50");
    expect(value("qty::numeric", row)).toBe("3");
    expect(value("' 42 '::int", row)).toBe(42);
    expect(value("'1.5'::int", row)).toBeNull();
    expect(value("'1e3'::numeric", row)).toBe("1000");
    expect(value("qty::boolean", row)).toBe(true);
    expect(value("'off'::boolean", row)).toBe(false);
    expect(value("'t'::boolean", row)).toBe(true);
    expect(value("'o'::boolean", row)).toBeNull(); // ambiguous: on or off
    expect(value("true::int", row)).toBe(1);
    expect(value("'abcdef'::varchar(3)", row)).toBe("abc");
    expect(value("'añb'::varchar(2)", row)).toBe("añ");
    expect(column("price::numeric(5,1)").type).toEqual([
      "null",
      { type: "bytes", logicalType: "decimal", precision: 5, scale: 1 },
    ]);
  });

  it("matches LIKE as a reference matcher does (%, _, backslash escapes; seeded)", () => {
    /** The reference: a backtracking match over code points. */
    const like = (s: string[], p: string[]): boolean => {
      if (p.length === 0) return s.length === 0;
      const [c, ...rest] = p;
      if (c === "%") return like(s, rest) || (s.length > 0 && like(s.slice(1), p));
      if (s.length === 0) return false;
      if (c === "\\") return rest[0] === s[0] && like(s.slice(1), rest.slice(1));
      return (c === "_" || c === s[0]) && like(s.slice(1), rest);
    };
    const r = rng(11);
    const alphabet = ["a", "b", "%", "_", "\\", ".", "*", "é", "😀", "("];
    const pick = (n: number, from: string[]): string[] =>
      Array.from({ length: Math.floor(r() * n) }, () => from[Math.floor(r() * from.length)] as string);
    let matched = 0;
    for (let i = 0; i < 4000; i++) {
      const s = pick(6, ["a", "b", "%", "_", "\\", ".", "é", "😀"]);
      const p = pick(5, alphabet);
      let dangling = false;
      for (let j = 0; j < p.length; j++) if (p[j] === "\\") dangling = ++j >= p.length;
      if (dangling) {
        expect(() => likeRegex(p.join(""))).toThrow(/escape/);
        continue;
      }
      const want = like(s, p);
      if (want) matched++;
      expect(likeRegex(p.join("")).test(s.join("")), `'${s.join("")}' LIKE '${p.join("")}'`).toBe(want);
    }
    expect(matched).toBeGreaterThan(100);
    expect(value("'abc' LIKE 'a%'")).toBe(true);
    expect(value("'abc' NOT LIKE 'A%'")).toBe(true); // case-sensitive
    expect(value("'a_c' LIKE 'a\\_c'")).toBe(true);
    expect(value("'abc' LIKE 'a\\_c'")).toBe(false);
  });

  it("equals bigint arithmetic with range checks for random int and bigint operands (seeded)", () => {
    const r = rng(5);
    const INT = [-(2n ** 31n), 2n ** 31n - 1n];
    const LONG = [-(2n ** 63n), 2n ** 63n - 1n];
    const near = (edge: bigint): bigint => edge + BigInt(Math.floor(r() * 5) - 2);
    const pickInt = (): bigint =>
      r() < 0.3 ? near(INT[Math.floor(r() * 2)] as bigint) : BigInt(Math.floor(r() * 2 ** 16) - 2 ** 15);
    const pickLong = (): bigint =>
      r() < 0.3 ? near(LONG[Math.floor(r() * 2)] as bigint) : BigInt(Math.floor(r() * 2 ** 40) - 2 ** 39);
    const inRange = (v: bigint, [lo, hi]: bigint[]): boolean => v >= (lo as bigint) && v <= (hi as bigint);
    const exprs = [
      "qty + line",
      "qty - line",
      "qty * line",
      "qty / line",
      "qty % line",
      "order_id + qty",
      "order_id * qty",
      "order_id - qty",
      "order_id / qty",
      "order_id % qty",
    ];
    const compiled = exprs.map((e) => column(e).expr as Expr);
    for (let i = 0; i < 3000; i++) {
      const a = pickInt();
      const b = pickInt();
      const c = pickLong();
      if (!inRange(a, INT) || !inRange(b, INT) || !inRange(c, LONG)) continue;
      const row = { qty: Number(a), line: Number(b), order_id: c };
      const ref: [bigint, bigint, bigint[]][] = [
        [a, b, INT],
        [a, b, INT],
        [a, b, INT],
        [a, b, INT],
        [a, b, INT],
        [c, a, LONG],
        [c, a, LONG],
        [c, a, LONG],
        [c, a, LONG],
        [c, a, LONG],
      ];
      compiled.forEach((e, j) => {
        const [x, y, range] = ref[j] as [bigint, bigint, bigint[]];
        const op = (exprs[j] as string).split(" ")[1];
        let want: bigint | null;
        if ((op === "/" || op === "%") && y === 0n) want = null;
        else want = op === "+" ? x + y : op === "-" ? x - y : op === "*" ? x * y : op === "/" ? x / y : x % y;
        if (want !== null && !inRange(want, range)) want = null;
        const got = columnValue(e, [row]);
        const asBig = got === null ? null : BigInt(got as number | bigint);
        expect(asBig, `${exprs[j]} with ${row.qty}, ${row.line}, ${c}`).toBe(want);
        if (got !== null) expect(typeof got).toBe(range === INT ? "number" : "bigint");
      });
    }
  });

  it("compares as the key encoding orders (fast paths included; seeded)", () => {
    const r = rng(9);
    const pool: [unknown, KeyKind][] = [];
    const chars = ["a", "b", "é", "\uffff", "\ue000", "😀", "𝌆", "Z", ""];
    for (let i = 0; i < 300; i++) {
      const pick = Math.floor(r() * 7);
      if (pick === 0) pool.push([Math.floor(r() * 200) - 100, "number"]);
      else if (pick === 1)
        pool.push([BigInt(Math.floor(r() * 200) - 100) * (r() < 0.2 ? 10n ** 20n : 1n), "number"]);
      else if (pick === 2) pool.push([`${Math.floor(r() * 200) - 100}.${Math.floor(r() * 100)}`, "decimal"]);
      else if (pick === 3) pool.push([(r() - 0.5) * 1e3, "number"]);
      else if (pick === 4) pool.push([r() < 0.5, "boolean"]);
      else
        pool.push([
          Array.from({ length: Math.floor(r() * 4) }, () => chars[Math.floor(r() * chars.length)]).join(""),
          r() < 0.5 ? "string" : "any",
        ]);
    }
    for (let i = 0; i < 20000; i++) {
      const [a, ak] = pool[Math.floor(r() * pool.length)]!;
      const [b, bk] = pool[Math.floor(r() * pool.length)]!;
      const want = Math.sign(Buffer.compare(encodeKey([a], [ak]), encodeKey([b], [bk])));
      expect(Math.sign(compareValues(a, ak, b, bk)), `${String(a)} vs ${String(b)}`).toBe(want);
    }
  });
});
