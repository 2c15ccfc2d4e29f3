// The catalog as ownership and grants (table, marker and domain-event topics; a former owner's policy), and
// Access's view decisions with plans compiled from given tables.
import { describe, expect, it } from "vitest";
import type { TableInfo } from "../../materializer/sql/catalog.ts";
import { Catalog, MemoryCatalogLog } from "../catalog/catalog.ts";
import { sourceRecord, viewRecord } from "../catalog/records-fixture.ts";
import { Access, catalogGrants } from "./access.ts";

const customers: TableInfo = {
  topic: "crm.public.customers",
  source: "crm",
  schema: "public",
  table: "customers",
  key: ["id"],
  columns: [
    { name: "id", type: "long" },
    { name: "email", type: ["null", "string"] },
  ],
};
const shop = { id: "t1", service: "shop", admin: false, internal: false, scopes: ["read"] };
const key = Buffer.alloc(32, 1).toString("base64");

async function catalog(): Promise<Catalog> {
  const c = new Catalog(new MemoryCatalogLog());
  await c.start();
  await c.putSource(sourceRecord("crm", "crm", ["public.customers"]));
  await c.putSource({
    ...sourceRecord("shopdb", "shop", ["public.outbox"]),
    tables: [],
    tableIds: [],
    outbox: {
      tables: ["public.outbox"],
      tableIds: ["x/outbox"],
      messagePrefix: null,
      untyped: "park",
    },
  });
  return c;
}

describe("catalogGrants", () => {
  it("names the owner of table, marker and domain-event topics, and only current owners' policies count", async () => {
    const c = await catalog();
    const g = catalogGrants(c);
    expect(g.ownerOf("crm.public.customers")).toBe("crm");
    expect(g.ownerOf("crm.transactions")).toBe("crm");
    expect(g.ownerOf("crm.public.other")).toBeNull();
    expect(g.ownerOf("shop.Order")).toBe("shop"); // fed by the outbox of a source of shop
    expect(g.ownerOf("nobody.Order")).toBeNull();
    expect(g.ownerOf("_mesh_catalog")).toBeNull();
    await c.putPolicy({
      type: "policy",
      id: "p1",
      topic: "shop.Order",
      owner: "shop",
      reader: "crm",
      columns: { email: "hash" },
      key,
      createdBy: "shop",
      createdAt: "",
    });
    expect(g.policyFor("shop.Order", "crm")?.id).toBe("p1");
    await c.deleteSource("shopdb");
    expect(g.policyFor("shop.Order", "crm")).toBeUndefined();
    await c.stop();
  });
});

describe("Access", () => {
  it("decides views from their plans, and without a plan refuses readers who are not the admin", async () => {
    const c = await catalog();
    await c.putPolicy({
      type: "policy",
      id: "p2",
      topic: "crm.public.customers",
      owner: "crm",
      reader: "shop",
      columns: { email: "hash" },
      key,
      createdBy: "crm",
      createdAt: "",
    });
    const view = viewRecord("contacts", "CREATE VIEW contacts AS SELECT id, email FROM crm.public.customers");
    await c.putView(view);
    const access = new Access(c, () => Promise.resolve([customers]));
    const grant = await access.requireView(shop, view);
    const row = grant.row({ id: "1", email: "a@x.org", surprise: "clear?" });
    expect(row.email).toMatch(/^[0-9a-f]{64}$/);
    expect(row.surprise).toBeNull(); // a column the trace does not know is never served in clear
    expect(
      grant.change({ op: "update", key: ["1"], before: { id: "1", email: "a" }, after: null }),
    ).toMatchObject({
      before: { email: expect.stringMatching(/^[0-9a-f]{64}$/) },
      after: null,
    });
    const blind = new Access(c, null);
    await expect(blind.requireView(shop, view)).rejects.toMatchObject({ code: "MESH_VIEW_NOT_READY" });
    await expect(blind.requireView({ ...shop, admin: true }, view)).resolves.toMatchObject({ masked: false });
    await c.stop();
  });
});
