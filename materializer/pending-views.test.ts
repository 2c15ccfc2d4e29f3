import { describe, expect, it } from "vitest";
import { MeshError } from "../lib/errors.ts";
import { silentLogger } from "../lib/logger.ts";
import { declaredTables, isWaitingRecord, PendingViews, waitingFor } from "./pending-views.ts";
import type { TableInfo } from "./sql/catalog.ts";

const table = (topic: string): TableInfo => {
  const [source = "", schema = "", name = ""] = topic.split(".");
  return {
    topic,
    source,
    schema,
    table: name,
    key: ["id"],
    columns: [{ name: "id", type: ["null", "long"] }],
  };
};

describe("declaredTables", () => {
  it("names the view and every FROM and JOIN table as written", () => {
    expect(
      declaredTables(
        `CREATE VIEW v AS SELECT o.id FROM shop.public.orders o LEFT JOIN "my-src".public.customers c ON o.cid = c.id JOIN items i ON i.x = o.id; CREATE INDEX ON v (id)`,
      ),
    ).toEqual({ view: "v", tables: ["shop.public.orders", "my-src.public.customers", "items"] });
    expect(declaredTables("CREATE VIEW w AS SELECT * FROM public.orders")).toEqual({
      view: "w",
      tables: ["public.orders"],
    });
  });

  it("leaves SQL that does not parse to the compiler", () => {
    expect(declaredTables("CREATE VIEW AS nonsense (")).toEqual({ view: null, tables: [] });
  });
});

describe("waitingFor", () => {
  const registered = [table("shop.public.customers")];
  const expected = ["shop.public.customers", "shop.public.orders", "crm.sales.orders"];

  it("names the registered sources' tables the registry has no schema for", () => {
    const sql = "CREATE VIEW v AS SELECT * FROM public.orders o JOIN customers c ON o.cid = c.id";
    expect(waitingFor(sql, registered, expected)).toEqual(["shop.public.orders"]);
    expect(waitingFor(sql, [...registered, table("shop.public.orders")], expected)).toEqual([]);
  });

  it("leaves tables no source captures to the compiler, which refuses them", () => {
    expect(waitingFor("CREATE VIEW v AS SELECT * FROM nowhere", registered, expected)).toEqual([]);
    expect(waitingFor("CREATE VIEW v AS SELECT * FROM public.orders", registered, [])).toEqual([]);
  });

  it("refuses a name several registered sources' tables answer to", () => {
    expect(() => waitingFor("CREATE VIEW v AS SELECT * FROM orders", registered, expected)).toThrow(
      expect.objectContaining({
        code: "MESH_BAD_SQL",
        details: expect.objectContaining({ table: "orders" }),
      }),
    );
    expect(waitingFor("CREATE VIEW v AS SELECT * FROM crm.sales.orders", registered, expected)).toEqual([
      "crm.sales.orders",
    ]);
  });

  it("lets a bare name of an existing view through (views over views)", () => {
    const expectOrders = ["shop.public.order_details"];
    const sql = "CREATE VIEW v AS SELECT * FROM order_details";
    expect(waitingFor(sql, [], expectOrders)).toEqual(["shop.public.order_details"]);
    expect(waitingFor(sql, [], expectOrders, new Set(["order_details"]))).toEqual([]);
  });
});

describe("PendingViews", () => {
  const record = {
    name: "v",
    sql: "CREATE VIEW v AS SELECT * FROM shop.public.orders",
    waiting: { expected: [] },
  };

  it("is waiting with what it waits for, then promotes once the registry holds every table", async () => {
    let tables: TableInfo[] = [];
    const promoted: string[] = [];
    const pending = new PendingViews({
      tables: () => Promise.resolve(tables),
      promote: (r) => {
        promoted.push(r.name);
        return Promise.resolve();
      },
      logger: silentLogger(),
      intervalMs: 60_000,
    });
    expect(isWaitingRecord(record)).toBe(true);
    pending.add(record, ["shop.public.orders"]);
    expect(pending.info("v")?.status).toMatchObject({
      state: "waiting",
      waitingFor: { schemas: ["shop.public.orders"], topics: [] },
    });
    await pending.check();
    expect(promoted).toEqual([]);
    tables = [table("shop.public.orders")];
    await pending.check();
    expect(promoted).toEqual(["v"]);
    expect(pending.has("v")).toBe(false);
    await pending.stop();
  });

  it("fails the view with the compiler's refusal, and retries registry trouble", async () => {
    let failure = new MeshError("MESH_REGISTRY_UNAVAILABLE", "registry down");
    const pending = new PendingViews({
      tables: () => Promise.resolve([table("shop.public.orders")]),
      promote: () => Promise.reject(failure),
      logger: silentLogger(),
      intervalMs: 60_000,
    });
    pending.add(record, ["shop.public.orders"]);
    await pending.check();
    expect(pending.info("v")?.status.state).toBe("waiting");
    failure = new MeshError("MESH_BAD_SQL", "no column total");
    await pending.check();
    expect(pending.info("v")?.status).toMatchObject({ state: "failed", error: { code: "MESH_BAD_SQL" } });
    await pending.stop();
  });
});
