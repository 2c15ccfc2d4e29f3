// A seeded random workload on the shop tables for integration tests: snapshot rows, then transactions of
// inserts, updates (including FK changes to NULL or to missing rows), primary-key changes (delete + insert,
// as Debezium emits them), deletes and the odd truncate. It keeps the model tables the oracle evaluates.
import type { Op, WriterTable } from "./cdc-writer.ts";
import { norm, type Row, type Tables } from "./naive-view.ts";

const decimal = { type: "bytes", logicalType: "decimal", precision: 12, scale: 2 };

export const SHOP_TABLES: WriterTable[] = [
  {
    schema: "public",
    table: "customers",
    key: ["id"],
    columns: [
      ["id", "int"],
      ["name", "string"],
      ["region", "string"],
    ],
  },
  {
    schema: "public",
    table: "orders",
    key: ["id"],
    columns: [
      ["id", "long"],
      ["customer_id", "long"],
      ["status", "string"],
      ["total", decimal],
    ],
  },
  {
    schema: "public",
    table: "order_items",
    key: ["order_id", "line"],
    columns: [
      ["order_id", "long"],
      ["line", "int"],
      ["product_id", "int"],
      ["qty", "int"],
      ["price", decimal],
    ],
  },
  {
    schema: "public",
    table: "products",
    key: ["id"],
    columns: [
      ["id", "int"],
      ["name", "string"],
      ["category", "string"],
    ],
  },
];

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class ShopWorkload {
  readonly tables: Tables = new Map();
  private readonly r: () => number;
  private readonly topicOf: (table: string) => string;
  private readonly sizes = { customers: 40, orders: 120, products: 15 };

  constructor(seed: number, topicOf: (table: string) => string) {
    this.r = rng(seed);
    this.topicOf = topicOf;
    for (const t of SHOP_TABLES) this.tables.set(topicOf(t.table), new Map());
  }

  private pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.r() * list.length)] as T;
  }

  private int(n: number): number {
    return 1 + Math.floor(this.r() * n);
  }

  private nullable<T>(v: T): T | null {
    return this.r() < 0.1 ? null : v;
  }

  row(table: string): Row {
    switch (table) {
      case "customers":
        return {
          id: this.int(this.sizes.customers),
          name: `c${this.int(99)}`,
          region: this.nullable(this.pick(["eu", "us", "apac"])),
        };
      case "orders":
        // customer ids beyond the table (orphans) and NULLs exercise LEFT JOIN null extension.
        return {
          id: BigInt(this.int(this.sizes.orders)),
          customer_id: this.nullable(BigInt(this.int(this.sizes.customers + 5))),
          status: this.pick(["new", "paid", "shipped"]),
          total: `${this.int(500)}.${String(this.int(99)).padStart(2, "0")}`,
        };
      case "order_items":
        return {
          order_id: BigInt(this.int(this.sizes.orders)),
          line: this.int(3),
          product_id: this.nullable(this.int(this.sizes.products + 2)),
          qty: this.int(9),
          price: `${this.int(90)}.50`,
        };
      default:
        return {
          id: this.int(this.sizes.products),
          name: `p${this.int(99)}`,
          category: this.nullable(this.pick(["a", "b", "c"])),
        };
    }
  }

  keyId(table: string, row: Row): string {
    const spec = SHOP_TABLES.find((t) => t.table === table);
    return (spec?.key ?? []).map((k) => norm(row[k])).join("|");
  }

  /** Initial rows per table (applied to the model; the caller writes them as snapshot reads). */
  initial(): Map<string, Row[]> {
    const out = new Map<string, Row[]>();
    for (const t of SHOP_TABLES) {
      const rows = new Map<string, Row>();
      const n =
        t.table === "order_items" ? 200 : t.table === "orders" ? 90 : t.table === "customers" ? 30 : 12;
      for (let i = 0; i < n; i++) {
        const row = this.row(t.table);
        rows.set(this.keyId(t.table, row), row);
      }
      const model = this.tables.get(this.topicOf(t.table))!;
      for (const [id, row] of rows) model.set(id, { p: 0, row });
      out.set(t.table, [...rows.values()]);
    }
    return out;
  }

  /** One random transaction's ops, applied to the model. */
  /** Every transaction's ops, for debugging a failed comparison. */
  readonly history: Op[][] = [];

  transaction(truncateChance = 0.01): Op[] {
    const ops: Op[] = [];
    this.history.push(ops);
    const n = 1 + Math.floor(this.r() * 4);
    for (let i = 0; i < n; i++) {
      const table = this.pick(SHOP_TABLES).table;
      const model = this.tables.get(this.topicOf(table))!;
      const dice = this.r();
      const existing = [...model.values()];
      if (dice < truncateChance && table === "order_items") {
        ops.push({ table, op: "t" });
        model.clear();
      } else if (dice < 0.45 || existing.length === 0) {
        const row = this.row(table);
        const id = this.keyId(table, row);
        const before = model.get(id)?.row;
        ops.push(before ? { table, op: "u", before, after: row } : { table, op: "c", after: row });
        model.set(id, { p: 0, row });
      } else if (dice < 0.8) {
        const old = this.pick(existing).row;
        const fresh = this.row(table);
        const keepKey = this.r() < 0.7;
        const spec = SHOP_TABLES.find((t) => t.table === table)!;
        const row = keepKey ? { ...fresh, ...Object.fromEntries(spec.key.map((k) => [k, old[k]])) } : fresh;
        const oldId = this.keyId(table, old);
        const newId = this.keyId(table, row);
        if (oldId === newId) ops.push({ table, op: "u", before: old, after: row });
        else {
          // A primary-key change: delete of the old key, then the new key (replacing any row there).
          ops.push({ table, op: "d", before: old });
          model.delete(oldId);
          const displaced = model.get(newId)?.row;
          ops.push(
            displaced ? { table, op: "u", before: displaced, after: row } : { table, op: "c", after: row },
          );
        }
        model.set(newId, { p: 0, row });
      } else {
        const old = this.pick(existing).row;
        ops.push({ table, op: "d", before: old });
        model.delete(this.keyId(table, old));
      }
    }
    return ops;
  }
}
