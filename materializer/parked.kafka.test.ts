// Parked records on the real stack (Kafka + the schema registry): a value of a type the view cannot use
// parks its key instead of failing the view, and an operator's retry applies a record once the schema it
// was written with appears in the registry, and an undecodable transaction marker fails the view with a
// code saying what to do (docs/views.md, Parked records).
import type avro from "avsc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envelopeSchema } from "../protocol/envelope.ts";
import { avroType, encodeWire } from "../lib/avro.ts";
import type { RunningRegistry } from "../registry/server.ts";
import { kafka, uniqueName } from "../test/support/stack.ts";
import type { MaterializerEngine } from "./engine.ts";
import type { Db } from "./engine/reader.ts";
import { CdcWriter } from "./test-support/cdc-writer.ts";
import { openTestDb, startTestEngine, startTestRegistry, type TestDb } from "./test-support/engine-setup.ts";
import { waitFor } from "./test-support/view-assert.ts";
import { SHOP_TABLES } from "./test-support/shop-workload.ts";
import { authHeaders } from "../test/support/auth.ts";

describe("parked records on Kafka", () => {
  let registry: RunningRegistry;
  let store: TestDb | undefined;
  let db: Db;
  let engine: MaterializerEngine;
  let writer: CdcWriter;
  const k = kafka();
  const source = uniqueName("park");

  const post = async (path: string, body: unknown, method = "POST"): Promise<Record<string, unknown>> => {
    const res = await fetch(`${registry.url}${path}`, {
      method,
      headers: { ...authHeaders(), "content-type": "application/vnd.schemaregistry.v1+json" },
      body: JSON.stringify(body),
    });
    expect(res.ok, `${method} ${path}: ${res.status}`).toBe(true);
    return (await res.json()) as Record<string, unknown>;
  };
  const row = async (view: string, id: unknown) =>
    (await engine.queryRows(view, { filters: [{ column: "id", op: "eq", value: id }] })).rows[0]?.row ?? null;

  beforeAll(async () => {
    registry = await startTestRegistry("park");
    // Schema changes a compatibility rule would refuse (a column's type changed) are what these tests need.
    await post("/config", { compatibility: "NONE" }, "PUT");
    store = await openTestDb({ name: "park" });
    db = store.db;
    writer = new CdcWriter({ kafka: k, registryUrl: registry.url, source, tables: SHOP_TABLES });
    await writer.start();
    await writer.snapshot("customers", [
      { id: 1, name: "ann", region: "eu" },
      { id: 2, name: "bob", region: "us" },
    ]);
    await writer.snapshot(
      "orders",
      [1n, 2n, 3n].map((id) => ({ id, customer_id: 1n, status: "new", total: "10.00" })),
    );
    engine = await startTestEngine(db, registry.url);
  });

  afterAll(async () => {
    await engine?.stop();
    await writer?.stop();
    await store?.remove();
    await registry?.stop();
  });

  it("parks a value of a type the view cannot use; the view stays ready, other keys flow, skip frees the key", async () => {
    await engine.createView(
      "CREATE VIEW big AS SELECT * FROM orders WHERE total > 5; CREATE INDEX ON big (total)",
    );
    await waitFor(() => engine.getView("big").status.state === "ready");
    // The column's type changed at the source (ALTER COLUMN total TYPE text): a new writer schema.
    const orders = SHOP_TABLES.find((t) => t.table === "orders")!;
    const altered = new CdcWriter({
      kafka: k,
      registryUrl: registry.url,
      source,
      tables: [{ ...orders, columns: orders.columns.map(([c, t]) => [c, c === "total" ? "string" : t]) }],
    });
    // Its own transaction ids (both writers would otherwise count from the same start).
    (altered as unknown as { xid: number }).xid = 900_000;
    await altered.start();
    try {
      await altered.transaction([
        { table: "orders", op: "u", after: { id: 1n, customer_id: 1n, status: "odd", total: "n/a" } },
      ]);
    } finally {
      await altered.stop();
    }
    await writer.transaction([
      { table: "orders", op: "u", after: { id: 1n, customer_id: 1n, status: "later", total: "20.00" } },
    ]);
    await writer.transaction([
      { table: "orders", op: "u", after: { id: 2n, customer_id: 1n, status: "flows", total: "30.00" } },
    ]);
    await waitFor(async () => (await row("big", 2))?.status === "flows");

    const status = engine.getView("big").status;
    expect(status.state).toBe("ready");
    expect(status.error).toBeNull();
    expect(status.parked).toHaveLength(2);
    expect(status.parked[0]?.reason).toMatch(/column total: a string value that cannot be used as a number/);
    expect(status.parked[0]?.reason).not.toContain("n/a"); // values stay out of reasons
    expect(status.parked[1]?.reason).toMatch(/an earlier record of this key is parked/);
    expect(status.parked[1]?.key).toBe(status.parked[0]?.key);
    expect((await row("big", 1))?.status).toBe("new"); // the later change waits behind the parked one

    const { topic, key } = status.parked[0]!;
    // The record itself cannot change: a retry keeps it (and what waits behind it) parked.
    expect(await engine.resolveParked("big", topic, key, "retry")).toEqual({ applied: 0, stillParked: 2 });
    expect(await engine.resolveParked("big", topic, key, "skip")).toEqual({ applied: 1, stillParked: 0 });
    expect(await row("big", 1)).toMatchObject({ status: "later", total: "20.00" });
    expect(engine.getView("big").status).toMatchObject({ state: "ready", parked: [] });
    // The index on total took the applied row, not the parked one.
    const page = await engine.queryRows("big", { filters: [{ column: "total", op: "gte", value: "20" }] });
    expect(page.rows.map((r) => r.row.id).sort()).toEqual([1n, 2n]);
  });

  it("retry applies a record once the schema it was written with is in the registry, then the ones behind it", async () => {
    await engine.createView("CREATE VIEW people AS SELECT * FROM customers");
    await waitFor(() => engine.getView("people").status.state === "ready");
    const customers = SHOP_TABLES.find((t) => t.table === "customers")!;
    const topic = writer.topic("customers");
    // A new writer schema (a column added) whose id the registry does not know yet: the next one it gives.
    const shape = {
      topic,
      columns: [...customers.columns, ["nickname", "string"] as const].map(([name, type]) => ({
        name,
        type: type as avro.Schema,
      })),
      key: customers.key,
    };
    const schema = envelopeSchema(shape);
    const fetchMax = await fetch(`${registry.url}/schemas/ids/1?fetchMaxId=true`, { headers: authHeaders() });
    const nextId = Number(((await fetchMax.json()) as { maxId: number }).maxId) + 1;
    const keySubject = await fetch(`${registry.url}/subjects/${topic}-key/versions/latest`, {
      headers: authHeaders(),
    });
    const keyInfo = (await keySubject.json()) as { id: number; schema: string };
    const key = encodeWire(keyInfo.id, avroType(keyInfo.schema), { id: 9 });
    const now = BigInt(Date.now());
    const value = encodeWire(nextId, avroType(schema), {
      before: null,
      after: { id: 9, name: "first", region: "eu", nickname: "nine" },
      op: "r",
      ts_ms: now,
      source: {
        version: "test",
        connector: "postgresql",
        name: source,
        ts_ms: now,
        snapshot: "true",
        db: source,
        schema: "public",
        table: "customers",
        txId: null,
        lsn: 1n,
        file: null,
        pos: null,
        gtid: null,
      },
      transaction: null,
    });
    await k
      .producer()
      .send([{ topic, key, value, partition: writer.partitionOfRow("customers", { id: 9 }) }]);
    await writer.transaction([
      { table: "customers", op: "u", after: { id: 9, name: "second", region: "us" } },
    ]);
    await writer.transaction([
      { table: "customers", op: "u", after: { id: 2, name: "bobby", region: "us" } },
    ]);
    await waitFor(async () => (await row("people", 2))?.name === "bobby");
    const parked = engine.getView("people").status.parked;
    expect(parked.map((p) => p.reason)).toEqual([
      expect.stringMatching(
        new RegExp(`cannot apply the record's value: schema id ${nextId} is not in the registry`),
      ),
      "an earlier record of this key is parked",
    ]);
    expect(await row("people", 9)).toBeNull();
    // Still missing: nothing changes.
    expect(await engine.resolveParked("people", topic, parked[0]!.key, "retry")).toEqual({
      applied: 0,
      stillParked: 2,
    });

    const registered = await post(`/subjects/${topic}-value/versions`, { schema: JSON.stringify(schema) });
    expect(registered.id).toBe(nextId);
    expect(await engine.resolveParked("people", topic, parked[0]!.key, "retry")).toEqual({
      applied: 2,
      stillParked: 0,
    });
    expect(await row("people", 9)).toMatchObject({ id: 9, name: "second", region: "us" });
    expect(engine.getView("people").status).toMatchObject({ state: "ready", parked: [] });
  });

  // Last: it stops every view of the source.
  it("fails the views of a source at a transaction marker it cannot decode, naming it (not parked)", async () => {
    const [sent] = await k
      .producer()
      .send([{ topic: `${source}.transactions`, key: null, value: Buffer.from([9, 9, 9, 9, 9, 9]) }]);
    const offset = String(sent?.offset);
    await waitFor(() => engine.getView("people").status.state === "failed");
    const { error } = engine.getView("people").status;
    expect(error?.code).toBe("MESH_MARKER_UNDECODABLE");
    expect(error?.message).toContain(`${source}.transactions partition 0 offset ${offset} cannot be decoded`);
    expect(error?.message).toMatch(/restart the materializer, or drop and recreate the view/);
  });
});
