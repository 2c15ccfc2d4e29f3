// The delivery guarantee under crashes: a seeded workload (≥ 50k inserts, updates and deletes in ≥ 1k
// transactions) runs while the connector *process* is SIGKILLed at random moments and restarted. Then every
// committed change is in Kafka, each key's changes are in commit order, a duplicate is only ever an exact
// replay of an earlier event, and replaying the topics rebuilds the source tables row by row.
import { spawn, type ChildProcess } from "node:child_process";
import { writeFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPgDatabase, stackEnv } from "../../test/support/stack.ts";
import {
  readTopics,
  shortId,
  sourceDef,
  startHarness,
  waitFor,
  withPg,
  type Harness,
  type ReadMessage,
} from "./test-harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness(stackEnv().MESH_KAFKA_BROKERS.split(","));
});
afterAll(async () => {
  await h?.stop();
});

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Envelope {
  op: string;
  after: Record<string, unknown> | null;
  transaction: { id: string; total_order: bigint } | null;
}

describe("postgres connector: crash safety", () => {
  it("loses nothing and keeps per-key order across repeated SIGKILLs of the connector process", async () => {
    const seed = 20261127;
    const rand = mulberry32(seed);
    const db = await createPgDatabase("pgcrash");
    const name = shortId("crash");
    const dir = await mkdtemp(join(tmpdir(), "mesh-crash-"));
    const configPath = join(dir, "connect.json");
    await writeFile(
      configPath,
      JSON.stringify({
        brokers: stackEnv().MESH_KAFKA_BROKERS.split(","),
        registryUrl: h.registryUrl,
        logLevel: "warn",
        heartbeatIntervalMs: 500,
        sources: [sourceDef(name, db.url, ["public.acct", "public.ledger"])],
      }),
    );
    let child: ChildProcess | null = null;
    const startChild = (): void => {
      child = spawn(process.execPath, ["connectors/main.ts", "--config", configPath], {
        stdio: ["ignore", "ignore", "inherit"],
      });
    };
    const slotActive = (): Promise<boolean> =>
      withPg(
        stackEnv().MESH_PG_URL,
        async (c) =>
          (await c.query("SELECT 1 FROM pg_replication_slots WHERE database = $1 AND active", [db.name]))
            .rowCount === 1,
      );
    try {
      await withPg(db.url, async (c) => {
        await c.query(
          "CREATE TABLE public.acct (id int PRIMARY KEY, balance bigint NOT NULL, note text, version int NOT NULL)",
        );
        await c.query(
          "CREATE TABLE public.ledger (id bigint PRIMARY KEY, acct int NOT NULL, amount numeric(12,2) NOT NULL)",
        );
      });
      startChild();
      await waitFor(slotActive, 60_000, "first connector streaming");

      // ---- workload, with kills at seeded random moments ----
      const expected = new Map<string, number>(); // "acct:id" / "ledger:id" → committed changes
      const bump = (k: string): void => void expected.set(k, (expected.get(k) ?? 0) + 1);
      const live: number[] = [];
      const dead: number[] = [];
      let nextAcct = 1;
      let nextLedger = 1;
      let changes = 0;
      const transactions = 1250;
      const killAt = new Set(
        Array.from({ length: 6 }, (_, i) => Math.floor(((i + 0.2 + rand() * 0.6) * transactions) / 6.5)),
      );
      let kills = 0;
      const started = Date.now();
      await withPg(db.url, async (c) => {
        for (let t = 0; t < transactions; t++) {
          if (killAt.has(t)) {
            child?.kill("SIGKILL");
            kills++;
            startChild();
          }
          await c.query("BEGIN");
          const inserts = 8 + Math.floor(rand() * 20);
          const rows: string[] = [];
          for (let i = 0; i < inserts; i++) {
            // Sometimes a deleted key comes back: its delete and its new insert must stay in order.
            const id =
              dead.length > 0 && rand() < 0.1
                ? (dead.splice(Math.floor(rand() * dead.length), 1)[0] as number)
                : nextAcct++;
            rows.push(`(${id}, ${Math.floor(rand() * 1e12) - 5e11}, 'n${t}', 0)`);
            live.push(id);
            bump(`acct:${id}`);
          }
          await c.query(`INSERT INTO public.acct VALUES ${rows.join(",")}`);
          const upd = new Set<number>();
          for (let i = 0; i < 14 && live.length > 0; i++)
            upd.add(live[Math.floor(rand() * live.length)] as number);
          await c.query(
            "UPDATE public.acct SET balance = balance + 1, version = version + 1, note = note || '.' WHERE id = ANY($1)",
            [[...upd]],
          );
          for (const id of upd) bump(`acct:${id}`);
          const del = new Set<number>();
          for (let i = 0; i < 4 && live.length > 50; i++)
            del.add(live.splice(Math.floor(rand() * live.length), 1)[0] as number);
          await c.query("DELETE FROM public.acct WHERE id = ANY($1)", [[...del]]);
          for (const id of del) {
            bump(`acct:${id}`);
            dead.push(id);
          }
          const ledger: string[] = [];
          for (let i = 0; i < 6; i++) {
            ledger.push(`(${nextLedger}, ${live[0] ?? 0}, ${(rand() * 1e6).toFixed(2)})`);
            bump(`ledger:${nextLedger++}`);
          }
          await c.query(`INSERT INTO public.ledger VALUES ${ledger.join(",")}`);
          await c.query("COMMIT");
          changes += inserts + upd.size + del.size + ledger.length;
          // Pace the workload so the kills land while it runs (about 25 s in all).
          const behind = started + (t * 25_000) / transactions - Date.now();
          if (behind > 0) await new Promise((r) => setTimeout(r, behind));
        }
      });
      expect(kills).toBeGreaterThanOrEqual(5);
      expect(changes).toBeGreaterThanOrEqual(50_000);
      const endLsn = await withPg(
        db.url,
        async (c) =>
          (await c.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn")).rows[0]?.lsn ?? "0/0",
      );
      await waitFor(
        () =>
          withPg(
            stackEnv().MESH_PG_URL,
            async (c) =>
              (
                await c.query(
                  "SELECT 1 FROM pg_replication_slots WHERE database = $1 AND confirmed_flush_lsn >= $2::pg_lsn",
                  [db.name, endLsn],
                )
              ).rowCount === 1,
          ),
        90_000,
        "the connector to confirm the whole workload",
      );
      const exited = new Promise((r) => child?.once("exit", r));
      child!.kill("SIGTERM");
      await exited;
      child = null;

      // ---- read everything back ----
      const topics = [`${name}.public.acct`, `${name}.public.ledger`, `${name}.transactions`];
      let total = 0;
      for (const topic of topics)
        for (const p of (await h.kafka.admin().offsets(topic)).values()) total += Number(p.high);
      const msgs = await readTopics(h.kafka, h.registryUrl, topics, (m) => m.length >= total, {
        idleMs: 15_000,
        timeoutMs: 90_000,
      });
      expect(msgs.length).toBe(total);

      // ---- per key: exact-replay duplicates only, commit order, every change present ----
      const byKey = new Map<string, ReadMessage[]>();
      for (const m of msgs) {
        if (m.topic.endsWith(".transactions")) continue;
        const k = `${m.topic}|${m.partition}|${m.rawKey?.toString("hex")}`;
        let list = byKey.get(k);
        if (!list) byKey.set(k, (list = []));
        list.push(m);
      }
      const tables = {
        acct: new Map<number, Record<string, unknown>>(),
        ledger: new Map<string, Record<string, unknown>>(),
      };
      let duplicates = 0;
      for (const list of byKey.values()) {
        list.sort((a, b) => Number(BigInt(a.offset) - BigInt(b.offset)));
        const seen = new Map<string, string>();
        let last: [bigint, bigint] = [-1n, -1n];
        let distinct = 0;
        for (const m of list) {
          if (m.value === null) continue; // tombstone after its delete
          const v = m.value as Envelope;
          const [, commitLsn = "0"] = (v.transaction?.id ?? "").split(":");
          const pos = `${v.transaction?.id}/${v.transaction?.total_order}`;
          const raw = m.rawValue?.toString("hex") ?? "";
          const before = seen.get(pos);
          if (before !== undefined) {
            expect(raw).toBe(before); // a duplicate must be byte-identical
            duplicates++;
            continue;
          }
          seen.set(pos, raw);
          const order: [bigint, bigint] = [BigInt(commitLsn), v.transaction?.total_order ?? 0n];
          expect(order[0] > last[0] || (order[0] === last[0] && order[1] > last[1])).toBe(true);
          last = order;
          distinct++;
          const table = m.topic.split(".").pop() as "acct" | "ledger";
          const key = m.key as { id: number | bigint };
          if (table === "acct") {
            if (v.op === "d") tables.acct.delete(key.id as number);
            else tables.acct.set(key.id as number, v.after ?? {});
          } else if (v.op === "d") tables.ledger.delete(String(key.id));
          else tables.ledger.set(String(key.id), v.after ?? {});
        }
        const first = list[0]?.value as Envelope | null;
        const table = list[0]?.topic.split(".").pop();
        const id = (list[0]?.key as { id: number | bigint }).id;
        expect({ key: `${table}:${id}`, n: distinct }).toEqual({
          key: `${table}:${id}`,
          n: expected.get(`${table}:${id}`),
        });
        void first;
      }
      expect(byKey.size).toBe(expected.size);

      // ---- replaying the topics rebuilds the tables exactly ----
      await withPg(db.url, async (c) => {
        const acct = await c.query<{ id: number; balance: string; note: string; version: number }>(
          "SELECT * FROM public.acct ORDER BY id",
        );
        expect(tables.acct.size).toBe(acct.rows.length);
        for (const r of acct.rows)
          expect(tables.acct.get(r.id)).toEqual({
            id: r.id,
            balance: BigInt(r.balance),
            note: r.note,
            version: r.version,
          });
        const ledger = await c.query<{ id: string; acct: number; amount: string }>(
          "SELECT * FROM public.ledger ORDER BY id",
        );
        expect(tables.ledger.size).toBe(ledger.rows.length);
        for (const r of ledger.rows)
          expect(tables.ledger.get(r.id)).toEqual({ id: BigInt(r.id), acct: r.acct, amount: r.amount });
      });
      const ends = new Set(
        msgs
          .filter(
            (m) => m.topic.endsWith(".transactions") && (m.value as { status: string }).status === "END",
          )
          .map((m) => (m.value as { id: string }).id),
      );
      expect(ends.size).toBe(transactions);
      console.log(
        `crash test: ${changes} changes in ${transactions} transactions, ${kills} SIGKILLs, ${msgs.length} messages read, ${duplicates} exact-replay duplicates`,
      );
    } finally {
      (child as ChildProcess | null)?.kill("SIGKILL");
      await db.drop();
    }
  });
});
