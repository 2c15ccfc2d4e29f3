// What Kafka READ access the catalog implies: own topics, and grants in full only.
import { describe, expect, it } from "vitest";
import { emptyState, type SourceRecord } from "../../protocol/catalog.ts";
import type { PolicyRecord } from "../../protocol/policies.ts";
import type { Grants } from "./decide.ts";
import { kafkaReadGrants, kafkaUser, serviceOfKafkaUser } from "./kafka-grants.ts";

function source(name: string, owner: string, tables: string[]): SourceRecord {
  return {
    type: "source",
    id: name,
    name,
    owner,
    kind: "postgres",
    url: "postgres://x@h/db",
    tables,
    tableIds: tables,
    snapshot: "initial",
    partitions: 3,
    paused: false,
    createdAt: "",
    updatedAt: "",
  };
}

function policy(id: string, topic: string, owner: string, reader: string, columns = {}): PolicyRecord {
  return { type: "policy", id, topic, owner, reader, columns, key: "", createdBy: owner, createdAt: "" };
}

describe("kafkaReadGrants", () => {
  it("gives owners their topics and readers exactly their grants in full", () => {
    const state = emptyState();
    state.sources.set("crm", source("crm", "crm", ["public.customers", "public.notes"]));
    state.sources.set("shop", source("shop", "shop", ["public.orders"]));
    state.policies.set("a", policy("a", "crm.public.customers", "crm", "shop"));
    state.policies.set("b", policy("b", "crm.public.notes", "crm", "shop", { body: "hash" }));
    state.policies.set("c", policy("c", "crm.public.notes", "someone-else", "billing"));
    const owners: Record<string, string> = {
      "crm.public.customers": "crm",
      "crm.public.notes": "crm",
      "shop.public.orders": "shop",
    };
    const grants: Grants = { ownerOf: (t) => owners[t] ?? null, policyFor: () => undefined };
    const out = kafkaReadGrants(state, grants);
    expect(out.get("crm")).toEqual(["crm.public.customers", "crm.public.notes", "crm.transactions"]);
    // the masked grant on notes gives no ACL; shop's own topics and the full grant on customers do
    expect(out.get("shop")).toEqual(["crm.public.customers", "shop.public.orders", "shop.transactions"]);
    // a grant by a former owner counts for nothing
    expect(out.has("billing")).toBe(false);
  });

  it("names service principals so they never collide with a role's", () => {
    expect(kafkaUser("shop")).toBe("svc-shop");
    expect(serviceOfKafkaUser("svc-shop")).toBe("shop");
    expect(serviceOfKafkaUser("admin")).toBeNull();
  });
});
