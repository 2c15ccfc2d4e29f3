// The key ceiling (key-ceiling.ts) lets an apply batch skip the stored-row read of keys above every stored
// key. These check the cases where skipping would be wrong if the ceiling were too low: re-delivered inserts
// (a Debezium `c` replayed after a connector restart), a restart of the view (ceiling read from LevelDB),
// and a joined row whose re-sent image moves it to another join key (its old index entry must go).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileViewSql } from "../sql/compile.ts";
import { shopCatalog } from "../test-support/shop-catalog.ts";
import { KeyCeiling } from "./key-ceiling.ts";
import { Layout } from "./layout.ts";
import type { Db } from "./reader.ts";
import { ViewState, type TableChange } from "./view-state.ts";

const order = (id: number, customer: number, total = "1.00"): TableChange => ({
  op: "upsert",
  topic: "shop.public.orders",
  partition: 0,
  key: [BigInt(id)],
  row: { id: BigInt(id), customer_id: BigInt(customer), status: "new", total },
});
const customer = (id: number, name: string): TableChange => ({
  op: "upsert",
  topic: "shop.public.customers",
  partition: 0,
  key: [id],
  row: { id, name, region: "eu" },
});

describe("key ceiling", () => {
  let dir: string;
  let db: Db;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mesh-key-ceiling-"));
    db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
    await db.open();
  });
  afterAll(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("reads the section's last key and only ever rises", async () => {
    const prefix = Buffer.from("k1/");
    await db.batch([
      { type: "put", key: Buffer.from("k1/b"), value: Buffer.alloc(0) },
      { type: "put", key: Buffer.from("k2/z"), value: Buffer.alloc(0) },
    ]);
    const c = new KeyCeiling(db, prefix);
    expect(c.above(Buffer.from("zz")), "unknown until loaded").toBe(false);
    await c.load();
    expect(c.above(Buffer.from("b"))).toBe(false);
    expect(c.above(Buffer.from("a"))).toBe(false);
    expect(c.above(Buffer.from("c"))).toBe(true);
    c.raise(Buffer.from("d"));
    c.raise(Buffer.from("c"));
    expect(c.above(Buffer.from("c"))).toBe(false);
    expect(c.above(Buffer.from("e"))).toBe(true);
    const empty = new KeyCeiling(db, Buffer.from("k3/"));
    await empty.load();
    expect(empty.above(Buffer.alloc(0))).toBe(true);
  });

  it("a replica reports re-delivered inserts as updates, also after a restart", async () => {
    const plan = compileViewSql("CREATE VIEW ceil_replica AS SELECT * FROM orders", shopCatalog());
    const state = new ViewState(db, plan);
    await state.load();
    const first = await state.apply(
      [1, 2, 3, 4, 5].map((i) => order(i, 1)),
      [],
      { feed: true },
    );
    expect(first.map((c) => c.op)).toEqual(["insert", "insert", "insert", "insert", "insert"]);
    const again = await state.apply([order(3, 1, "9.00"), order(6, 1)], [], { feed: true });
    expect(again.map((c) => [c.op, c.before?.total ?? null])).toEqual([
      ["update", "1.00"],
      ["insert", null],
    ]);
    // A new ViewState (a restarted materializer) reads its ceiling from LevelDB.
    const restarted = new ViewState(db, plan);
    await restarted.load();
    const after = await restarted.apply([order(6, 2, "7.00"), order(7, 1)], [], { feed: true });
    expect(after.map((c) => [c.op, c.before?.total ?? null])).toEqual([
      ["update", "1.00"],
      ["insert", null],
    ]);
    expect(restarted.stats.rows).toBe(7);
  });

  it("a join drops the old index entry of a re-sent row below the ceiling", async () => {
    const plan = compileViewSql(
      "CREATE VIEW ceil_m2o AS SELECT o.id, c.name FROM orders o LEFT JOIN customers c ON o.customer_id = c.id",
      shopCatalog(),
    );
    const state = new ViewState(db, plan);
    await state.load();
    await state.apply([customer(1, "ann"), customer(2, "bob"), order(1, 1), order(2, 1)], [], { feed: true });
    // Order 1 re-sent with another customer (a replayed history): it must leave customer 1's index.
    const restarted = new ViewState(db, plan);
    await restarted.load();
    await restarted.apply([order(1, 2), order(3, 1)], [], { feed: true });
    const renamed = await restarted.apply([customer(1, "anna")], [], { feed: true });
    expect(renamed.map((c) => c.after?.id).sort()).toEqual([2n, 3n]);
    const rows = new Map<string, unknown>();
    for await (const value of db.values(Layout.range(state.layout.section(0x52)))) {
      const { v } = state.format.unpackView(value);
      rows.set(String(v.id), v.name);
    }
    expect(Object.fromEntries(rows)).toEqual({ "1": "bob", "2": "anna", "3": "anna" });
    expect(restarted.stats.rows).toBe(3);
  });
});
