// Sources end to end over HTTP (and the CLI) on the real stack: registry, API with the real Postgres
// connector, Kafka, Postgres. Registration, ownership, every refusal, SSE of real change events,
// pause/resume, restart of the API, delete with dropSlot.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import type { RunningRegistry } from "../../registry/server.ts";
import { createPgDatabase } from "../../test/support/stack.ts";
import type { RunningApi } from "../service.ts";
import { api, mesh, startTestApi, startTestRegistry, subscribe, testCatalogTopic, until } from "./harness.ts";

let registry: RunningRegistry;
let apiProc: RunningApi;
let db: Awaited<ReturnType<typeof createPgDatabase>>;
const catalogTopic = testCatalogTopic();
const sourceName = `orders-${Date.now().toString(36)}`;

async function sql(text: string): Promise<void> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  db = await createPgDatabase("e2e_src");
  await sql(`CREATE TABLE orders (id bigint PRIMARY KEY, total numeric(12,2) NOT NULL, status text NOT NULL);
             INSERT INTO orders VALUES (1, 10.50, 'new'), (2, 99999999.99, 'paid'), (3, 0.01, 'new')`);
  registry = await startTestRegistry();
  apiProc = await startTestApi(registry.url, catalogTopic);
});

afterAll(async () => {
  await apiProc?.stop();
  await registry?.stop();
  await db?.drop();
});

describe("sources end to end", () => {
  it("registers a Postgres source, streams its rows as SSE, enforces ownership, survives an API restart", async () => {
    const created = await api(apiProc.url, "POST", "/v1/sources", {
      name: sourceName,
      owner: "orders",
      kind: "postgres",
      url: db.url,
      tables: ["orders"],
    });
    expect(created.status).toBe(201);
    expect(JSON.stringify(created.body)).not.toContain(":mesh@");
    expect(created.body.topics).toEqual([`${sourceName}.public.orders`]);
    await until(
      "streaming",
      async () =>
        (await api(apiProc.url, "GET", `/v1/sources/${sourceName}`)).body.status as
          { state: string } | undefined,
    ).then(async () =>
      until(
        "state streaming",
        async () =>
          ((await api(apiProc.url, "GET", `/v1/sources/${sourceName}`)).body.status as { state: string })
            .state === "streaming",
      ),
    );

    const topic = `${sourceName}.public.orders`;
    const topics = await api(apiProc.url, "GET", "/v1/topics");
    expect(topics.body.topics).toEqual([
      expect.objectContaining({
        topic,
        owner: "orders",
        source: sourceName,
        latestVersion: 1,
        partitions: 3,
      }),
    ]);

    const sub = subscribe(`${apiProc.url}/v1/topics/${topic}/events?from=earliest`);
    await until("3 snapshot events", () => Promise.resolve(sub.events.length >= 3));
    const byId = new Map(
      sub.events.map((e) => [
        (e.data.value as { after: { id: string } }).after.id,
        e.data.value as Record<string, unknown>,
      ]),
    );
    expect(byId.get("2")).toMatchObject({
      op: "r",
      after: { id: "2", total: "99999999.99", status: "paid" },
    });
    await sql("INSERT INTO orders VALUES (4, 1.25, 'new')");
    await until("insert event", () =>
      Promise.resolve(sub.events.some((e) => (e.data.value as { op: string }).op === "c")),
    );
    const insert = sub.events.find((e) => (e.data.value as { op: string }).op === "c")!;
    // The id is the position on every partition (3), this event's among them.
    expect(insert.id).toMatch(/^0:-?\d+,1:-?\d+,2:-?\d+$/);
    expect(insert.id.split(",")).toContain(`${String(insert.data.partition)}:${String(insert.data.offset)}`);
    expect(insert.data.key).toEqual({ id: "4" });
    sub.close();

    // Another service claiming the table: 409 naming the owner, even under another URL alias for the same DB.
    const thief = await api(apiProc.url, "POST", "/v1/sources", {
      name: "thief",
      owner: "billing",
      kind: "postgres",
      url: db.url.replace("127.0.0.1", "localhost"),
      tables: ["public.orders"],
    });
    expect(thief.status).toBe(409);
    expect(thief.body).toMatchObject({
      code: "MESH_TABLE_OWNED",
      details: { owner: "orders", source: sourceName },
    });

    // Restart the API: everything is still there, and capture continues.
    await apiProc.stop();
    apiProc = await startTestApi(registry.url, catalogTopic);
    const again = await api(apiProc.url, "GET", `/v1/sources/${sourceName}`);
    expect(again.body).toMatchObject({ name: sourceName, owner: "orders", tables: ["public.orders"] });
    const sub2 = subscribe(`${apiProc.url}/v1/topics/${topic}/events`);
    await sub2.subscribed;
    await sql("UPDATE orders SET status = 'paid' WHERE id = 1");
    await until("update after restart", () =>
      Promise.resolve(sub2.events.some((e) => (e.data.value as { op: string }).op === "u")),
    );
    sub2.close();
    expect(
      (
        await api(apiProc.url, "POST", "/v1/sources", {
          name: "thief",
          owner: "billing",
          kind: "postgres",
          url: db.url,
          tables: ["orders"],
        })
      ).status,
    ).toBe(409);
  });

  it("refuses a wrong password, an unreachable database and a missing table with 422 saying what to fix", async () => {
    // A table nobody owns, so the database checks (not ownership) answer.
    const base = { name: "bad", owner: "x", kind: "postgres", tables: ["nobody_owns_this"] };
    const wrong = await api(apiProc.url, "POST", "/v1/sources", {
      ...base,
      url: db.url.replace("mesh:mesh@", "mesh:wrong@"),
    });
    expect(wrong.status).toBe(422);
    expect(wrong.body.code).toBe("MESH_SOURCE_AUTH");
    expect(JSON.stringify(wrong.body)).not.toContain("wrong@");
    const down = await api(apiProc.url, "POST", "/v1/sources", {
      ...base,
      url: "postgres://mesh:mesh@127.0.0.1:1/x",
    });
    expect(down.status).toBe(422);
    expect(down.body.code).toBe("MESH_SOURCE_UNREACHABLE");
    const missing = await api(apiProc.url, "POST", "/v1/sources", { ...base, url: db.url, tables: ["nope"] });
    expect(missing.status).toBe(422);
    expect(missing.body.code).toBe("MESH_SOURCE_PREREQUISITE");
    expect(missing.body.message).toMatch(/nope/);
    expect((await api(apiProc.url, "GET", "/v1/sources")).body.sources).toHaveLength(1);
  });

  it("the CLI lists, shows, pauses and resumes with meaningful exit codes", async () => {
    const env = { MESH_API_URL: apiProc.url };
    const list = await mesh(["source", "list", "--json"], env);
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as { name: string }[]).map((s) => s.name)).toEqual([sourceName]);
    const paused = await mesh(["source", "pause", sourceName, "--json"], env);
    expect(JSON.parse(paused.stdout)).toMatchObject({ paused: true });
    await until(
      "paused",
      async () =>
        ((await api(apiProc.url, "GET", `/v1/sources/${sourceName}`)).body.status as { state: string })
          .state === "paused",
    );
    expect((await mesh(["source", "resume", sourceName], env)).code).toBe(0);
    await until(
      "streaming again",
      async () =>
        ((await api(apiProc.url, "GET", `/v1/sources/${sourceName}`)).body.status as { state: string })
          .state === "streaming",
    );
    const missing = await mesh(["source", "show", "nope"], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("MESH_NOT_FOUND");
    expect((await mesh(["source", "add", "--name", "x"], env)).code).toBe(2);
    expect((await mesh(["source", "list"], { MESH_API_URL: "http://127.0.0.1:1" })).code).toBe(3);
    const status = await mesh(["status", "--json"], env);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      roles: { api: { url: apiProc.url }, registry: { url: registry.url } },
      sources: 1,
      ready: true,
    });
    const topics = await mesh(
      ["topic", "tail", `${sourceName}.public.orders`, "--from", "earliest", "--count", "2", "--json"],
      env,
    );
    expect(topics.code).toBe(0);
    expect(topics.stdout.trim().split("\n")).toHaveLength(2);
  });

  it("deletes with dropSlot: the slot and publication are gone and the table is free", async () => {
    const del = await api(apiProc.url, "DELETE", `/v1/sources/${sourceName}?dropSlot=true`);
    expect(del.body).toEqual({ deleted: sourceName, droppedSlot: true });
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const slots = await c.query(
      "SELECT slot_name FROM pg_replication_slots WHERE database = current_database()",
    );
    const pubs = await c.query("SELECT pubname FROM pg_publication");
    await c.end();
    expect(slots.rows).toEqual([]);
    expect(pubs.rows).toEqual([]);
    expect((await api(apiProc.url, "GET", "/v1/sources")).body.sources).toEqual([]);
  });
});
