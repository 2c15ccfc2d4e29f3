// Route tests for /v1/events and the outbox of /v1/sources through inject(), on the real EventTopics over an
// in-memory registry: declaring event types (owner only, one format per topic, schemas checked), the topic
// schema over every type, ownership of topic names between services (409), a source's outbox shown with the
// topics it feeds, parked events listed.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { FastifyInstance } from "fastify";
import type { RegisteredText, SchemaReference, SubjectSchema } from "../../connectors/core/outbox-schemas.ts";
import type { EventRegistry } from "../events/declare.ts";
import { EventTopics } from "../events/event-topics.ts";
import { MemoryParkedView } from "../events/parked-view.ts";
import { fakeContext, type FakeContext } from "../testing/fakes.ts";
import { buildApi } from "./server.ts";
import { testAuthenticator, withToken } from "../../test/support/auth.ts";

/** Subjects and ids as a registry keeps them (no compatibility rule: the registry's own tests cover it). */
class MemoryRegistry implements EventRegistry {
  readonly subjects = new Map<string, SubjectSchema[]>();
  readonly byId = new Map<number, RegisteredText>();

  registerSchema(
    subject: string,
    s: { schemaType: "AVRO" | "JSON" | "PROTOBUF"; schema: string; references?: SchemaReference[] },
  ): Promise<number> {
    const versions = this.subjects.get(subject) ?? [];
    // The identity is the text and the references, as the registry's.
    const same = versions.find(
      (v) => v.schema === s.schema && JSON.stringify(v.references) === JSON.stringify(s.references ?? []),
    );
    if (same) return Promise.resolve(same.id);
    const id = this.byId.size + 1;
    const entry = { schemaType: s.schemaType, schema: s.schema, references: s.references ?? [], id };
    versions.push({ ...entry, subject, version: versions.length + 1 });
    this.subjects.set(subject, versions);
    this.byId.set(id, entry);
    return Promise.resolve(id);
  }
  versions(subject: string): Promise<number[]> {
    return Promise.resolve((this.subjects.get(subject) ?? []).map((v) => v.version));
  }
  subjectVersion(subject: string, version: number | "latest"): Promise<SubjectSchema | null> {
    const versions = this.subjects.get(subject) ?? [];
    return Promise.resolve((version === "latest" ? versions.at(-1) : versions[version - 1]) ?? null);
  }
  schemaById(id: number): Promise<RegisteredText | null> {
    return Promise.resolve(this.byId.get(id) ?? null);
  }
}

// Each test answers a dozen requests, the first ones compiling the routes' schemas: slow on a busy machine.
vi.setConfig({ testTimeout: 30_000 });

let ctx: FakeContext;
let app: FastifyInstance;
let registry: MemoryRegistry;
let parked: MemoryParkedView;

beforeEach(async () => {
  ctx = await fakeContext();
  registry = new MemoryRegistry();
  parked = new MemoryParkedView();
  ctx.events = new EventTopics({ catalog: ctx.catalog, sources: ctx.sources, registry, parked });
  app = withToken(await buildApi(ctx, { auth: testAuthenticator() }));
});
afterEach(async () => {
  await app.close();
  await ctx.reconciler.stop();
});

const record = (name: string, fields: object[] = [{ name: "total", type: "double" }]): string =>
  JSON.stringify({ type: "record", name, namespace: "shop", fields });

function declare(topic: string, type: string, body: Record<string, unknown>) {
  return app.inject({ method: "PUT", url: `/v1/events/${topic}/types/${type}`, payload: body });
}

const source = {
  name: "orders-db",
  owner: "orders",
  kind: "postgres",
  url: "postgres://app:pw@127.0.0.1:5432/orders",
  tables: ["public.orders"],
};

describe("PUT /v1/events/{topic}/types/{type}", () => {
  it("registers the type's subject and the topic schema over every type, and records them", async () => {
    const first = await declare("orders.Order", "OrderPlaced", {
      owner: "orders",
      schema: record("OrderPlaced"),
    });
    expect(first.statusCode, first.body).toBe(201);
    expect(first.json()).toMatchObject({
      topic: "orders.Order",
      type: "OrderPlaced",
      subject: "orders.Order.OrderPlaced",
      version: 1,
      format: "AVRO",
      name: "shop.OrderPlaced",
    });
    expect(
      (await declare("orders.Order", "OrderShipped", { owner: "orders", schema: record("OrderShipped") }))
        .statusCode,
    ).toBe(201);
    // A new version of a declared type: 200.
    const changed = await declare("orders.Order", "OrderPlaced", {
      owner: "orders",
      schema: record("OrderPlaced", [{ name: "total", type: ["double", "string"] }]),
    });
    expect(changed.statusCode).toBe(200);
    expect(changed.json()).toMatchObject({ version: 2 });
    const value = await registry.subjectVersion("orders.Order-value", "latest");
    expect(value).toMatchObject({
      version: 3,
      schema: '["shop.OrderPlaced","shop.OrderShipped"]',
      references: [
        { name: "shop.OrderPlaced", subject: "orders.Order.OrderPlaced", version: 2 },
        { name: "shop.OrderShipped", subject: "orders.Order.OrderShipped", version: 1 },
      ],
    });
    const list = (await app.inject({ method: "GET", url: "/v1/events" })).json();
    expect(list.events).toEqual([
      expect.objectContaining({
        topic: "orders.Order",
        owner: "orders",
        format: "AVRO",
        valueSubject: "orders.Order-value",
        valueVersion: 3,
        untyped: false,
        parked: 0,
        types: [
          expect.objectContaining({ type: "OrderPlaced", version: 2 }),
          expect.objectContaining({ type: "OrderShipped", version: 1 }),
        ],
      }),
    ]);
    const one = await app.inject({ method: "GET", url: "/v1/events/orders.Order/types/OrderShipped" });
    expect(one.json()).toMatchObject({ schema: record("OrderShipped"), version: 1 });
    expect((await app.inject({ method: "GET", url: "/v1/events/orders.Order/types/Nope" })).statusCode).toBe(
      404,
    );
  });

  it("refuses another service's topic, a topic name of a source, a second format and schemas that cannot be used", async () => {
    const owned = await declare("orders.Order", "OrderPlaced", { owner: "shipping", schema: record("X") });
    expect(owned.statusCode).toBe(409);
    expect(owned.json()).toMatchObject({ code: "MESH_TOPIC_OWNED", details: { owner: "orders" } });
    expect(
      (await declare("orders.transactions", "T", { owner: "orders", schema: record("T") })).json().code,
    ).toBe("MESH_TOPIC_OWNED");
    const notRecord = await declare("orders.Order", "A", { owner: "orders", schema: '"string"' });
    expect(notRecord.statusCode).toBe(422);
    expect(notRecord.json()).toMatchObject({ code: "MESH_BAD_SCHEMA" });
    expect(notRecord.json().message).toMatch(/named record/);
    expect((await declare("orders.Order", "A", { owner: "orders", schema: record("A") })).statusCode).toBe(
      201,
    );
    const json = await declare("orders.Order", "B", { owner: "orders", format: "JSON", schema: "{}" });
    expect(json.statusCode).toBe(422);
    expect(json.json().message).toMatch(/are AVRO schemas/);
    const proto = await declare("billing.Invoice", "Issued", {
      owner: "billing",
      format: "PROTOBUF",
      schema: 'syntax = "proto3"; package billing; message Issued { string id = 1; }',
    });
    expect(proto.statusCode, proto.body).toBe(201);
    expect((await registry.subjectVersion("billing.Invoice-value", "latest"))?.schema).toContain(
      ".billing.Issued issued = 1;",
    );
    const bad = await app.inject({
      method: "PUT",
      url: "/v1/events/a.b.c/types/T",
      payload: { owner: "a", schema: "x" },
    });
    expect(bad.statusCode).toBe(400);
  });
});

describe("topic names between services", () => {
  it("refuses a source named like a service that publishes events, and an outbox into a source's names", async () => {
    await declare("orders.Order", "OrderPlaced", { owner: "orders", schema: record("OrderPlaced") });
    const post = (body: object) => app.inject({ method: "POST", url: "/v1/sources", payload: body });
    const squatter = await post({ ...source, name: "orders", owner: "shipping", url: "postgres://a@h/ship" });
    expect(squatter.statusCode).toBe(409);
    expect(squatter.json()).toMatchObject({ code: "MESH_TOPIC_OWNED", details: { owner: "orders" } });
    // A source named "billing" of service "payments": service billing's events would land in its names.
    expect(
      (await post({ ...source, name: "billing", owner: "payments", url: "postgres://a@h/pay" })).statusCode,
    ).toBe(201);
    const intoSource = await post({
      ...source,
      name: "billing-db",
      owner: "billing",
      url: "postgres://a@h/bill",
      outbox: { tables: ["outbox"] },
    });
    expect(intoSource.statusCode).toBe(409);
    expect(intoSource.json()).toMatchObject({ code: "MESH_TOPIC_OWNED", details: { source: "billing" } });
    // ... and service billing cannot declare event topics there either.
    expect(
      (await declare("billing.Invoice", "Issued", { owner: "billing", schema: record("Issued") })).json()
        .code,
    ).toBe("MESH_TOPIC_OWNED");
  });

  it("claims outbox tables like captured ones: another service's source cannot route the same outbox", async () => {
    const post = (body: object) => app.inject({ method: "POST", url: "/v1/sources", payload: body });
    expect((await post({ ...source, outbox: { tables: ["public.outbox"] } })).statusCode).toBe(201);
    const other = await post({
      ...source,
      name: "other-db",
      owner: "other",
      tables: ["public.items"],
      outbox: { tables: ["outbox"] },
    });
    expect(other.statusCode).toBe(409);
    expect(other.json()).toMatchObject({ code: "MESH_TABLE_OWNED", details: { table: "public.outbox" } });
  });
});

describe("a source's outbox", () => {
  it("is stored, passed on and shown with the topics it feeds; MySQL takes no message prefix", async () => {
    await declare("orders.Order", "OrderPlaced", { owner: "orders", schema: record("OrderPlaced") });
    const res = await app.inject({
      method: "POST",
      url: "/v1/sources",
      payload: { ...source, outbox: { tables: ["outbox"], messagePrefix: "outbox", untyped: "json" } },
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().outbox).toEqual({
      tables: ["public.outbox"],
      messagePrefix: "outbox",
      untyped: "json",
      topics: ["orders.Order"],
    });
    expect(ctx.fakes.sources.running.get("orders-db")?.outbox).toMatchObject({ tables: ["public.outbox"] });
    const plain = await app.inject({
      method: "POST",
      url: "/v1/sources",
      payload: { ...source, name: "plain", owner: "plain", url: "postgres://a@h/plain" },
    });
    expect(plain.json().outbox).toBeNull();
    const mysql = await app.inject({
      method: "POST",
      url: "/v1/sources",
      payload: {
        name: "my",
        owner: "my",
        kind: "mysql",
        url: "mysql://a@h:3306/shop",
        tables: ["orders"],
        outbox: { tables: ["outbox"], messagePrefix: "x" },
      },
    });
    expect(mysql.statusCode).toBe(400);
    expect(mysql.json().code).toBe("MESH_UNKNOWN_FIELD");
  });
});

describe("parked events", () => {
  it("are listed on their topic; retry and skip need a parked aggregate", async () => {
    await declare("orders.Order", "OrderPlaced", { owner: "orders", schema: record("OrderPlaced") });
    parked.events.add({
      id: "orders-db/0/16B3748/e1",
      source: "orders-db",
      topic: "orders.Order",
      key: "o-1",
      headers: { id: "e1", type: "OrderPlaced", aggregatetype: "Order" },
      payload: '{"total":"x"}',
      payloadEncoding: "utf8",
      reason: { code: "MESH_EVENT_INVALID", message: "payload.total: expected double" },
      parkedAt: "2026-01-01T00:00:00.000Z",
      position: "0/16B3748",
    });
    const topic = (await app.inject({ method: "GET", url: "/v1/events/orders.Order" })).json();
    expect(topic).toMatchObject({
      parked: 1,
      parkedEvents: [{ key: "o-1", eventId: "e1", type: "OrderPlaced" }],
    });
    const none = await app.inject({
      method: "POST",
      url: "/v1/events/orders.Order/parked/retry",
      payload: { key: "o-9" },
    });
    expect(none.statusCode).toBe(404);
    // The fake runtime runs no connectors: the parked aggregate's retry cannot be done here.
    const noConnector = await app.inject({
      method: "POST",
      url: "/v1/events/orders.Order/parked/skip",
      payload: { key: "o-1" },
    });
    expect(noConnector.statusCode).toBe(409);
    expect((await app.inject({ method: "GET", url: "/v1/events/nobody.Nothing" })).statusCode).toBe(404);
  });
});
