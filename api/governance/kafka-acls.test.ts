// The policy → ACL reconciliation over a catalog, against an in-memory account of users and ACLs (the real
// broker's side is api/e2e/kafka-acls.e2e.test.ts).
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../lib/logger.ts";
import type { PolicyRecord } from "../../protocol/policies.ts";
import type { TokenRecord } from "../../protocol/tokens.ts";
import { Catalog, MemoryCatalogLog } from "../catalog/catalog.ts";
import { sourceRecord } from "../catalog/records-fixture.ts";
import { catalogGrants } from "./access.ts";
import { KafkaAclReconciler, type KafkaAclAccess } from "./kafka-acls.ts";

class MemoryAccess implements KafkaAclAccess {
  readonly users = new Map<string, string>();
  readonly reads = new Map<string, Set<string>>();
  calls = 0;
  ensureUser(user: string, password: string): Promise<void> {
    this.users.set(user, password);
    return Promise.resolve();
  }
  deleteUser(user: string): Promise<void> {
    this.users.delete(user);
    this.reads.delete(user);
    return Promise.resolve();
  }
  grantTopicRead(user: string, topic: string): Promise<void> {
    this.calls++;
    this.reads.set(user, new Set([...(this.reads.get(user) ?? []), topic]));
    return Promise.resolve();
  }
  revokeTopicRead(user: string, topic: string): Promise<void> {
    this.calls++;
    this.reads.get(user)?.delete(topic);
    return Promise.resolve();
  }
  aclsOf(
    user: string,
  ): Promise<{ resourceType: string; resourceName: string; patternType: string; operation: string }[]> {
    return Promise.resolve(
      [...(this.reads.get(user) ?? [])].map((t) => ({
        resourceType: "TOPIC",
        resourceName: t,
        patternType: "LITERAL",
        operation: "READ",
      })),
    );
  }
  topics(user: string): string[] {
    return [...(this.reads.get(user) ?? [])].sort();
  }
}

function token(id: string, service: string, revokedAt: string | null = null): TokenRecord {
  return {
    type: "token",
    id,
    service,
    scopes: ["read"],
    secretSha256: "0".repeat(64),
    createdAt: "2026-12-07T00:00:00.000Z",
    expiresAt: null,
    revokedAt,
  };
}

function policy(id: string, topic: string, reader: string, columns = {}): PolicyRecord {
  return {
    type: "policy",
    id,
    topic,
    owner: "crm",
    reader,
    columns,
    key: "",
    createdBy: "crm",
    createdAt: "",
  };
}

describe("KafkaAclReconciler", () => {
  it("grants live services their own topics and full grants, revokes what a change takes back", async () => {
    const catalog = new Catalog(new MemoryCatalogLog());
    await catalog.start();
    await catalog.putSource(sourceRecord("crm", "crm", ["public.customers"]));
    await catalog.putToken(token("a".repeat(16), "crm"));
    await catalog.putToken(token("b".repeat(16), "shop"));
    const access = new MemoryAccess();
    // ACLs left by an earlier run: read back and corrected.
    await access.grantTopicRead("svc-shop", "stale.topic");
    const reconciler = new KafkaAclReconciler({
      catalog,
      grants: catalogGrants(catalog),
      access,
      logger: silentLogger(),
    });
    await reconciler.start();
    try {
      expect(access.topics("svc-crm")).toEqual(["crm.public.customers", "crm.transactions"]);
      expect(access.topics("svc-shop")).toEqual([]);
      await catalog.putPolicy(policy("p1", "crm.public.customers", "shop", { email: "hash" }));
      await reconciler.settled();
      expect(access.topics("svc-shop")).toEqual([]); // masked: no ACL on the raw topic
      await catalog.deletePolicy("p1");
      await catalog.putPolicy(policy("p2", "crm.public.customers", "shop"));
      await reconciler.settled();
      expect(access.topics("svc-shop")).toEqual(["crm.public.customers"]);
      const before = access.calls;
      await reconciler.settled();
      expect(access.calls).toBe(before); // nothing to do: nothing done
      await catalog.deletePolicy("p2");
      await reconciler.settled();
      expect(access.topics("svc-shop")).toEqual([]);
      // The service's last token revoked: its user and ACLs go.
      await access.ensureUser("svc-crm", "pw");
      await catalog.putToken(token("a".repeat(16), "crm", "2026-12-07T01:00:00.000Z"));
      await reconciler.settled();
      expect(access.users.has("svc-crm")).toBe(false);
      expect(access.topics("svc-crm")).toEqual([]);
    } finally {
      reconciler.stop();
      await catalog.stop();
    }
  });
});
