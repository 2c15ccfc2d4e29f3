// Connector placement across API processes on the real stack: two `mesh api` processes (real OS processes,
// so one can be killed with SIGKILL) share one catalog; exactly one runs the source's connector, both show
// its status; after the holder is killed the other takes the source over and resumes from the stored
// offsets: every row arrives, in order, with duplicates only as exact replays (docs/contracts.md).
import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import type { RunningRegistry } from "../../registry/server.ts";
import { createPgDatabase, kafka, kafkaEnv, stackEnv, uniqueName } from "../../test/support/stack.ts";
import { api, readTopicToEnd, startTestRegistry, testCatalogTopic, until } from "./harness.ts";
import { authHeaders, TEST_AUTH_ENV } from "../../test/support/auth.ts";

interface ApiChild {
  proc: ChildProcess;
  url: string;
}

let registry: RunningRegistry;
let db: Awaited<ReturnType<typeof createPgDatabase>>;
const children: ApiChild[] = [];
const catalogTopic = testCatalogTopic();
const source = uniqueName("placed").replaceAll("_", "-");
const topic = `${source}.public.items`;

/** `mesh api` as its own process; resolves with its URL once it listens. */
function startApiProcess(extra: string[] = []): Promise<ApiChild> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      [
        "bin/mesh.js",
        "api",
        "--port",
        "0",
        "--catalog-topic",
        catalogTopic,
        "--registry",
        registry.url,
        "--brokers",
        stackEnv().MESH_KAFKA_BROKERS,
        "--log-level",
        "error",
        ...extra,
      ],
      { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...TEST_AUTH_ENV, ...kafkaEnv() } },
    );
    let out = "";
    proc.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) {
        const child = { proc, url: m[1] };
        children.push(child);
        resolve(child);
      }
    });
    proc.once("exit", (code) => reject(new Error(`mesh api exited ${code} before listening: ${out}`)));
  });
}

async function insert(from: number, to: number): Promise<void> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    // One transaction per 5 rows, so a kill lands between and inside transactions.
    for (let i = from; i <= to; i += 5) {
      await c.query("INSERT INTO items SELECT g, 'v' || g FROM generate_series($1::int, $2::int) g", [
        i,
        Math.min(to, i + 4),
      ]);
    }
  } finally {
    await c.end();
  }
}

interface Shown {
  state: string;
  holder: { url: string; stale: boolean } | null;
}

async function statusAt(url: string): Promise<Shown> {
  return (await api(url, "GET", `/v1/sources/${source}`)).body.status as Shown;
}

beforeAll(async () => {
  db = await createPgDatabase("e2e_placed");
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  await c.query("CREATE TABLE items (id int PRIMARY KEY, v text NOT NULL)");
  await c.end();
  registry = await startTestRegistry();
});

afterAll(async () => {
  for (const child of children) child.proc.kill("SIGKILL");
  await registry?.stop();
  await db?.drop();
});

describe("connector placement across API processes", () => {
  it("runs each source in exactly one process, shows its status everywhere, and fails over on SIGKILL", async () => {
    const a = await startApiProcess();
    const b = await startApiProcess();
    // A process that runs no connectors (--connect false) still shows the status and forwards re-snapshots.
    const observer = await startApiProcess(["--connect", "false"]);
    const created = await api(a.url, "POST", "/v1/sources", {
      name: source,
      owner: "placement",
      kind: "postgres",
      url: db.url,
      tables: ["items"],
    });
    expect(created.status).toBe(201);

    // Both processes show the same holder, streaming; the other one's view comes from the status topic.
    const holderUrl = await until("one holder shown by both", async () => {
      const [sa, sb] = await Promise.all([statusAt(a.url), statusAt(b.url)]);
      return sa.state === "streaming" &&
        sb.state === "streaming" &&
        sa.holder &&
        sa.holder.url === sb.holder?.url
        ? sa.holder.url
        : undefined;
    });
    expect([a.url, b.url]).toContain(holderUrl);
    const holder = holderUrl === a.url ? a : b;
    const other = holder === a ? b : a;
    // Only the holder runs the connector (GET /v1/status lists what runs in each process), and exactly one
    // walsender reads the slot.
    const running = async (url: string): Promise<string[]> =>
      ((await api(url, "GET", "/v1/status")).body as { roles: { connect: { running: string[] } } }).roles
        .connect.running;
    expect(await running(holder.url)).toEqual([source]);
    expect(await running(other.url)).toEqual([]);
    expect(await running(observer.url)).toEqual([]);
    expect(await statusAt(observer.url)).toMatchObject({ state: "streaming", holder: { url: holder.url } });
    expect(await slotActivity()).toEqual({ active: 1 });

    // Pause and resume asked of the process that does not run the connector reach it through the catalog.
    expect((await api(other.url, "POST", `/v1/sources/${source}/pause`)).status).toBe(200);
    await until("paused, shown by both", async () => {
      const [sa, sb] = await Promise.all([statusAt(a.url), statusAt(b.url)]);
      return sa.state === "paused" && sb.state === "paused";
    });
    expect((await api(other.url, "POST", `/v1/sources/${source}/resume`)).status).toBe(200);
    await until("streaming again", async () => (await statusAt(holder.url)).state === "streaming");
    // A re-snapshot asked of the process that does not run the connector is forwarded to the one that does.
    for (const asked of [other, observer]) {
      const resnap = await api(asked.url, "POST", `/v1/sources/${source}/snapshot`, { tables: ["items"] });
      expect(resnap.status).toBe(202);
    }

    await insert(1, 100);
    // Kill the holder while rows are still being written.
    const writing = insert(101, 200);
    await new Promise((r) => setTimeout(r, 300));
    holder.proc.kill("SIGKILL");
    const killedAt = Date.now();
    await writing;
    await insert(201, 250);

    await until(
      "the survivor runs the source",
      async () => {
        const s = await statusAt(other.url);
        return s.state === "streaming" && s.holder?.url === other.url;
      },
      60_000,
    );
    const takeoverMs = Date.now() - killedAt;
    // Session timeout 6 s + rebalance + connector start; generous for a loaded machine.
    expect(takeoverMs).toBeLessThan(45_000);

    const ids = await until("every row on the topic", async () => {
      const got = await readTopic();
      return got.length >= 250 ? got : undefined;
    });
    // Each row exactly once after the dedupe rule, in insertion order per partition.
    expect([...ids.map((e) => e.id)].sort((x, y) => x - y)).toEqual([...Array(250).keys()].map((i) => i + 1));
    for (const p of new Set(ids.map((e) => e.partition))) {
      const seq = ids.filter((e) => e.partition === p && e.op === "c").map((e) => e.id);
      expect(seq).toEqual([...seq].sort((x, y) => x - y));
    }
    expect(await running(other.url)).toEqual([source]);
    const deleted = await api(other.url, "DELETE", `/v1/sources/${source}?dropSlot=true`);
    expect(deleted.body).toEqual({ deleted: source, droppedSlot: true });
    expect(await running(other.url)).toEqual([]);
    expect(await slotCount()).toBe(0);
    console.log(
      `placement: takeover after SIGKILL in ${takeoverMs} ms; ${rawInserts} insert events on the topic for 250 rows`,
    );
  }, 180_000);
});

let rawInserts = 0;

async function slotCount(): Promise<number> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    const r = await c.query("SELECT 1 FROM pg_replication_slots WHERE database = current_database()");
    return r.rowCount ?? 0;
  } finally {
    await c.end();
  }
}

async function slotActivity(): Promise<{ active: number }> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    const r = await c.query<{ n: string }>(
      "SELECT count(*) AS n FROM pg_replication_slots WHERE database = current_database() AND active",
    );
    return { active: Number(r.rows[0]?.n ?? 0) };
  } finally {
    await c.end();
  }
}

/** Every insert event on the topic, de-duplicated on (transaction.id, total_order), in partition order. */
async function readTopic(): Promise<{ id: number; partition: number; op: string }[]> {
  const { decodeWire, toJsonValue, wireSchemaId, avroType } = await import("../../lib/avro.ts");
  const types = new Map<number, ReturnType<typeof avroType>>();
  const decode = async (buf: Buffer): Promise<Record<string, unknown>> => {
    const id = wireSchemaId(buf);
    let type = types.get(id);
    if (!type) {
      const res = await fetch(`${registry.url}/schemas/ids/${id}`, { headers: authHeaders() });
      type = avroType(((await res.json()) as { schema: string }).schema);
      types.set(id, type);
    }
    return toJsonValue(type, decodeWire(type, buf)) as Record<string, unknown>;
  };
  const seen = new Set<string>();
  rawInserts = 0;
  const out: { id: number; partition: number; op: string }[] = [];
  for (const record of await readTopicToEnd(kafka(), topic)) {
    if (!record.value) continue;
    const { partition, offset } = record;
    const env = await decode(record.value);
    const tx = env.transaction as { id: string; total_order: string } | null;
    const key = tx ? `${tx.id}/${tx.total_order}` : `${partition}:${offset}`;
    const after = env.after as { id: number | string } | null;
    if (env.op === "c") rawInserts++;
    if (!seen.has(key) && after && (env.op === "c" || env.op === "r")) {
      seen.add(key);
      if (env.op === "c") out.push({ id: Number(after.id), partition, op: "c" });
    }
  }
  return out;
}
