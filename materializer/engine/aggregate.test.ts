// GROUP BY views, computed columns and views over views against a from-scratch recompute
// (test-support/naive-plan.ts): seeded random changes on the shop tables (inserts, updates moving rows
// between groups, primary-key changes, deletes that take away groups' MIN and MAX, truncates) applied in
// random batches; after every batch the view's rows must equal the recompute exactly (decimals as text,
// scale included), and so must its row count. Then a restart (a new ViewState over the same LevelDB) goes on.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileViewSql } from "../sql/compile.ts";
import type { ViewPlan } from "../sql/plan.ts";
import { naivePlan } from "../test-support/naive-plan.ts";
import { norm, type Tables } from "../test-support/naive-view.ts";
import { shopCatalog } from "../test-support/shop-catalog.ts";
import { rng } from "../test-support/shop-workload.ts";
import { Layout, TAG } from "./layout.ts";
import type { Db } from "./reader.ts";
import type { Row } from "./shape.ts";
import { ViewState, type TableChange } from "./view-state.ts";

const TOPIC = (t: string): string => `shop.public.${t}`;
const KEYS: Record<string, string[]> = {
  customers: ["id"],
  orders: ["id"],
  order_items: ["order_id", "line"],
  products: ["id"],
};

function randomRow(r: () => number, table: string): Row {
  const small = (n: number): number => 1 + Math.floor(r() * n);
  const maybeNull = <T>(v: T): T | null => (r() < 0.15 ? null : v);
  switch (table) {
    case "customers":
      return { id: small(5), name: `c${small(9)}`, region: maybeNull(["eu", "us", "x"][small(3) - 1]!) };
    case "orders":
      return {
        id: BigInt(small(10)),
        customer_id: maybeNull(BigInt(small(6))),
        status: maybeNull(["new", "paid"][small(2) - 1]!),
        total: maybeNull(`${small(30)}.${small(89) + 10}`),
      };
    case "order_items":
      return {
        order_id: BigInt(small(10)),
        line: small(3),
        product_id: maybeNull(small(4)),
        qty: maybeNull(small(5)),
        price: `${small(9)}.${small(9)}0`,
      };
    default:
      return { id: small(4), name: `p${small(9)}`, category: maybeNull(["a", "b"][small(2) - 1]!) };
  }
}

const UPSTREAM =
  "CREATE VIEW od AS SELECT o.id, o.total, o.status, c.region, c.name FROM orders o LEFT JOIN customers c ON o.customer_id = c.id";

const VIEWS: Record<string, string> = {
  by_region: `SELECT c.region, COUNT(*) AS n, COUNT(o.customer_id) AS known, SUM(o.total) AS total,
      AVG(o.total) AS mean, MIN(o.total) AS lo, MAX(o.total) AS hi, MAX(o.status) AS last_status
    FROM orders o LEFT JOIN customers c ON o.customer_id = c.id GROUP BY c.region`,
  by_status: `SELECT status, COUNT(*) AS n, SUM(id) AS ids, AVG(id) AS mean, MIN(id) AS lo, MAX(id) + 0 AS hi
    FROM orders GROUP BY status HAVING COUNT(*) > 1 OR MIN(id) > 5`,
  lines: `SELECT o.id, COUNT(i.line) AS lines, SUM(i.qty * i.price) AS amount, SUM(i.qty) AS units,
      AVG(i.qty) AS mean_qty, MAX(i.price) AS top, MIN(p.name) AS first_product
    FROM orders o LEFT JOIN order_items i ON i.order_id = o.id LEFT JOIN products p ON p.id = i.product_id
    GROUP BY o.id HAVING SUM(i.qty) IS NULL OR SUM(i.qty) < 12`,
  computed: `SELECT o.id, o.total * 2 + 1 AS x, o.total / 3 AS third, -o.id % 4 AS m,
      CASE WHEN o.total > 15 THEN 'big' WHEN o.total IS NULL THEN NULL ELSE 'small' END AS size,
      COALESCE(c.name, 'none') AS who, o.status || '-' || o.id AS tag, NULLIF(c.region, 'x') AS region,
      CAST(o.total AS numeric(5,1)) AS rounded, o.id::text || 'x' AS idx, c.id + o.id AS sum_ids
    FROM orders o LEFT JOIN customers c ON o.customer_id = c.id
    WHERE o.total / 2 > 4 OR c.region LIKE 'e%' OR o.id IN (1, 2) OR o.status BETWEEN 'a' AND 'o'`,
  region_totals: "SELECT region, SUM(total) AS total, COUNT(*) AS n FROM od GROUP BY region",
  od_products: `SELECT d.id, d.total * 2 AS twice, d.region, i.line, p.name AS product
    FROM od d LEFT JOIN order_items i ON i.order_id = d.id LEFT JOIN products p ON p.id = i.product_id
    WHERE d.status IS DISTINCT FROM 'x' OR d.status IS NULL`,
  od_copy: "SELECT * FROM od WHERE total > 5 OR total IS NULL",
  by_total: `SELECT status, region, MIN(total) AS lo, MAX(total) AS hi, COUNT(*) AS n FROM od
    GROUP BY status, region`,
  // A view over an aggregate view over a join view: three levels in one batch.
  busy_regions: "SELECT r.region, r.n * 10 AS score, r.total FROM od_regions r WHERE r.n > 1",
};

const OD_REGIONS =
  "CREATE VIEW od_regions AS SELECT region, COUNT(*) AS n, SUM(total) AS total FROM od GROUP BY region";

async function viewRows(db: Db, state: ViewState): Promise<Map<string, Row>> {
  const out = new Map<string, Row>();
  for await (const value of db.values(Layout.range(state.layout.section(TAG.R)))) {
    const { k, v } = state.format.unpackView(value);
    out.set(k.map(norm).join("|"), v);
  }
  return out;
}

function compile(name: string, sql: string): ViewPlan {
  const od = compileViewSql(UPSTREAM, shopCatalog());
  const regions = compileViewSql(OD_REGIONS, { ...shopCatalog(), views: [od] });
  return compileViewSql(`CREATE VIEW ${name} AS ${sql}`, { ...shopCatalog(), views: [od, regions] });
}

describe("aggregates, expressions and views over views equal a from-scratch recompute", () => {
  let dir: string;
  let db: Db;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mesh-aggregate-"));
    db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
    await db.open();
  });
  afterAll(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses IS DISTINCT FROM for now", () => {
    // node-sql-parser does not parse it: the view above says `IS NULL OR`, and this checks the refusal.
    expect(() => compile("v", "SELECT id FROM orders WHERE status IS DISTINCT FROM 'x'")).toThrow(
      /parse|support/,
    );
  });

  for (const [i, [view, sql]] of Object.entries(VIEWS).entries()) {
    for (const seed of [1, 2, 3]) {
      it(`${view}, seed ${seed}`, async () => {
        const name = `${view}_${seed}`;
        const plan = compile(
          name,
          sql.replace("IS DISTINCT FROM 'x' OR d.status IS NULL", "<> 'x' OR d.status IS NULL"),
        );
        let state = new ViewState(db, plan, seed === 2 ? { warmRows: 0 } : {});
        await state.load();
        const r = rng(seed * 1000 + i);
        const tables: Tables = new Map(Object.keys(KEYS).map((t) => [TOPIC(t), new Map()]));
        let changes = 0;
        let nonEmpty = 0;
        for (let step = 0; step < 120; step++) {
          const batch: TableChange[] = [];
          const n = 1 + Math.floor(r() * 6);
          for (let c = 0; c < n; c++) {
            const table = Object.keys(KEYS)[Math.floor(r() * 4)]!;
            const topic = TOPIC(table);
            const model = tables.get(topic)!;
            const dice = r();
            if (dice < 0.5) {
              const row = randomRow(r, table);
              const key = KEYS[table]!.map((k) => row[k]);
              const id = key.map(norm).join("|");
              batch.push({ op: "upsert", topic, partition: id.length % 3, key, row });
              model.set(id, { p: id.length % 3, row });
            } else if (dice < 0.97) {
              // Deletes of existing rows (often a group's MIN or MAX) and primary-key moves.
              const existing = [...model.entries()][Math.floor(r() * model.size)];
              if (!existing) continue;
              const [id, old] = existing;
              const key = KEYS[table]!.map((k) => old.row[k]);
              batch.push({ op: "delete", topic, partition: old.p, key });
              model.delete(id);
              if (dice < 0.7) {
                const row = { ...randomRow(r, table) };
                const newKey = KEYS[table]!.map((k) => row[k]);
                const newId = newKey.map(norm).join("|");
                batch.push({ op: "upsert", topic, partition: newId.length % 3, key: newKey, row });
                model.set(newId, { p: newId.length % 3, row });
              }
            } else {
              const partition = Math.floor(r() * 3);
              batch.push({ op: "truncate", topic, partition });
              for (const [id, v] of model) if (v.p === partition) model.delete(id);
            }
          }
          changes += (await state.apply(batch, [], { feed: true })).length;
          if (step === 60) {
            // A restart: nothing but LevelDB carries over.
            state = new ViewState(db, plan);
            await state.load();
          }
          const want = naivePlan(plan, tables);
          const got = await viewRows(db, state);
          expect([...got.keys()].sort(), `step ${step}`).toEqual([...want.keys()].sort());
          for (const [k, v] of want) expect(got.get(k), `row ${k} at step ${step}`).toEqual(v);
          expect(state.stats.rows, `rows at step ${step}`).toBe(want.size);
          if (want.size > 0) nonEmpty++;
        }
        expect(changes).toBeGreaterThan(20);
        expect(nonEmpty).toBeGreaterThan(60);
      });
    }
  }
});
