// `_mesh_audit` on the real Kafka: the writer creates the topic on first use (never compacted, long
// retention) and appends every entry in order; the reader pages through it both ways with cursors and
// filters, and a page that reads a bounded part of the log still leads to every match.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { realClock } from "../../lib/clock.ts";
import type { AuditedRequest } from "../../lib/http/audit.ts";
import { silentLogger } from "../../lib/logger.ts";
import { AuditWriter } from "../../protocol/audit-writer.ts";
import { kafka, uniqueName } from "../../test/support/stack.ts";
import { KafkaAuditLog, type AuditEntry, type AuditQuery } from "./audit-log.ts";

const k = kafka();
const topic = uniqueName("_mesh_audit_test");
const writer = new AuditWriter({ kafka: k, topic, logger: silentLogger(), clock: realClock });
const log = new KafkaAuditLog({ kafka: k, topic, chunk: 7 });
const t0 = Date.UTC(2026, 11, 7, 9, 0, 0);

/** 40 entries, one a minute from t0: every 4th a denial, the others changes by two services. */
function entry(i: number): AuditedRequest {
  const denied = i % 4 === 3;
  const service = i % 2 === 0 ? "orders" : "billing";
  return {
    at: t0 + i * 60_000,
    server: i % 5 === 0 ? "registry" : "api",
    principal: denied && i % 8 === 3 ? null : { id: `tok${i % 3}`, service, admin: false, internal: false },
    ip: "127.0.0.1",
    method: denied ? "GET" : i % 3 === 0 ? "DELETE" : "POST",
    route: denied ? "/v1/views/:name/rows" : "/v1/sources/:name",
    resource: `res-${i % 6}`,
    action: denied ? "views.rows.read" : i % 3 === 0 ? "sources.delete" : "sources.pause",
    status: denied ? (i % 8 === 3 ? 401 : 403) : i % 7 === 0 ? 409 : 200,
    code: denied
      ? i % 8 === 3
        ? "MESH_UNAUTHORIZED"
        : "MESH_FORBIDDEN"
      : i % 7 === 0
        ? "MESH_CONFLICT"
        : null,
    scope: denied && i % 8 !== 3 ? "read" : null,
    policy: null,
    reason: denied && i % 8 === 3 ? "no token" : null,
    requestId: `req-${i}`,
  };
}
const all = Array.from({ length: 40 }, (_, i) => entry(i));

async function every(query: Omit<AuditQuery, "cursor">): Promise<{ entries: AuditEntry[]; pages: number }> {
  const entries: AuditEntry[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await log.page({ ...query, ...(cursor ? { cursor } : {}) });
    entries.push(...page.entries);
    expect(page.entries.length).toBeLessThanOrEqual(query.limit);
    cursor = page.next ?? undefined;
    pages++;
    expect(pages).toBeLessThan(100);
  } while (cursor);
  return { entries, pages };
}

beforeAll(async () => {
  // An empty log (no topic yet) is an empty page, not an error.
  expect(await log.page({ limit: 10 })).toEqual({ entries: [], next: null });
  for (const e of all) writer.write(e);
  await writer.flush();
  expect(writer.counts).toEqual({ written: 40, dropped: 0, pending: 0 });
}, 60_000);

afterAll(async () => {
  await writer.close();
  await k.admin().deleteTopics([topic]);
});

describe("the audit topic", () => {
  it("is created on first use with one partition, delete policy and a long retention", async () => {
    expect(await k.admin().partitionCounts([topic])).toEqual(new Map([[topic, 1]]));
    const config = await k.admin().topicConfig(topic, ["cleanup.policy", "retention.ms"]);
    expect(config["cleanup.policy"]).toBe("delete");
    expect(Number(config["retention.ms"])).toBeGreaterThanOrEqual(365 * 24 * 3600 * 1000);
  });

  it("pages newest first by default, and oldest first, each entry once, in order", async () => {
    const desc = await every({ limit: 6 });
    expect(desc.entries.map((e) => e.requestId)).toEqual(all.map((e) => e.requestId).reverse());
    expect(desc.pages).toBe(7);
    const asc = await every({ limit: 6, order: "asc" });
    expect(asc.entries.map((e) => e.requestId)).toEqual(all.map((e) => e.requestId));
    expect(asc.entries[0]).toMatchObject({
      id: expect.stringMatching(/^\d+$/),
      v: 1,
      at: new Date(t0).toISOString(),
      server: "registry",
      principal: "tok0",
      kind: "service",
      service: "orders",
      method: "DELETE",
      route: "/v1/sources/:name",
      resource: "res-0",
      action: "sources.delete",
      status: 409,
      code: "MESH_CONFLICT",
      outcome: "failure",
      requestId: "req-0",
    });
    // A cursor of one order is refused for the other.
    const first = await log.page({ limit: 1 });
    await expect(log.page({ limit: 1, order: "asc", cursor: first.next! })).rejects.toMatchObject({
      code: "MESH_BAD_CURSOR",
    });
  });

  it("filters by outcome, service, principal, server, action (whole or leading parts) and resource", async () => {
    const ids = (entries: AuditEntry[]): string[] => entries.map((e) => e.requestId).sort();
    const expected = (pick: (e: AuditedRequest) => boolean): string[] =>
      all
        .filter(pick)
        .map((e) => e.requestId)
        .sort();
    const denied = await every({ limit: 4, outcome: "denied" });
    expect(ids(denied.entries)).toEqual(expected((e) => e.status === 401 || e.status === 403));
    expect(denied.entries.find((e) => e.status === 401)).toMatchObject({
      principal: null,
      kind: "anonymous",
      reason: "no token",
    });
    expect(ids((await every({ limit: 100, service: "billing", outcome: "success" })).entries)).toEqual(
      expected((e) => e.principal?.service === "billing" && e.status < 400),
    );
    expect(ids((await every({ limit: 100, principal: "tok1" })).entries)).toEqual(
      expected((e) => e.principal?.id === "tok1"),
    );
    expect(ids((await every({ limit: 100, server: "registry" })).entries)).toEqual(
      expected((e) => e.server === "registry"),
    );
    expect(ids((await every({ limit: 100, action: "sources" })).entries)).toEqual(
      expected((e) => e.action.startsWith("sources.")),
    );
    expect(ids((await every({ limit: 100, action: "sources.delete" })).entries)).toEqual(
      expected((e) => e.action === "sources.delete"),
    );
    // Leading parts are whole parts: "source" is not "sources".
    expect((await every({ limit: 100, action: "source" })).entries).toEqual([]);
    expect(ids((await every({ limit: 100, resource: "res-2" })).entries)).toEqual(
      expected((e) => e.resource === "res-2"),
    );
  });

  it("filters by time, since inclusive and until exclusive, both ways", async () => {
    const since = t0 + 10 * 60_000;
    const until = t0 + 20 * 60_000;
    const want = all.filter((e) => e.at >= since && e.at < until).map((e) => e.requestId);
    expect(want).toHaveLength(10);
    const asc = await every({ limit: 3, order: "asc", since, until });
    expect(asc.entries.map((e) => e.requestId)).toEqual(want);
    const desc = await every({ limit: 3, since, until });
    expect(desc.entries.map((e) => e.requestId)).toEqual([...want].reverse());
    // Times before 1970 (negative: special positions to Kafka) are before every record.
    const ancient = Date.parse("0001-01-01T00:00:00Z");
    expect((await every({ limit: 3, until: ancient })).entries).toEqual([]);
    expect((await every({ limit: 3, order: "asc", until: ancient })).entries).toEqual([]);
    expect((await every({ limit: 100, since: ancient })).entries).toHaveLength(40);
  });

  it("reads a bounded part of the log per page and still reaches every match", async () => {
    const bounded = new KafkaAuditLog({ kafka: k, topic, scanLimit: 5, chunk: 3 });
    const seen: string[] = [];
    let cursor: string | undefined;
    let short = 0;
    do {
      const page = await bounded.page({ limit: 10, outcome: "denied", ...(cursor ? { cursor } : {}) });
      if (page.entries.length < 10 && page.next) short++;
      seen.push(...page.entries.map((e) => e.requestId));
      cursor = page.next ?? undefined;
    } while (cursor);
    expect(short).toBeGreaterThan(0);
    expect(seen).toEqual(
      all
        .filter((e) => e.status === 401 || e.status === 403)
        .map((e) => e.requestId)
        .reverse(),
    );
  });
});
