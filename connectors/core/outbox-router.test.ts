// The outbox router over a held sink and an in-memory registry: typed events are published in the wire
// format, events without a schema or with a payload that does not fit are parked (with the aggregate's later
// events behind them), a retry after the schema is fixed publishes them in order, skip drops the oldest, and
// `untyped: "json"` publishes events of topics with no schema as they are.
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../lib/logger.ts";
import { PARKED_EVENTS_TOPIC } from "../../protocol/topics.ts";
import type { OutboxTopicStatus } from "./contract.ts";
import { decodeParked } from "./outbox-parked.ts";
import { OutboxRouter, type PreparedEvent } from "./outbox-router.ts";
import {
  eventTypeSubject,
  topicSchema,
  type EventFormat,
  type EventSchemaSource,
  type RegisteredText,
  type SubjectSchema,
} from "./outbox-schemas.ts";
import { HeldSink } from "./test-support/memory-pipeline.ts";

const topic = "orders.Order";

/** Subjects and ids, as the registry would keep them. */
class MemorySchemas implements EventSchemaSource {
  readonly subjects = new Map<string, SubjectSchema[]>();
  readonly byId = new Map<number, RegisteredText>();
  reads = 0;

  register(subject: string, s: Omit<RegisteredText, "id">): SubjectSchema {
    const id = this.byId.size + 1;
    const versions = this.subjects.get(subject) ?? [];
    const entry = { ...s, id, subject, version: versions.length + 1 };
    versions.push(entry);
    this.subjects.set(subject, versions);
    this.byId.set(id, entry);
    return entry;
  }

  /** Declares types on the topic the way the API does: each type's subject, then the topic's union. */
  declare(format: EventFormat, types: Record<string, string>): void {
    const decl = Object.entries(types).map(([type, schema]) => {
      const subject = eventTypeSubject(topic, type);
      const v = this.register(subject, { schemaType: format, schema, references: [] });
      return { type, subject, version: v.version, schema };
    });
    this.register(`${topic}-value`, { schemaType: format, ...topicSchema(topic, format, decl) });
  }

  subjectVersion(subject: string, version: number | "latest"): Promise<SubjectSchema | null> {
    this.reads++;
    const versions = this.subjects.get(subject) ?? [];
    return Promise.resolve((version === "latest" ? versions.at(-1) : versions[version - 1]) ?? null);
  }

  schemaById(id: number): Promise<RegisteredText | null> {
    return Promise.resolve(this.byId.get(id) ?? null);
  }
}

const placed = (extra: object = {}): string =>
  JSON.stringify({
    type: "record",
    name: "OrderPlaced",
    fields: [{ name: "total", type: "double" }, ...Object.values(extra)],
  });

function setup(o: { untyped?: "park" | "json"; schemas?: MemorySchemas } = {}) {
  const sink = new HeldSink();
  const schemas = o.schemas ?? new MemorySchemas();
  const status: Record<string, OutboxTopicStatus> = {};
  let now = 1_000_000;
  const router = new OutboxRouter({
    source: "src",
    owner: "orders",
    untyped: o.untyped ?? "park",
    schemas,
    sink: sink,
    ensureTopic: () => Promise.resolve(),
    parked: [],
    now: () => now,
    status,
    logger: silentLogger(),
    refreshMs: 1000,
    ackWaitMs: 0,
  });
  let pos = 0;
  const row = async (id: string, aggregateid: string, type: string, payload: unknown): Promise<void> => {
    const prepared: PreparedEvent | Promise<PreparedEvent> = router.row(
      { id, aggregatetype: "Order", aggregateid, type, payload: JSON.stringify(payload) },
      String(++pos),
    );
    (typeof prepared === "function" ? prepared : await prepared)();
    sink.ack();
  };
  const published = () =>
    sink.messages
      .filter((m) => m.topic === topic)
      .map((m) => ({ key: m.key?.toString(), id: m.headers?.id, wire: m.value?.[0] === 0 }));
  const parkedIds = () => router.parked().map((p) => p.headers.id);
  return { sink, schemas, status, router, row, published, parkedIds, tick: (ms: number) => (now += ms) };
}

describe("outbox router", () => {
  it("publishes declared types in the wire format with the headers, keyed by aggregate id", async () => {
    const t = setup();
    t.schemas.declare("AVRO", { OrderPlaced: placed() });
    await t.row("e1", "o-1", "OrderPlaced", { total: 12.5 });
    const [msg] = t.sink.messages;
    expect(msg?.topic).toBe(topic);
    expect(msg?.key?.toString()).toBe("o-1");
    expect(msg?.headers).toEqual({ id: "e1", type: "OrderPlaced", aggregatetype: "Order" });
    expect(msg?.value?.readUInt32BE(1)).toBe(2); // the topic schema's id (the type's subject is 1)
    expect(t.status[topic]).toMatchObject({ published: 1, untyped: 0, parked: 0 });
  });

  it("parks undeclared types and misfits, and the aggregate's later events behind them; retry after the fix publishes in order", async () => {
    const t = setup();
    t.schemas.declare("AVRO", { OrderPlaced: placed() });
    await t.row("e1", "o-1", "OrderPlaced", { total: "12.50" }); // a string: does not fit
    await t.row("e2", "o-2", "OrderPlaced", { total: 3 }); // another aggregate: unaffected
    await t.row("e3", "o-1", "OrderPlaced", { total: 4 }); // fits, but behind e1
    await t.row("e4", "o-2", "OrderShipped", {}); // no schema for the type
    expect(t.published().map((p) => p.id)).toEqual(["e2"]);
    const parked = t.router.parked();
    expect(parked.map((p) => [p.headers.id, p.reason.code])).toEqual([
      ["e1", "MESH_EVENT_INVALID"],
      ["e3", "MESH_EVENT_BEHIND_PARKED"],
      ["e4", "MESH_EVENT_TYPE_UNDECLARED"],
    ]);
    expect(parked[0]?.reason.message).toMatch(/payload\.total: expected double/);
    // Parked records go to the parked topic through the same write path.
    const records = t.sink.messages
      .filter((m) => m.topic === PARKED_EVENTS_TOPIC)
      .map((m) => decodeParked(m.value));
    expect(records.map((r) => r?.headers.id)).toEqual(["e1", "e3", "e4"]);
    expect(t.status[topic]).toMatchObject({ published: 1, parked: 3 });

    // A retry with the schema unchanged publishes nothing.
    expect(await t.router.resolve(topic, "o-1", "retry")).toMatchObject({ published: 0, stillParked: 2 });
    // The owner makes total a string-or-double (a new version of the type), then retries.
    const fixed = JSON.stringify({
      type: "record",
      name: "OrderPlaced",
      fields: [{ name: "total", type: ["double", "string"] }],
    });
    t.schemas.declare("AVRO", { OrderPlaced: fixed });
    expect(await t.router.resolve(topic, "o-1", "retry")).toEqual({
      published: 2,
      skipped: 0,
      stillParked: 0,
      reason: null,
    });
    expect(t.published().map((p) => p.id)).toEqual(["e2", "e1", "e3"]);
    // The records are tombstoned.
    const tombstones = t.sink.messages.filter((m) => m.topic === PARKED_EVENTS_TOPIC && m.value === null);
    expect(tombstones).toHaveLength(2);
    // Later events of o-1 go straight out again.
    await t.row("e5", "o-1", "OrderPlaced", { total: 5 });
    expect(t.published().map((p) => p.id)).toEqual(["e2", "e1", "e3", "e5"]);
    await expect(t.router.resolve(topic, "o-1", "retry")).rejects.toMatchObject({ code: "MESH_NOT_FOUND" });
  });

  it("skip drops the oldest parked event and publishes the ones behind it that fit", async () => {
    const t = setup();
    t.schemas.declare("AVRO", { OrderPlaced: placed() });
    await t.row("e1", "o-1", "OrderPlaced", { total: "x" });
    await t.row("e2", "o-1", "OrderPlaced", { total: 2 });
    expect(await t.router.resolve(topic, "o-1", "skip")).toMatchObject({
      published: 1,
      skipped: 1,
      stillParked: 0,
    });
    expect(t.published().map((p) => p.id)).toEqual(["e2"]);
  });

  it("reads the schema again when an event does not fit the one held, at most every refreshMs", async () => {
    const t = setup();
    t.schemas.declare("AVRO", { OrderPlaced: placed() });
    await t.row("e1", "o-1", "OrderPlaced", { total: 1 });
    const reads = t.schemas.reads;
    await t.row("e2", "o-2", "OrderPlaced", { total: 1 });
    expect(t.schemas.reads).toBe(reads); // held
    t.schemas.declare("AVRO", {
      OrderPlaced: placed(),
      OrderShipped: placed().replace("OrderPlaced", "OrderShipped"),
    });
    t.tick(5000);
    await t.row("e3", "o-3", "OrderShipped", { total: 1 }); // unknown to the held codec: read again
    expect(t.published().map((p) => p.id)).toEqual(["e1", "e2", "e3"]);
  });

  it("untyped json publishes events of topics with no schema as they are; typed topics still park", async () => {
    const t = setup({ untyped: "json" });
    await t.row("e1", "o-1", "Anything", { a: 1 });
    expect(t.published()).toEqual([{ key: "o-1", id: "e1", wire: false }]);
    expect(t.sink.messages[0]?.value?.toString()).toBe('{"a":1}');
    expect(t.status[topic]).toMatchObject({ published: 1, untyped: 1 });
    t.schemas.declare("AVRO", { OrderPlaced: placed() });
    t.tick(5000);
    await t.row("e2", "o-2", "Anything", { a: 1 });
    expect(t.parkedIds()).toEqual(["e2"]);
  });

  it("parks rows it cannot route and aggregate types that would take CDC topic names", async () => {
    const t = setup({ untyped: "json" });
    const park = async (row: Record<string, unknown>): Promise<void> => {
      const p = t.router.row(row, "9");
      (typeof p === "function" ? p : await p)();
    };
    await park({ id: "u1", aggregateid: "x", type: "T", payload: "{}" });
    await park({ id: "u2", aggregatetype: "public.orders", aggregateid: "x", type: "T", payload: "{}" });
    expect(t.router.parked().map((p) => [p.headers.id, p.reason.code])).toEqual([
      ["u1", "MESH_EVENT_UNROUTABLE"],
      ["u2", "MESH_TOPIC_OWNED"],
    ]);
    expect(t.sink.messages.filter((m) => m.topic !== PARKED_EVENTS_TOPIC)).toEqual([]);
  });
});
