// Re-snapshot over HTTP on the real stack (registry, API with the real Postgres connector, Kafka, Postgres):
// POST /v1/sources/{name}/snapshot while rows are being updated; the status shows it pending until every
// re-snapshot row is in Kafka; the SSE topic stream carries the `op: r` / `snapshot: "incremental"` rows and
// its latest value per key equals the table; unknown tables and paused sources are refused; the CLI's --wait
// waits for the end.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import type { RunningRegistry } from "../../registry/server.ts";
import { createPgDatabase } from "../../test/support/stack.ts";
import type { RunningApi } from "../service.ts";
import { api, mesh, startTestApi, startTestRegistry, subscribe, testCatalogTopic, until } from "./harness.ts";

const rows = 2000;
let registry: RunningRegistry;
let apiProc: RunningApi;
let db: Awaited<ReturnType<typeof createPgDatabase>>;
let client: pg.Client;
const sourceName = `items-${Date.now().toString(36)}`;
const topic = `${sourceName}.public.items`;

interface Status {
  state: string;
  progress: { phase: string; rowsDone: number; table: string | null } | null;
  resnapshot: { pending: string[] } | null;
}
interface Envelope {
  op: string;
  after: { id: string; v: number; note: string } | null;
  source: { snapshot: string };
}

const statusOf = async (): Promise<Status> =>
  (await api(apiProc.url, "GET", `/v1/sources/${sourceName}`)).body.status as Status;

beforeAll(async () => {
  db = await createPgDatabase("e2e_resnap");
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query(`CREATE TABLE items (id bigint PRIMARY KEY, v int NOT NULL, note text NOT NULL);
    INSERT INTO items SELECT g, 0, 'n' || g FROM generate_series(1, ${rows}) g`);
  await client.query("CREATE TABLE other (id int PRIMARY KEY)");
  registry = await startTestRegistry();
  apiProc = await startTestApi(registry.url, testCatalogTopic());
});

afterAll(async () => {
  await apiProc?.stop();
  await registry?.stop();
  await client?.end();
  await db?.drop();
});

describe("re-snapshot over HTTP", () => {
  it("re-snapshots a table while it is updated; SSE shows the incremental rows; the latest values equal the table", async () => {
    const created = await api(apiProc.url, "POST", "/v1/sources", {
      name: sourceName,
      owner: "items",
      kind: "postgres",
      url: db.url,
      tables: ["items"],
    });
    expect(created.status).toBe(201);
    await until("streaming", async () => (await statusOf()).state === "streaming");

    const sub = subscribe(`${apiProc.url}/v1/topics/${topic}/events?from=earliest`);
    await until("initial snapshot over SSE", () => Promise.resolve(sub.events.length >= rows));

    // Tables the source does not capture are refused, naming them, and nothing starts.
    const unknown = await api(apiProc.url, "POST", `/v1/sources/${sourceName}/snapshot`, {
      tables: ["other", "public.items"],
    });
    expect(unknown.status).toBe(422);
    expect(unknown.body.code).toBe("MESH_NOT_CAPTURED");
    expect(unknown.body.message).toContain("public.other");
    expect(unknown.body.details).toEqual({ tables: ["public.other"] });
    expect((await statusOf()).resnapshot).toBeNull();

    // Updates run during the whole re-snapshot, so chunk windows see concurrent changes.
    let updating = true;
    let updates = 0;
    const updater = (async () => {
      while (updating) {
        const id = 1 + Math.floor(Math.random() * rows);
        await client.query("UPDATE items SET v = v + 1 WHERE id = $1", [id]);
        updates++;
      }
    })();

    const asked = await api(apiProc.url, "POST", `/v1/sources/${sourceName}/snapshot`, { tables: ["items"] });
    expect(asked.status).toBe(202);
    const askedStatus = asked.body.status as Status;
    expect(askedStatus.resnapshot).toEqual({ pending: ["public.items"] });
    expect(askedStatus.progress).toMatchObject({ phase: "incremental", table: "public.items" });
    await until("re-snapshot done", async () => (await statusOf()).resnapshot === null, 60_000);
    await until("some concurrent updates", () => Promise.resolve(updates >= 100));
    updating = false;
    await updater;
    expect(updates).toBeGreaterThan(0);

    // A last write after everything else: once it is on the stream, everything before it is too.
    await client.query("UPDATE items SET note = 'last' WHERE id = 1");
    await until("last write on SSE", () =>
      Promise.resolve(sub.events.some((e) => (e.data.value as Envelope | null)?.after?.note === "last")),
    );
    sub.close();

    const incremental = sub.events
      .map((e) => e.data.value as Envelope | null)
      .filter((v) => v?.source.snapshot === "incremental");
    // A row changed inside a chunk's window is left out of the chunk (the streamed change wins).
    expect(incremental.length).toBeGreaterThan(rows / 2);
    expect(incremental.length).toBeLessThanOrEqual(rows);
    expect(incremental.every((v) => v?.op === "r")).toBe(true);

    const latest = new Map<string, Envelope["after"]>();
    for (const e of sub.events) {
      const v = e.data.value as Envelope | null;
      latest.set((e.data.key as { id: string }).id, v?.after ?? null);
    }
    const table = await client.query<{ id: string; v: number; note: string }>(
      "SELECT id::text AS id, v, note FROM items ORDER BY id",
    );
    expect(latest.size).toBe(rows);
    for (const row of table.rows) expect(latest.get(row.id)).toEqual(row);
    console.log(`re-snapshot: ${incremental.length} incremental rows, ${updates} concurrent updates`);
  });

  it("mesh source snapshot --table --wait waits until the re-snapshot is done", async () => {
    const env = { MESH_API_URL: apiProc.url };
    const out = await mesh(["source", "snapshot", sourceName, "--table", "items", "--wait"], env);
    expect(out.stderr).toContain("re-snapshot public.items");
    expect(out.code).toBe(0);
    expect(out.stdout).toContain("done");
    expect((await statusOf()).resnapshot).toBeNull();
    const bad = await mesh(["source", "snapshot", sourceName, "--table", "nope"], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("public.nope");

    // A paused source has no stream to interleave with: refused with 409, not queued silently.
    expect((await api(apiProc.url, "POST", `/v1/sources/${sourceName}/pause`)).status).toBe(200);
    await until("paused", async () => (await statusOf()).state === "paused");
    const paused = await api(apiProc.url, "POST", `/v1/sources/${sourceName}/snapshot`, {
      tables: ["items"],
    });
    expect(paused.status).toBe(409);
    expect(paused.body.code).toBe("MESH_CONFLICT");
  });
});
