import { describe, expect, it } from "vitest";
import { Catalog, MemoryCatalogLog } from "./catalog.ts";
import { sourceRecord, viewRecord } from "./records-fixture.ts";
import { parseSourceUrl, publicUrl, qualifyTable, tableIdentity } from "./table-identity.ts";

describe("catalog (over an in-memory log)", () => {
  it("claims tables, refuses another owner's table with the owner named, releases on delete", async () => {
    const catalog = new Catalog(new MemoryCatalogLog());
    await catalog.start();
    await catalog.putSource(sourceRecord("orders-db", "orders", ["public.orders"], "shop"));
    const thief = sourceRecord("thief", "billing", ["public.orders"], "shop");
    await expect(catalog.putSource(thief)).rejects.toMatchObject({
      code: "MESH_TABLE_OWNED",
      details: { owner: "orders", source: "orders-db", table: "public.orders" },
    });
    // Same table name in another database is another table.
    await catalog.putSource(sourceRecord("billing-db", "billing", ["public.orders"], "billing"));
    await catalog.deleteSource("orders-db");
    await catalog.putSource(thief);
    expect(catalog.tables().get("postgres://127.0.0.1:5432/shop/public.orders")).toMatchObject({
      owner: "billing",
    });
  });

  it("refuses a second source or view of the same name, accepts an update of the same registration", async () => {
    const catalog = new Catalog(new MemoryCatalogLog());
    await catalog.start();
    const rec = sourceRecord("a", "svc", ["public.t"]);
    await catalog.putSource(rec);
    await expect(catalog.putSource(sourceRecord("a", "svc", ["public.u"]))).rejects.toMatchObject({
      code: "MESH_CONFLICT",
    });
    await catalog.putSource({ ...rec, paused: true });
    expect(catalog.source("a")?.paused).toBe(true);
    await catalog.putView(viewRecord("v"));
    await expect(catalog.putView(viewRecord("v"))).rejects.toMatchObject({ code: "MESH_CONFLICT" });
  });

  it("two processes agree; a race for one table is settled by log order and the loser leaves no trace", async () => {
    const log = new MemoryCatalogLog();
    const a = new Catalog(log);
    const b = new Catalog(log.share());
    await a.start();
    await b.start();
    const results = await Promise.allSettled([
      a.putSource(sourceRecord("first", "svc-a", ["public.t"], "db")),
      b.putSource(sourceRecord("second", "svc-b", ["public.t"], "db")),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected"]);
    await new Promise((r) => setImmediate(r));
    expect(a.sources().map((s) => s.name)).toEqual(["first"]);
    expect(b.sources().map((s) => s.name)).toEqual(["first"]);
    // Compaction keeps the last record per key: the loser's key ends as a tombstone.
    const last = new Map(log.records.map((r) => [r.key, r.value]));
    expect(last.get("source/second")).toBeNull();
    // A fresh process replaying the compacted log reaches the same state.
    const compacted = new MemoryCatalogLog();
    for (const [key, value] of last) await compacted.append(key, value);
    const c = new Catalog(compacted);
    await c.start();
    expect(c.sources().map((s) => s.name)).toEqual(["first"]);
  });

  it("notifies listeners of changes written by any process", async () => {
    const log = new MemoryCatalogLog();
    const a = new Catalog(log);
    const b = new Catalog(log.share());
    await a.start();
    await b.start();
    const seen: string[] = [];
    b.onChange((c) => seen.push(`${c.type}:${c.name}:${c.after ? "put" : "del"}`));
    await a.putView(viewRecord("v1"));
    await a.deleteView("v1");
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(["view:v1:put", "view:v1:del"]);
  });
});

describe("table identity", () => {
  it("ignores credentials and aliases, qualifies names, and hides passwords", () => {
    const a = parseSourceUrl("postgres", "postgres://u:p@LOCALHOST/shop");
    const b = parseSourceUrl("postgres", "postgresql://other:x@127.0.0.1:5432/shop");
    expect(tableIdentity("postgres", a, qualifyTable("postgres", a.database, "orders"))).toBe(
      tableIdentity("postgres", b, "public.orders"),
    );
    const m = parseSourceUrl("mysql", "mysql://u:p@db:3307/shop");
    expect(tableIdentity("mysql", m, qualifyTable("mysql", m.database, "customers"))).toBe(
      "mysql://db:3307/shop.customers",
    );
    expect(() => parseSourceUrl("postgres", "mysql://x/y")).toThrow(/postgres:\/\//);
    expect(() => parseSourceUrl("postgres", "postgres://h:5432/")).toThrow(/no database/);
    expect(() => qualifyTable("postgres", "d", "a.b.c")).toThrow(/schema/);
    expect(publicUrl("postgres://u:secret@h:5432/db?password=x")).not.toContain("secret");
    expect(publicUrl("postgres://u:secret@h:5432/db?password=x")).not.toContain("=x");
  });
});
