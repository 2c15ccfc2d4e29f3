import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../engine/reader.ts";
import { ViewState, type TableChange } from "../engine/view-state.ts";
import { compileViewSql } from "../sql/compile.ts";
import { shopCatalog } from "../test-support/shop-catalog.ts";
import { getRow, queryRows } from "./rows.ts";

describe("view queries", () => {
  let dir: string;
  let db: Db;
  let state: ViewState;
  const statuses = ["new", "paid", "shipped"];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mesh-rows-"));
    db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
    await db.open();
    state = new ViewState(
      db,
      compileViewSql("CREATE VIEW o AS SELECT * FROM orders; CREATE INDEX ON o (status)", shopCatalog()),
    );
    await state.load();
    const changes: TableChange[] = [];
    for (let id = 1; id <= 500; id++) {
      const row = {
        id: BigInt(id),
        customer_id: id % 7 === 0 ? null : BigInt(id % 13),
        status: statuses[id % 3]!,
        total: `${id % 50}.${String(id % 100).padStart(2, "0")}`,
      };
      changes.push({ op: "upsert", topic: "shop.public.orders", partition: 0, key: [BigInt(id)], row });
    }
    await state.apply(changes);
  });
  afterAll(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("gets a row by key (JSON forms accepted) and null for a missing key", async () => {
    expect((await getRow(db, state, ["42"]))?.row).toMatchObject({ id: 42n, status: "new" });
    expect(await getRow(db, state, [42n])).toEqual(await getRow(db, state, [42]));
    expect(await getRow(db, state, [9999])).toBeNull();
    await expect(getRow(db, state, [1, 2])).rejects.toThrow(/1-part key/);
  });

  it("pages through key order with cursors, numbers ordered by value (2 < 10 < 100)", async () => {
    const ids: bigint[] = [];
    let cursor: string | undefined;
    do {
      const page = await queryRows(db, state, { limit: 64, ...(cursor ? { cursor } : {}) });
      ids.push(...page.rows.map((r) => r.row.id as bigint));
      cursor = page.next ?? undefined;
    } while (cursor);
    expect(ids).toEqual(Array.from({ length: 500 }, (_, i) => BigInt(i + 1)));
    const desc = await queryRows(db, state, { limit: 3, desc: true });
    expect(desc.rows.map((r) => r.row.id)).toEqual([500n, 499n, 498n]);
  });

  it("uses key ranges, index ranges and residual filters, with exact decimal comparison", async () => {
    const range = await queryRows(db, state, {
      filters: [
        { column: "id", op: "gt", value: 10 },
        { column: "id", op: "lte", value: "20" },
      ],
      limit: 100,
    });
    expect(range.rows.map((r) => r.row.id)).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(i + 11)));
    const paid = await queryRows(db, state, {
      filters: [
        { column: "status", op: "eq", value: "paid" },
        { column: "total", op: "gte", value: "49.5" },
      ],
      limit: 1000,
    });
    expect(paid.rows.length).toBeGreaterThan(0);
    expect(paid.rows.every((r) => r.row.status === "paid" && Number(r.row.total) >= 49.5)).toBe(true);
    const byStatus = await queryRows(db, state, { order: "status", limit: 1000 });
    const s = byStatus.rows.map((r) => r.row.status as string);
    expect(s).toEqual([...s].sort());
    const nulls = await queryRows(db, state, {
      filters: [{ column: "customer_id", op: "eq", value: null }],
      limit: 1000,
    });
    expect(nulls.rows.length).toBe(71);
    const some = await queryRows(db, state, { filters: [{ column: "id", op: "in", value: ["3", 4, 999] }] });
    expect(some.rows.map((r) => r.row.id)).toEqual([3n, 4n]);
  });

  it("answers a filter on an indexed column from the index: its path, and a scan of matching entries only", async () => {
    const paidCount = Array.from({ length: 500 }, (_, i) => i + 1).filter((id) => id % 3 === 1).length;
    // A scan budget below the view's 500 rows but above the 167 paid ones: only an index scan finishes.
    const paid = await queryRows(
      db,
      state,
      { filters: [{ column: "status", op: "eq", value: "paid" }], limit: 1000 },
      200,
    );
    expect(paid.path).toBe("x0");
    expect(paid.rows.length).toBe(paidCount);
    expect(paid.next).toBeNull();
    expect(paid.rows.every((r) => r.row.status === "paid")).toBe(true);
    // The same budget over the key path (total has no index) stops early with a cursor.
    const unindexed = await queryRows(
      db,
      state,
      { filters: [{ column: "total", op: "gte", value: "0" }], limit: 1000 },
      200,
    );
    expect(unindexed.path).toBe("k");
    expect(unindexed.next).not.toBeNull();
  });

  it("refuses ordering by an unindexed column and unknown columns", async () => {
    await expect(queryRows(db, state, { order: "total" })).rejects.toThrow(/needs an index/);
    await expect(queryRows(db, state, { filters: [{ column: "nope", op: "eq", value: 1 }] })).rejects.toThrow(
      /no column nope/,
    );
  });

  it("bounds a scan and returns a cursor to continue", async () => {
    const page = await queryRows(
      db,
      state,
      { filters: [{ column: "total", op: "eq", value: "0.00" }], limit: 10 },
      100,
    );
    expect(page.next).not.toBeNull();
    const rest = await queryRows(
      db,
      state,
      { filters: [{ column: "total", op: "eq", value: "0.00" }], limit: 10, cursor: page.next! },
      1000,
    );
    expect([...page.rows, ...rest.rows].every((r) => r.row.total === "0.00")).toBe(true);
  });
});
