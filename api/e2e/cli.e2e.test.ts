// The `mesh` CLI end to end: the real bin/mesh.js run as a child process against a test API (registry,
// materializer and API on the real stack). Covers source add --wait, topic list, view create --wait (progress
// on stderr), view list/show/query/rm, source rm --drop-slot, --json output and the exit codes 0/1/2/3.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { silentLogger } from "../../lib/logger.ts";
import { startMaterializer, type RunningMaterializer } from "../../materializer/main.ts";
import type { RunningRegistry } from "../../registry/server.ts";
import { createPgDatabase, kafkaConnection, uniqueName } from "../../test/support/stack.ts";
import type { RunningApi } from "../service.ts";
import { mesh, startTestApi, startTestRegistry, testCatalogTopic, until } from "./harness.ts";
import { TEST_ADMIN_TOKEN } from "../../test/support/auth.ts";

let registry: RunningRegistry;
let materializer: RunningMaterializer;
let apiProc: RunningApi;
let db: Awaited<ReturnType<typeof createPgDatabase>>;
let env: Record<string, string>;
const dataDir = mkdtempSync(join(tmpdir(), "mesh-cli-e2e-"));
const tag = uniqueName("x").slice(2).replaceAll("-", "_");
const source = `cli_${tag}`;
const view = `cliv_${tag}`;
// Enough rows that the snapshot and the backfill are still running when --wait first polls.
const rows = 60_000;

async function query<T>(text: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    return (await c.query(text)).rows as T[];
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  db = await createPgDatabase("e2e_cli");
  await query(`CREATE TABLE orders (id bigint PRIMARY KEY, total numeric(12,2) NOT NULL, status text NOT NULL);
               INSERT INTO orders SELECT i, i * 1.5, CASE WHEN i % 3 = 0 THEN 'paid' ELSE 'new' END
               FROM generate_series(1, ${rows}) AS i`);
  registry = await startTestRegistry();
  materializer = await startMaterializer(
    {
      adminToken: TEST_ADMIN_TOKEN,
      ...kafkaConnection(),
      registryUrl: registry.url,
      dataDir,
      views: [],
      logLevel: "silent",
    },
    silentLogger(),
  );
  apiProc = await startTestApi(registry.url, testCatalogTopic(), materializer.engine);
  env = { MESH_API_URL: apiProc.url };
}, 120_000);

afterAll(async () => {
  await apiProc?.stop();
  await materializer?.stop();
  await registry?.stop();
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("mesh CLI against a running API", () => {
  it("source add --wait streams, topic list shows its topic", async () => {
    const added = await mesh(
      [
        "source",
        "add",
        "--name",
        source,
        "--owner",
        "orders",
        "--url",
        db.url,
        "--table",
        "orders",
        "--wait",
      ],
      env,
    );
    expect(added.stderr).not.toContain("unknown option");
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain(`registered ${source} (owner orders): streaming`);
    expect(added.stdout).toContain(`topic ${source}.public.orders`);
    expect(added.stdout + added.stderr).not.toContain(":mesh@"); // the password is never printed
    // --wait reports progress on stderr only (stdout stays for the result).
    expect(added.stderr).toMatch(/^((starting|snapshotting|snapshot .* rows.*)\n)+$/);

    const topics = await mesh(["topic", "list", "--json"], env);
    expect(topics.code).toBe(0);
    expect(JSON.parse(topics.stdout)).toEqual([
      expect.objectContaining({ topic: `${source}.public.orders`, owner: "orders", source }),
    ]);
    const shown = await mesh(["source", "show", source, "--json"], env);
    expect(JSON.parse(shown.stdout)).toMatchObject({ name: source, status: { state: "streaming" } });
  }, 120_000);

  it("view create --wait shows backfill progress on stderr; list, show, query, rm", async () => {
    const created = await mesh(
      ["view", "create", `CREATE VIEW ${view} AS SELECT id, total, status FROM orders`, "--wait"],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain(`created view ${view} (key id): ready, ${rows} rows`);
    // Progress goes to stderr (stdout stays for the result).
    expect(created.stderr).toMatch(/^(backfilling .*rows\n)+$/);

    const list = await mesh(["view", "list"], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${view}\\s+ready\\s+${rows}`));
    const show = await mesh(["view", "show", view, "--json"], env);
    expect(JSON.parse(show.stdout)).toMatchObject({ name: view, key: ["id"], status: { state: "ready" } });

    // Filters on columns without an index scan a bounded range per page: --all follows the cursors.
    const paid = await mesh(
      ["view", "query", view, "status=paid", "total[gte]=89995.5", "--all", "--json"],
      env,
    );
    expect(paid.code, paid.stderr).toBe(0);
    const page = JSON.parse(paid.stdout) as { rows: { id: string; status: string }[]; next: string | null };
    // Every third id is paid, and total = id * 1.5: ids 59997 and 60000.
    expect(page.rows.map((r) => r.id)).toEqual(["59997", "60000"]);
    const byKey = await mesh(["view", "query", view, "--key", "7", "--json"], env);
    expect(JSON.parse(byKey.stdout)).toEqual({ id: "7", total: "10.50", status: "new" });
    const all = await mesh(
      ["view", "query", view, "id[lte]=2500", "--limit", "1000", "--all", "--json"],
      env,
    );
    expect((JSON.parse(all.stdout) as { rows: unknown[] }).rows).toHaveLength(2500);

    // Exit codes: 2 usage (unknown option, missing name), 1 refused by the API.
    const bogus = await mesh(["view", "query", view, "--bogus", "1"], env);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toContain("unknown option --bogus");
    expect((await mesh(["view", "query", view, "--jsn"], env)).stderr).toContain("unknown option --jsn");
    expect((await mesh(["view", "show"], env)).code).toBe(2);
    const badValue = await mesh(["view", "query", view, "total[gte]=abc"], env);
    expect(badValue.code).toBe(1);
    expect(badValue.stderr).toContain("MESH_BAD_QUERY");
    const missing = await mesh(["view", "query", view, "--key", "999999"], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("MESH_NOT_FOUND");

    const rm = await mesh(["view", "rm", view], env);
    expect(rm.code).toBe(0);
    expect(rm.stdout).toContain(`deleted ${view}`);
    expect((await mesh(["view", "show", view], env)).code).toBe(1);
  }, 180_000);

  it("source rm --drop-slot removes the source and its slot; an unreachable API exits 3", async () => {
    const slots = (): Promise<{ n: string }[]> =>
      query<{ n: string }>(
        `SELECT count(*)::text AS n FROM pg_replication_slots WHERE database = current_database()`,
      );
    expect((await slots())[0]!.n).toBe("1");
    const rm = await mesh(["source", "rm", source, "--drop-slot", "--json"], env);
    expect(rm.code, rm.stdout + rm.stderr).toBe(0);
    expect(JSON.parse(rm.stdout)).toMatchObject({ deleted: source });
    await until("the slot dropped", async () => (await slots())[0]!.n === "0", 30_000);
    expect((await mesh(["source", "show", source], env)).code).toBe(1);
    expect((await mesh(["topic", "list"], { MESH_API_URL: "http://127.0.0.1:1" })).code).toBe(3);
    expect((await mesh(["source", "rm", "--bogus"], env)).code).toBe(2);
  }, 120_000);
});
