// `_mesh_audit` records (outcome, who, round trip, filters) and the writer's behaviour when Kafka refuses:
// entries kept in order and sent again, the oldest dropped beyond the bound, write() never throwing. The
// writer against the real Kafka: api/audit/audit-log.kafka.test.ts.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../lib/clock.ts";
import type { AuditedRequest } from "../lib/http/audit.ts";
import type { OutMessage } from "../lib/kafka/messages.ts";
import { silentLogger } from "../lib/logger.ts";
import { auditRecord, decodeAuditRecord, encodeAuditRecord, matchesAudit, outcomeOf } from "./audit.ts";
import { AuditWriter } from "./audit-writer.ts";

const base: AuditedRequest = {
  at: Date.UTC(2026, 11, 7, 10),
  server: "api",
  principal: { id: "admin", service: null, admin: true, internal: false },
  ip: "127.0.0.1",
  method: "POST",
  route: "/v1/tokens",
  resource: "0123456789abcdef",
  action: "tokens.create",
  status: 201,
  code: null,
  scope: null,
  policy: null,
  reason: null,
  requestId: "r1",
};

describe("audit records", () => {
  it("say who and the outcome, and round-trip as JSON", () => {
    expect([200, 201, 204, 400, 404, 409, 500, 401, 403].map(outcomeOf)).toEqual([
      "success",
      "success",
      "success",
      "failure",
      "failure",
      "failure",
      "failure",
      "denied",
      "denied",
    ]);
    const record = auditRecord(base);
    expect(record).toMatchObject({ v: 1, at: "2026-12-07T10:00:00.000Z", principal: "admin", kind: "admin" });
    expect(auditRecord({ ...base, principal: null }).kind).toBe("anonymous");
    expect(
      auditRecord({ ...base, principal: { id: "internal:api", service: null, admin: false, internal: true } })
        .kind,
    ).toBe("internal");
    expect(decodeAuditRecord(encodeAuditRecord(record))).toEqual(record);
    expect(decodeAuditRecord(Buffer.from("not json"))).toBeNull();
    expect(decodeAuditRecord(Buffer.from('{"at":1}'))).toBeNull();
    expect(decodeAuditRecord(null)).toBeNull();
  });

  it("match filters on every field given", () => {
    const r = auditRecord(base);
    expect(matchesAudit(r, {})).toBe(true);
    expect(matchesAudit(r, { action: "tokens" })).toBe(true);
    expect(matchesAudit(r, { action: "token" })).toBe(false);
    expect(matchesAudit(r, { outcome: "success", server: "api", principal: "admin" })).toBe(true);
    expect(matchesAudit(r, { service: "orders" })).toBe(false);
    expect(matchesAudit(r, { since: base.at, until: base.at + 1 })).toBe(true);
    expect(matchesAudit(r, { until: base.at })).toBe(false);
  });
});

/** A Kafka that refuses sends while `down`, and keeps what it took. */
function flakyKafka() {
  const state = { down: true, sent: [] as OutMessage[], ensured: 0 };
  return {
    state,
    admin: () => ({ ensureTopics: () => Promise.resolve(void state.ensured++) }),
    producer: () => ({
      send: (messages: OutMessage[]): Promise<void> => {
        if (state.down) return Promise.reject(new Error("broker unreachable"));
        state.sent.push(...messages);
        return Promise.resolve();
      },
    }),
  };
}

describe("AuditWriter", () => {
  it("keeps entries while Kafka refuses them, drops the oldest beyond the bound, and sends the rest in order", async () => {
    const kafka = flakyKafka();
    const clock = new ManualClock();
    const writer = new AuditWriter({
      kafka,
      topic: "t",
      logger: silentLogger(),
      clock,
      maxPending: 3,
      retryMs: 500,
    });
    for (let i = 0; i < 5; i++) writer.write({ ...base, requestId: `r${i}` });
    expect(await clock.nextSleep()).toBe(500);
    expect(writer.counts).toMatchObject({ written: 0, dropped: 2, pending: 3 });
    kafka.state.down = false;
    clock.advance(500);
    await writer.flush();
    expect(writer.counts).toEqual({ written: 3, dropped: 2, pending: 0 });
    expect(kafka.state.sent.map((m) => decodeAuditRecord(m.value as Buffer)?.requestId)).toEqual([
      "r2",
      "r3",
      "r4",
    ]);
    expect(
      kafka.state.sent.every((m) => m.partition === 0 && m.key === null && m.timestamp === base.at),
    ).toBe(true);
    await writer.close();
    writer.write(base);
    expect(writer.counts.dropped).toBe(3);
  });

  it("gives up at close after its deadline, counting what it could not send", async () => {
    const kafka = flakyKafka();
    const clock = new ManualClock();
    const writer = new AuditWriter({ kafka, topic: "t", logger: silentLogger(), clock, retryMs: 100 });
    writer.write(base);
    expect(await clock.nextSleep()).toBe(100);
    const closing = writer.close(1000);
    expect(await clock.nextSleep()).toBe(1000);
    clock.advance(1000);
    await closing;
    expect(writer.counts).toEqual({ written: 0, dropped: 1, pending: 0 });
  });
});
