// The access decision, masks and view lineage as pure functions: plans compiled by the engine's own compiler.
import { describe, expect, it } from "vitest";
import { compileViewSql } from "../../materializer/sql/compile.ts";
import type { TableInfo } from "../../materializer/sql/catalog.ts";
import type { ViewPlan } from "../../materializer/sql/plan.ts";
import type { MaskMode, PolicyRecord } from "../../protocol/policies.ts";
import { decideTopic, decideView, type Grants, type Reader } from "./decide.ts";
import { viewLineage } from "./lineage.ts";
import { hashValue, maskObject, maskTopicValue, policyMasks } from "./masking.ts";

const customers: TableInfo = {
  topic: "crm.public.customers",
  source: "crm",
  schema: "public",
  table: "customers",
  key: ["id"],
  columns: [
    { name: "id", type: "long" },
    { name: "name", type: ["null", "string"] },
    { name: "email", type: ["null", "string"] },
    { name: "tier", type: ["null", "string"] },
  ],
};
const orders: TableInfo = {
  topic: "shop.public.orders",
  source: "shop",
  schema: "public",
  table: "orders",
  key: ["id"],
  columns: [
    { name: "id", type: "long" },
    { name: "customer_id", type: ["null", "long"] },
    { name: "status", type: ["null", "string"] },
  ],
};
const key32 = Buffer.alloc(32, 7).toString("base64");

function policy(
  topic: string,
  reader: string,
  columns: Record<string, MaskMode>,
  owner = "crm",
): PolicyRecord {
  return {
    type: "policy",
    id: `p-${topic}-${reader}`,
    topic,
    owner,
    reader,
    columns,
    key: key32,
    createdBy: owner,
    createdAt: "2026-12-07T00:00:00.000Z",
  };
}

function grants(owners: Record<string, string>, policies: PolicyRecord[]): Grants {
  return {
    ownerOf: (t) => owners[t] ?? null,
    policyFor: (t, r) => policies.find((p) => p.topic === t && p.reader === r && p.owner === owners[t]),
  };
}

const owners = { "crm.public.customers": "crm", "shop.public.orders": "shop" };
const svc = (service: string): Reader => ({ service, admin: false, internal: false });
const admin: Reader = { service: null, admin: true, internal: false };

function plan(sql: string, views: ViewPlan[] = []): ViewPlan {
  return compileViewSql(sql, { tables: [customers, orders], views });
}

describe("masks", () => {
  it("hashes with the policy's key (stable, keyed), redacts to null, drops the field", () => {
    const masks = policyMasks({ columns: { email: "hash", name: "redact", tier: "drop" }, key: key32 });
    const row = { id: 1, name: "Ada", email: "ada@x.org", tier: "gold" };
    const out = maskObject(masks, row);
    expect(out).toEqual({ id: 1, name: null, email: hashValue(Buffer.alloc(32, 7), "ada@x.org") });
    expect(out.email).toMatch(/^[0-9a-f]{64}$/);
    expect(maskObject(masks, row).email).toBe(out.email);
    expect(hashValue(Buffer.alloc(32, 8), "ada@x.org")).not.toBe(out.email);
    expect(row.email).toBe("ada@x.org");
    expect(hashValue(Buffer.alloc(32, 7), null)).toBeNull();
  });

  it("masks a change envelope's before and after, and a domain event's payload", () => {
    const masks = policyMasks({ columns: { email: "drop" }, key: key32 });
    const value = { op: "u", before: { id: 1, email: "a" }, after: { id: 1, email: "b" }, source: { x: 1 } };
    expect(maskTopicValue(masks, value)).toEqual({
      op: "u",
      before: { id: 1 },
      after: { id: 1 },
      source: { x: 1 },
    });
    expect(maskTopicValue(masks, { orderId: 3, email: "e" })).toEqual({ orderId: 3 });
    expect(maskTopicValue(masks, null)).toBeNull();
  });
});

describe("topic decisions", () => {
  const g = grants(owners, [policy("crm.public.customers", "shop", { email: "hash" })]);

  it("the admin and the owner read in clear; a granted reader under its masks; others are refused", () => {
    expect(decideTopic(admin, "crm.public.customers", g)).toMatchObject({ allowed: true, via: "admin" });
    expect(decideTopic(svc("crm"), "crm.public.customers", g)).toMatchObject({ allowed: true, via: "owner" });
    const shop = decideTopic(svc("shop"), "crm.public.customers", g);
    expect(shop.allowed && [...shop.masks.keys()]).toEqual(["email"]);
    const other = decideTopic(svc("billing"), "crm.public.customers", g);
    expect(other).toMatchObject({
      allowed: false,
      details: { policy: null, reason: "no policy", owner: "crm" },
    });
    expect(decideTopic(svc("shop"), "nobody.public.t", g)).toMatchObject({
      allowed: false,
      details: { reason: "no owner" },
    });
  });

  it("a policy of a former owner does not count", () => {
    const moved = grants({ "crm.public.customers": "other" }, [policy("crm.public.customers", "shop", {})]);
    expect(decideTopic(svc("shop"), "crm.public.customers", moved).allowed).toBe(false);
  });
});

describe("view lineage and decisions", () => {
  const join = plan(
    "CREATE VIEW order_contacts AS SELECT o.id, o.status, c.email AS contact, c.name || '!' AS shout " +
      "FROM shop.public.orders o JOIN crm.public.customers c ON o.customer_id = c.id",
  );

  it("traces columns through renames and expressions, and what constrains the rows", () => {
    const l = viewLineage(join);
    expect(l.topics).toEqual(["crm.public.customers", "shop.public.orders"]);
    expect(l.outputs.get("contact")).toEqual({
      columns: [{ topic: "crm.public.customers", column: "email" }],
      computed: false,
    });
    expect(l.outputs.get("shout")).toEqual({
      columns: [{ topic: "crm.public.customers", column: "name" }],
      computed: true,
    });
    expect(l.constraining).toContainEqual({ topic: "crm.public.customers", column: "id" });
    expect(l.constraining).toContainEqual({ topic: "shop.public.orders", column: "customer_id" });
  });

  it("serves a shown masked column masked, a computed one redacted; a dropped one refuses the view", () => {
    const hashed = grants(owners, [policy("crm.public.customers", "shop", { email: "hash", name: "hash" })]);
    const d = decideView(svc("shop"), "order_contacts", { lineage: viewLineage(join) }, hashed);
    expect(d.allowed && Object.fromEntries([...d.masks].map(([c, m]) => [c, m.mode]))).toEqual({
      contact: "hash",
      shout: "redact",
    });
    const dropped = grants(owners, [policy("crm.public.customers", "shop", { email: "drop" })]);
    expect(decideView(svc("shop"), "order_contacts", { lineage: viewLineage(join) }, dropped)).toMatchObject({
      allowed: false,
      details: { reason: "dropped column shown", column: "email", policy: "p-crm.public.customers-shop" },
    });
  });

  it("refuses a view that filters or joins on a masked column, or reads an ungranted table", () => {
    const joinKey = grants(owners, [policy("crm.public.customers", "shop", { id: "hash" })]);
    expect(decideView(svc("shop"), "order_contacts", { lineage: viewLineage(join) }, joinKey)).toMatchObject({
      allowed: false,
      details: { reason: "masked column constrains the view", column: "id" },
    });
    const filtered = plan(
      "CREATE VIEW gold AS SELECT id, name FROM crm.public.customers WHERE email LIKE '%@x.org'",
    );
    const emailHashed = grants(owners, [policy("crm.public.customers", "shop", { email: "hash" })]);
    expect(decideView(svc("shop"), "gold", { lineage: viewLineage(filtered) }, emailHashed).allowed).toBe(
      false,
    );
    // billing has no policy on orders nor customers
    expect(
      decideView(svc("billing"), "order_contacts", { lineage: viewLineage(join) }, emailHashed),
    ).toMatchObject({
      allowed: false,
      details: { reason: "no policy", view: "order_contacts" },
    });
    // crm owns customers but has no grant on orders
    expect(
      decideView(svc("crm"), "order_contacts", { lineage: viewLineage(join) }, emailHashed).allowed,
    ).toBe(false);
  });

  it("follows views over views and aggregates", () => {
    const base = plan("CREATE VIEW contacts AS SELECT id, email AS mail, tier FROM crm.public.customers");
    const over = plan("CREATE VIEW mails AS SELECT id, mail FROM contacts", [base]);
    expect(viewLineage(over).outputs.get("mail")?.columns).toEqual([
      { topic: "crm.public.customers", column: "email" },
    ]);
    const tiers = plan(
      "CREATE VIEW tiers AS SELECT tier, count(*) AS n, max(email) AS last FROM crm.public.customers GROUP BY tier",
    );
    const l = viewLineage(tiers);
    expect(l.constraining).toContainEqual({ topic: "crm.public.customers", column: "tier" });
    expect(l.outputs.get("last")).toEqual({
      columns: [{ topic: "crm.public.customers", column: "email" }],
      computed: true,
    });
    const g = grants(owners, [policy("crm.public.customers", "shop", { email: "hash" })]);
    const d = decideView(svc("shop"), "tiers", { lineage: l }, g);
    expect(d.allowed && d.masks.get("last")?.mode).toBe("redact");
  });

  it("without a lineage, any masked grant refuses the view; full grants allow it", () => {
    const full = grants(owners, [policy("crm.public.customers", "shop", {})]);
    expect(decideView(svc("shop"), "v", { topics: ["crm.public.customers"] }, full)).toEqual({
      allowed: true,
      masks: new Map(),
    });
    const masked = grants(owners, [policy("crm.public.customers", "shop", { tier: "redact" })]);
    expect(decideView(svc("shop"), "v", { topics: ["crm.public.customers"] }, masked)).toMatchObject({
      allowed: false,
      details: { reason: "masked column not traced" },
    });
  });
});
