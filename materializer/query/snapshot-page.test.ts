import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../engine/reader.ts";
import { ViewState, type TableChange } from "../engine/view-state.ts";
import { compileViewSql } from "../sql/compile.ts";
import { shopCatalog } from "../test-support/shop-catalog.ts";
import { queryRows } from "./rows.ts";

const TOPIC = "shop.public.orders";
const order = (id: bigint, status: string): TableChange => ({
  op: "upsert",
  topic: TOPIC,
  partition: 0,
  key: [id],
  row: { id, customer_id: 1n, status, total: "1.00" },
});

// A page read through an index reads index entries, then the rows they point at. A transaction applied between
// the two reads must not make the page show a state the source never had.
describe("an index page reads one snapshot", () => {
  let dir: string;
  let db: Db;
  let state: ViewState;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mesh-snapshot-page-"));
    db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
    await db.open();
    state = new ViewState(
      db,
      compileViewSql("CREATE VIEW o AS SELECT * FROM orders; CREATE INDEX ON o (status)", shopCatalog()),
    );
    await state.load();
    await state.apply([order(1n, "paid"), order(2n, "new")]);
  });
  afterAll(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("a transaction swapping which order is paid, applied mid-page, is not half-visible", async () => {
    let swapped = false;
    // Applies one source transaction (the swap) right after the index entries were read.
    const racing = new Proxy(db, {
      get(target, prop, receiver) {
        if (prop === "getMany")
          return async (...args: Parameters<Db["getMany"]>) => {
            if (!swapped) {
              swapped = true;
              await state.apply([order(1n, "new"), order(2n, "paid")]);
            }
            return target.getMany(...args);
          };
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const page = await queryRows(racing, state, { filters: [{ column: "status", op: "eq", value: "paid" }] });
    expect(swapped).toBe(true);
    // Before the swap the paid order was 1; the page must show that state, not an empty mix of both.
    expect(page.rows.map((r) => r.row.id)).toEqual([1n]);
    const after = await queryRows(db, state, { filters: [{ column: "status", op: "eq", value: "paid" }] });
    expect(after.rows.map((r) => r.row.id)).toEqual([2n]);
  });
});
