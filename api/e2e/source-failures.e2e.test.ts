// A Postgres source through bad days, over HTTP on the real stack (issue #6 audit): a password given as
// `?password=` never reaches the catalog topic; the initial snapshot shows progress; lag is honest (0 when
// idle, > 0 while a big transaction streams); killing the source's connections fails the source (never the
// process) and it recovers; a changed password leaves it `failed` with MESH_SOURCE_AUTH; and DELETE
// ?dropSlot=true that cannot drop the slot says so, naming the slot and the SQL to drop it by hand.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { defaultSlotName } from "../../connectors/postgres/names.ts";
import type { RunningRegistry } from "../../registry/server.ts";
import { createPgDatabase, kafka, kafkaEnv, stackEnv } from "../../test/support/stack.ts";
import { uniqueName } from "../../test/support/names.ts";
import { silentLogger } from "../../lib/logger.ts";
import { parseApiConfig } from "../config.ts";
import { startApi, type RunningApi } from "../service.ts";
import { api, readTopicToEnd, startTestApi, startTestRegistry, testCatalogTopic, until } from "./harness.ts";
import { TEST_ADMIN_TOKEN } from "../../test/support/auth.ts";

interface Status {
  state: string;
  error: { code: string; message: string } | null;
  progress: { phase: string; rowsDone: number; rowsEstimated: number; table: string | null } | null;
  lagSeconds: number | null;
  lagBytes: number | null;
  events: Record<string, number>;
}

let registry: RunningRegistry;
let apiProc: RunningApi;
let db: Awaited<ReturnType<typeof createPgDatabase>>;
const catalogTopic = testCatalogTopic();
const role = uniqueName("mesh_role").toLowerCase();
const password = `pw-${randomBytes(8).toString("hex")}`;
const sourceName = uniqueName("flaky");
const slot = defaultSlotName(sourceName);

async function sql<T extends pg.QueryResultRow>(
  text: string,
  url = db.url,
  values: unknown[] = [],
): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}

async function status(): Promise<Status> {
  const res = await api(apiProc.url, "GET", `/v1/sources/${sourceName}`);
  expect(res.status).toBe(200);
  return res.body.status as Status;
}

/** Polls the status every 25 ms (a failed state between retries lasts well under a second) until `done`. */
async function watch(done: (s: Status) => boolean, ms = 60_000): Promise<Status[]> {
  const seen: Status[] = [];
  const deadline = Date.now() + ms;
  for (;;) {
    const s = await status();
    seen.push(s);
    if (done(s)) return seen;
    if (Date.now() > deadline)
      throw new Error(
        `timed out; last status ${JSON.stringify(s)}; states ${seen.map((x) => x.state).join(",")}`,
      );
    await new Promise((r) => setTimeout(r, 25));
  }
}

function terminateRoleBackends(): Promise<unknown> {
  return sql(
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1",
    stackEnv().MESH_PG_URL,
    [role],
  );
}

/** Every record value on the catalog topic, as raw text. */
async function rawCatalog(): Promise<string[]> {
  return (await readTopicToEnd(kafka(), catalogTopic)).map((r) => r.value?.toString("latin1") ?? "");
}

beforeAll(async () => {
  db = await createPgDatabase("e2e_flaky");
  // Its own role, so its connections can be killed and its password changed without touching anyone else.
  await sql(`CREATE ROLE ${role} WITH LOGIN SUPERUSER PASSWORD '${password}'`, stackEnv().MESH_PG_URL);
  await sql(`CREATE TABLE items (id bigint PRIMARY KEY, label text NOT NULL);
             INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 100000) g;
             ANALYZE items`);
  registry = await startTestRegistry();
  apiProc = await startTestApi(registry.url, catalogTopic);
}, 120_000);

afterAll(async () => {
  await apiProc?.stop();
  await registry?.stop();
  await db?.drop();
  await sql(`DROP ROLE IF EXISTS ${role}`, stackEnv().MESH_PG_URL).catch(() => undefined);
});

describe("a Postgres source through failures", () => {
  it("seals a ?password= credential, shows snapshot progress, reports honest lag, survives killed connections, shows auth failure, and reports a slot it could not drop", async () => {
    // ---- 16b: the password as a query parameter is sealed like the userinfo one ----
    const host = new URL(stackEnv().MESH_PG_URL).host;
    const url = `postgres://${role}@${host}/${db.name}?password=${password}`;
    const created = await api(apiProc.url, "POST", "/v1/sources", {
      name: sourceName,
      owner: "flaky",
      kind: "postgres",
      url,
      tables: ["items"],
    });
    expect(created.status).toBe(201);
    expect(JSON.stringify(created.body)).not.toContain(password);

    // ---- 18: the initial snapshot's progress is visible over HTTP while it runs ----
    const during = await watch((s) => s.progress?.phase === "initial" && s.progress.rowsDone > 0);
    const progress = during.at(-1)!.progress!;
    expect(progress).toMatchObject({ phase: "initial", table: "public.items" });
    expect(progress.rowsDone).toBeLessThanOrEqual(progress.rowsEstimated);
    expect(progress.rowsEstimated).toBeGreaterThanOrEqual(90_000);
    expect(during.at(-1)!.state).toBe("snapshotting");
    const streaming = await watch((s) => s.state === "streaming");
    expect(streaming.at(-1)!.progress).toBeNull();
    expect(streaming.at(-1)!.events["public.items"]).toBeGreaterThanOrEqual(100_000);

    const raw = await rawCatalog();
    expect(raw.length).toBeGreaterThanOrEqual(1);
    expect(raw.some((v) => v.includes(password))).toBe(false);
    expect(raw.some((v) => v.includes("querySecretsSealed"))).toBe(true);

    // ---- 7: lag > 0 while a big transaction streams, ~0 once everything is acknowledged ----
    await sql("INSERT INTO items SELECT g, 'bulk ' || g FROM generate_series(100001, 250000) g");
    const underLoad = await watch((s) => (s.events["public.items"] ?? 0) >= 250_000, 120_000);
    const maxLag = Math.max(...underLoad.map((s) => s.lagSeconds ?? 0));
    expect(maxLag).toBeGreaterThan(0);
    // Idle (heartbeats every 1 s in tests): nothing is pending, so no lag, however old the last change.
    await watch((s) => s.lagSeconds !== null && s.lagSeconds < 1, 30_000);
    const idle = [];
    for (let i = 0; i < 3; i++) {
      idle.push(await status());
      await new Promise((r) => setTimeout(r, 1100));
    }
    for (const s of idle) {
      expect(s.state).toBe("streaming");
      expect(s.lagSeconds).not.toBeNull();
      expect(s.lagSeconds!).toBeLessThan(1);
      expect(typeof s.lagBytes).toBe("number");
    }

    // ---- 1: killing the source's connections fails the source, not the process; it recovers ----
    const before = (await status()).events["public.items"] ?? 0;
    await terminateRoleBackends();
    const failed = (await watch((s) => s.state === "failed")).at(-1)!;
    expect(failed.error?.message).toMatch(/terminating connection|lost a connection|closed|ended/);
    await watch((s) => s.state === "streaming" && s.error === null);
    expect((await api(apiProc.url, "GET", "/v1/sources")).status).toBe(200);
    await sql("INSERT INTO items VALUES (0, 'after the kill')");
    await watch((s) => (s.events["public.items"] ?? 0) > before);

    // ---- 19: a password changed on the database: failed with MESH_SOURCE_AUTH, and it stays so ----
    await sql(`ALTER ROLE ${role} PASSWORD 'changed-${password}'`, stackEnv().MESH_PG_URL);
    await terminateRoleBackends();
    const refused = (await watch((s) => s.error?.code === "MESH_SOURCE_AUTH")).at(-1)!;
    expect(refused.state).toBe("failed");
    expect(refused.error!.message).toMatch(/password authentication failed/);
    expect(refused.error!.message).not.toContain(password);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await status()).toMatchObject({ state: "failed", error: { code: "MESH_SOURCE_AUTH" } });

    // ---- 6: DELETE ?dropSlot=true that cannot drop the slot says so, with the SQL to do it by hand ----
    const deleted = await api(apiProc.url, "DELETE", `/v1/sources/${sourceName}?dropSlot=true`);
    expect(deleted.status).toBe(422);
    expect(deleted.body.code).toBe("MESH_SOURCE_AUTH");
    expect(deleted.body.message).toContain(`"${slot}"`);
    expect(deleted.body.message).toContain("pg_drop_replication_slot");
    expect(deleted.body.message).not.toContain(password);
    expect(deleted.body.details).toMatchObject({ source: sourceName, slot, deleted: true });
    expect((await api(apiProc.url, "GET", `/v1/sources/${sourceName}`)).status).toBe(404);
    const left = await sql("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", db.url, [slot]);
    expect(left).toHaveLength(1);
    // The SQL given works as written.
    await until("the slot dropped by hand", async () => {
      await sql(String(deleted.body.details!.sql));
      return (
        (await sql("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", db.url, [slot])).length === 0
      );
    });
  }, 300_000);

  it("a process running no connectors (--connect false) drops the slot on DELETE ?dropSlot=true", async () => {
    const other = await createPgDatabase("e2e_dropper");
    const name = uniqueName("dropped");
    const config = parseApiConfig(
      ["--port", "0", "--catalog-topic", catalogTopic, "--registry", registry.url, "--connect", "false"],
      { ...kafkaEnv(), MESH_ADMIN_TOKEN: TEST_ADMIN_TOKEN },
    );
    const observer = await startApi(config, { logger: silentLogger() });
    try {
      await sql("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)", other.url);
      const created = await api(apiProc.url, "POST", "/v1/sources", {
        name,
        owner: "dropper",
        kind: "postgres",
        url: other.url,
        tables: ["t"],
      });
      expect(created.status).toBe(201);
      await until("streaming, seen by the observer", async () => {
        const res = await api(observer.url, "GET", `/v1/sources/${name}`);
        return (res.body.status as Status | undefined)?.state === "streaming";
      });
      const slots = (): Promise<unknown[]> =>
        sql("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", other.url, [defaultSlotName(name)]);
      expect(await slots()).toHaveLength(1);
      const deleted = await api(observer.url, "DELETE", `/v1/sources/${name}?dropSlot=true`);
      expect(deleted).toEqual({ status: 200, body: { deleted: name, droppedSlot: true } });
      expect(await slots()).toHaveLength(0);
    } finally {
      await observer.stop();
      await other.drop();
    }
  }, 120_000);
});
