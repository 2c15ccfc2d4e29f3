// observeResnapshots: the API learns which re-snapshot tables are still to do from the connector's saves.
import { describe, expect, it } from "vitest";
import { memoryOffsetStore } from "../../connectors/core/offset-store.ts";
import { observeResnapshots } from "./connector-runtime.ts";

describe("observeResnapshots", () => {
  it("reports pending tables per source from incremental-state saves, and passes everything through", async () => {
    const seen: [string, string[]][] = [];
    const inner = memoryOffsetStore();
    const store = observeResnapshots(inner, (source, tables) => seen.push([source, tables]));
    await store.save("orders-db/postgres", { snapshotDone: true });
    await store.save("orders-db/postgres-incremental", { tables: ["public.a", "public.b"], lastKey: null });
    await store.save("orders-db/postgres-incremental", { tables: ["public.b"], lastKey: ["7"] });
    await store.save("orders-db/postgres-incremental", { tables: [], lastKey: null });
    await store.save("shop/mysql-incremental", null);
    expect(seen).toEqual([
      ["orders-db", ["public.a", "public.b"]],
      ["orders-db", ["public.b"]],
      ["orders-db", []],
      ["shop", []],
    ]);
    expect(await store.load("orders-db/postgres")).toEqual({ snapshotDone: true });
    expect(await inner.load("orders-db/postgres-incremental")).toEqual({ tables: [], lastKey: null });
  });
});
