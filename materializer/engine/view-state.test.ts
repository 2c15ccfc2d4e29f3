// Join maintenance against a naive oracle: random change sequences on the shop tables (FK changes, PK
// changes, deletes, NULL join keys, truncates), applied in random batches; after every batch the full view
// must equal a from-scratch nested-loop evaluation of the same SQL over the oracle's tables.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileViewSql } from "../sql/compile.ts";
import { naiveView as naive, norm, type Tables } from "../test-support/naive-view.ts";
import { shopCatalog } from "../test-support/shop-catalog.ts";
import { Layout } from "./layout.ts";
import type { Db } from "./reader.ts";
import type { Row } from "./shape.ts";
import { ViewState, type TableChange } from "./view-state.ts";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOPIC = (t: string): string => `shop.public.${t}`;
const KEYS: Record<string, string[]> = {
  customers: ["id"],
  orders: ["id"],
  order_items: ["order_id", "line"],
  products: ["id"],
};

async function viewRows(db: Db, state: ViewState): Promise<Map<string, Row>> {
  const out = new Map<string, Row>();
  for await (const value of db.values(Layout.range(state.layout.section(0x52)))) {
    const { k, v } = state.format.unpackView(value);
    out.set(k.map(norm).join("|"), v);
  }
  return out;
}

/**
 * Join index entries carry the row; older versions wrote them empty. Seed 3 blanks them now and then, so
 * the reader's fallback (a get per empty entry) is checked against the oracle too.
 */
async function emptyJoinIndexValues(db: Db, state: ViewState): Promise<void> {
  const keys = await db.keys(Layout.range(state.layout.section(0x4a))).all();
  await db.batch(keys.map((key) => ({ type: "put" as const, key, value: Buffer.alloc(0) })));
}

function randomRow(r: () => number, table: string): Row {
  const small = (n: number): number => 1 + Math.floor(r() * n);
  const maybeNull = <T>(v: T): T | null => (r() < 0.15 ? null : v);
  switch (table) {
    case "customers":
      return {
        id: small(5),
        name: `c${small(9)}`,
        region: maybeNull(["eu", "us", "x"][Math.floor(r() * 3)]!),
      };
    case "orders":
      return {
        id: BigInt(small(8)),
        customer_id: maybeNull(BigInt(small(6))),
        status: maybeNull(["new", "paid"][Math.floor(r() * 2)]!),
        total: `${small(30)}.50`,
      };
    case "order_items":
      return {
        order_id: BigInt(small(8)),
        line: small(3),
        product_id: maybeNull(small(4)),
        qty: small(5),
        price: `${small(9)}.00`,
      };
    default:
      return { id: small(4), name: `p${small(9)}`, category: maybeNull(["a", "b"][Math.floor(r() * 2)]!) };
  }
}

const VIEWS = [
  "CREATE VIEW replica AS SELECT * FROM order_items WHERE qty > 2",
  "CREATE VIEW m2o AS SELECT o.id, o.total, o.customer_id, c.name, c.region FROM orders o LEFT JOIN customers c ON o.customer_id = c.id",
  "CREATE VIEW o2m AS SELECT c.id AS cid, c.name, o.id AS oid, o.status FROM customers c LEFT JOIN orders o ON o.customer_id = c.id WHERE o.status IS NULL OR o.status <> 'x'",
  `CREATE VIEW chain AS SELECT o.id AS oid, c.name AS customer, i.line, i.qty, p.name AS product, p.category
     FROM orders o JOIN customers c ON c.id = o.customer_id
     LEFT JOIN order_items i ON i.order_id = o.id
     LEFT JOIN products p ON p.id = i.product_id
     WHERE c.region <> 'x' OR p.category IS NULL`,
  "CREATE VIEW multi AS SELECT i.order_id, i.line, o.status FROM order_items i JOIN orders o ON o.id = i.order_id AND o.customer_id = i.qty; CREATE INDEX ON multi (status)",
  "CREATE VIEW fan AS SELECT p.id AS pid, p.category, i.order_id, i.line, o.customer_id FROM products p LEFT JOIN order_items i ON i.product_id = p.id LEFT JOIN orders o ON o.id = i.order_id",
];

describe("join maintenance equals a naive recompute after every batch", () => {
  let dir: string;
  let db: Db;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mesh-view-state-"));
    db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
    await db.open();
  });
  afterAll(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  // The warm caches (warm-cache.ts) hold everything (default), almost nothing (4 rows: constant eviction,
  // so hits, misses and re-reads mix) or nothing (0): all three must give the same, exact view.
  const warmBudgets: [string, number | undefined][] = [
    ["warm", undefined],
    ["tiny warm", 4],
    ["cold", 0],
  ];
  for (const [i, sql] of VIEWS.entries()) {
    for (const seed of [1, 2, 3])
      for (const [warmName, warmRows] of warmBudgets) {
        it(`${sql.slice(12, 40)}… seed ${seed}, ${warmName}`, async () => {
          const name = `${seed}_${warmName.replace(" ", "_")}`;
          const plan = compileViewSql(
            sql.replace(/VIEW (\w+)/, `VIEW $1_${name}`).replace(/ON (\w+) \(/, `ON $1_${name} (`),
            shopCatalog(),
          );
          const state = new ViewState(db, plan, warmRows === undefined ? {} : { warmRows });
          await state.load();
          const r = rng(seed * 100 + i);
          const tables: Tables = new Map(Object.keys(KEYS).map((t) => [TOPIC(t), new Map()]));
          let changesSeen = 0;
          for (let step = 0; step < 150; step++) {
            const batch: TableChange[] = [];
            const n = 1 + Math.floor(r() * 5);
            for (let c = 0; c < n; c++) {
              const table = Object.keys(KEYS)[Math.floor(r() * 4)]!;
              const topic = TOPIC(table);
              const model = tables.get(topic)!;
              const row = randomRow(r, table);
              const key = KEYS[table]!.map((k) => row[k]);
              const keyId = key.map(norm).join("|");
              const partition = keyId.length % 3;
              const dice = r();
              if (dice < 0.55) {
                batch.push({ op: "upsert", topic, partition, key, row });
                model.set(keyId, { p: partition, row });
              } else if (dice < 0.75) {
                // An update of an existing row, sometimes changing its primary key (delete + insert, as Debezium emits it).
                const existing = [...model.entries()][Math.floor(r() * model.size)];
                if (!existing) continue;
                const [oldId, old] = existing;
                const updated = {
                  ...randomRow(r, table),
                  ...(r() < 0.5 ? Object.fromEntries(KEYS[table]!.map((k) => [k, old.row[k]])) : {}),
                };
                const newKey = KEYS[table]!.map((k) => updated[k]);
                const newId = newKey.map(norm).join("|");
                if (newId !== oldId) {
                  batch.push({
                    op: "delete",
                    topic,
                    partition: old.p,
                    key: KEYS[table]!.map((k) => old.row[k]),
                  });
                  model.delete(oldId);
                }
                const p = newId.length % 3;
                batch.push({ op: "upsert", topic, partition: p, key: newKey, row: updated });
                model.set(newId, { p, row: updated });
              } else if (dice < 0.97) {
                batch.push({ op: "delete", topic, partition, key });
                model.delete(keyId);
              } else {
                batch.push({ op: "truncate", topic, partition });
                for (const [id, v] of model) if (v.p === partition) model.delete(id);
              }
            }
            if (seed === 3 && step % 25 === 10) await emptyJoinIndexValues(db, state);
            changesSeen += (await state.apply(batch, [], { feed: true })).length;
            const want = naive(plan, tables);
            const got = await viewRows(db, state);
            expect([...got.keys()].sort(), `step ${step}`).toEqual([...want.keys()].sort());
            for (const [k, v] of want) expect(got.get(k), `row ${k} at step ${step}`).toEqual(v);
            expect(state.stats.rows).toBe(want.size);
          }
          expect(changesSeen).toBeGreaterThan(15);
        });
      }
  }
});
