// The delivery guarantee under crashes, for any backend and delivery mode: a seeded workload (≥ 50k
// inserts, updates and deletes in 1,250 transactions) runs while the connector *process* (`mesh connect`) is
// SIGKILLed at random moments and restarted. Then every committed change is in Kafka, each key's changes are
// in commit order, a duplicate is only ever an exact replay of an earlier event (none at all in
// exactly-once mode), and replaying the topics rebuilds the source tables row by row. Registered by a
// backend's `*.serial.e2e.test.ts` (it kills processes on a schedule: alone on the machine).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaConnection, kafkaEnv } from "../../../test/support/stack.ts";
import type { Ev } from "./context.ts";
import { readTopics, shortId, startHarness, waitFor, type Harness, type ReadMessage } from "./harness.ts";
import { insertRows } from "./stream.ts";
import type { ConformanceTarget } from "./target.ts";
import { TEST_AUTH_ENV } from "../../../test/support/auth.ts";

export interface CrashTestOptions {
  /** The source's delivery mode (absent: the default). In "exactly-once" mode no duplicate may appear. */
  delivery?: string;
}

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function registerCrashTest(target: ConformanceTarget, options: CrashTestOptions = {}): void {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(kafkaConnection());
  });
  afterAll(async () => {
    await h?.stop();
  });
  const mode = options.delivery ?? "default";

  describe(`${target.kind} connector: crash safety (delivery ${mode})`, () => {
    it("loses nothing and keeps per-key order across repeated SIGKILLs of the connector process", async () => {
      const rand = mulberry32(20261127);
      const db = await target.createDatabase("crash");
      const name = shortId("crash");
      const dir = await mkdtemp(join(tmpdir(), "mesh-crash-"));
      const configPath = join(dir, "connect.json");
      await writeFile(
        configPath,
        JSON.stringify({
          // The SASL login goes to the child in its environment, never into a file.
          brokers: kafkaConnection().brokers,
          registryUrl: h.registryUrl,
          logLevel: "warn",
          heartbeatIntervalMs: 500,
          sources: [
            {
              name,
              owner: "svc",
              kind: target.kind,
              url: db.url,
              tables: [db.qualified("acct"), db.qualified("ledger")],
              snapshot: "initial",
              ...(options.delivery ? { delivery: options.delivery } : {}),
            },
          ],
        }),
      );
      let child: ChildProcess | null = null;
      const startChild = (): void => {
        child = spawn(process.execPath, ["connectors/main.ts", "--config", configPath], {
          env: { ...process.env, ...kafkaEnv(), ...TEST_AUTH_ENV },
          // Its warnings (logLevel warn: retries, lost connections) go to the test's output: a run that stalls
          // says why.
          stdio: ["ignore", "inherit", "inherit"],
        });
      };
      const topics = [
        `${name}.${db.qualified("acct")}`,
        `${name}.${db.qualified("ledger")}`,
        `${name}.transactions`,
      ];
      try {
        await db.exec(
          "CREATE TABLE acct (id int PRIMARY KEY, balance bigint NOT NULL, note text, version int NOT NULL)",
          "CREATE TABLE ledger (id bigint PRIMARY KEY, acct int NOT NULL, amount numeric(12,2) NOT NULL)",
          ...insertRows(
            "acct",
            Array.from({ length: 100 }, (_, i) => `(${i + 1}, 0, 'seed', 0)`),
          ),
        );
        startChild();
        await waitFor(
          async () => (await h.kafka.admin().listTopics()).includes(topics[0] as string),
          60_000,
          "the topics",
        );
        // The seed rows come through the snapshot: once they are in Kafka the connector streams.
        await readTopics(h.kafka, h.registryUrl, [topics[0] as string], (m) => m.length >= 100, {
          idleMs: 60_000,
          timeoutMs: 90_000,
        });

        // ---- workload, with kills at seeded random moments ----
        const expected = new Map<string, number>(); // "acct:id" / "ledger:id" → changes (the seed's read counts)
        const bump = (k: string): void => void expected.set(k, (expected.get(k) ?? 0) + 1);
        const live: number[] = Array.from({ length: 100 }, (_, i) => i + 1);
        for (const id of live) bump(`acct:${id}`);
        const dead: number[] = [];
        let nextAcct = 101;
        let nextLedger = 1;
        let changes = 0;
        const transactions = 1250;
        const killAt = new Set(
          Array.from({ length: 6 }, (_, i) => Math.floor(((i + 0.2 + rand() * 0.6) * transactions) / 6.5)),
        );
        let kills = 0;
        const started = Date.now();
        for (let t = 0; t < transactions; t++) {
          if (killAt.has(t)) {
            (child as ChildProcess | null)?.kill("SIGKILL");
            kills++;
            startChild();
          }
          const rows: string[] = [];
          const inserts = 8 + Math.floor(rand() * 20);
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
          const upd = new Set<number>();
          for (let i = 0; i < 14; i++) upd.add(live[Math.floor(rand() * live.length)] as number);
          for (const id of upd) bump(`acct:${id}`);
          const del = new Set<number>();
          for (let i = 0; i < 4 && live.length > 50; i++)
            del.add(live.splice(Math.floor(rand() * live.length), 1)[0] as number);
          // An id updated then deleted in one transaction: both changes count.
          for (const id of del) {
            bump(`acct:${id}`);
            dead.push(id);
          }
          const ledger: string[] = [];
          for (let i = 0; i < 6; i++) {
            ledger.push(`(${nextLedger}, ${live[0] ?? 0}, ${(rand() * 1e6).toFixed(2)})`);
            bump(`ledger:${nextLedger++}`);
          }
          await db.exec(
            "BEGIN",
            `INSERT INTO acct VALUES ${rows.join(", ")}`,
            `UPDATE acct SET balance = balance + 1, version = version + 1, note = 'u${t}' WHERE id IN (${[...upd].join(", ")})`,
            ...(del.size > 0 ? [`DELETE FROM acct WHERE id IN (${[...del].join(", ")})`] : []),
            `INSERT INTO ledger VALUES ${ledger.join(", ")}`,
            "COMMIT",
          );
          changes += inserts + upd.size + del.size + ledger.length;
          // Pace the workload so the kills land while it runs (about 25 s in all).
          const behind = started + (t * 25_000) / transactions - Date.now();
          if (behind > 0) await new Promise((r) => setTimeout(r, behind));
        }
        expect(kills).toBeGreaterThanOrEqual(5);
        expect(changes).toBeGreaterThanOrEqual(50_000);

        // ---- wait until every transaction's END marker is in Kafka, then stop the connector ----
        const ends = (msgs: ReadMessage[]): Set<string> =>
          new Set(
            msgs
              .filter(
                (m) => m.topic.endsWith(".transactions") && (m.value as { status: string }).status === "END",
              )
              .map((m) => (m.value as { id: string }).id),
          );
        const markers = await readTopics(
          h.kafka,
          h.registryUrl,
          [topics[2] as string],
          (m) => ends(m).size >= transactions,
          {
            idleMs: 60_000,
            timeoutMs: 120_000,
          },
        );
        expect(ends(markers).size).toBe(transactions);
        const exited = new Promise((r) => child?.once("exit", r));
        (child as ChildProcess | null)?.kill("SIGTERM");
        await exited;
        child = null;

        // ---- read everything back ----
        let total = 0;
        for (const topic of topics)
          for (const p of (await h.kafka.admin().offsets(topic)).values()) total += Number(p.high);
        const msgs = await readTopics(h.kafka, h.registryUrl, topics, (m) => m.length >= total, {
          idleMs: 15_000,
          timeoutMs: 90_000,
        });
        // Committed records only (a reader is read_committed): in exactly-once mode aborted ones are skipped.
        expect(msgs.length).toBeLessThanOrEqual(total);

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
          acct: new Map<string, Record<string, unknown>>(),
          ledger: new Map<string, Record<string, unknown>>(),
        };
        let duplicates = 0;
        for (const list of byKey.values()) {
          list.sort((a, b) => Number(BigInt(a.offset) - BigInt(b.offset)));
          const seen = new Map<string, string>();
          let distinct = 0;
          let lastOrder = -1n;
          for (const m of list) {
            if (m.value === null) continue; // tombstone after its delete
            const v = m.value as Ev;
            // Snapshot reads have no transaction: their identity is the row itself.
            const pos = v.transaction
              ? `${v.transaction.id}/${v.transaction.total_order}`
              : `r/${m.rawValue?.toString("hex")}`;
            const raw = m.rawValue?.toString("hex") ?? "";
            const before = seen.get(pos);
            if (before !== undefined) {
              expect(raw).toBe(before); // a duplicate must be byte-identical
              duplicates++;
              continue;
            }
            seen.set(pos, raw);
            // Commit order per key: each event's log position is after the one before.
            const order = target.logOrder(v.source);
            expect(order > lastOrder).toBe(true);
            lastOrder = order;
            distinct++;
            const table = m.topic.split(".").pop() as "acct" | "ledger";
            const id = String((m.key as { id: unknown }).id);
            if (v.op === "d") tables[table].delete(id);
            else tables[table].set(id, v.after ?? {});
          }
          const table = list[0]?.topic.split(".").pop();
          const id = String((list[0]?.key as { id: unknown }).id);
          expect({ key: `${table}:${id}`, n: distinct }).toEqual({
            key: `${table}:${id}`,
            n: expected.get(`${table}:${id}`),
          });
        }
        expect(byKey.size).toBe(expected.size);
        if (options.delivery === "exactly-once") {
          expect(duplicates).toBe(0);
          // Whole transactions once: every END marker exactly once, its BEGIN too.
          for (const status of ["BEGIN", "END"]) {
            const seen = msgs.filter(
              (m) => m.topic.endsWith(".transactions") && (m.value as { status: string }).status === status,
            );
            expect(seen.length).toBe(transactions);
          }
        }

        // ---- replaying the topics rebuilds the tables exactly ----
        const acct = await db.query<{ id: unknown; balance: unknown; note: string; version: unknown }>(
          "SELECT * FROM acct",
        );
        expect(tables.acct.size).toBe(acct.length);
        for (const r of acct)
          expect(tables.acct.get(String(r.id))).toEqual({
            id: Number(r.id),
            balance: BigInt(String(r.balance)),
            note: r.note,
            version: Number(r.version),
          });
        const ledger = await db.query<{ id: unknown; acct: unknown; amount: unknown }>(
          "SELECT * FROM ledger",
        );
        expect(tables.ledger.size).toBe(ledger.length);
        for (const r of ledger)
          expect(tables.ledger.get(String(r.id))).toEqual({
            id: BigInt(String(r.id)),
            acct: Number(r.acct),
            amount: String(r.amount),
          });
        console.log(
          `crash test (${target.kind}, delivery ${mode}): ${changes} changes in ${transactions} transactions, ${kills} SIGKILLs, ${msgs.length} messages read, ${duplicates} exact-replay duplicates`,
        );
      } finally {
        (child as ChildProcess | null)?.kill("SIGKILL");
        await db.drop();
      }
      // ~50 s quiet; a loaded machine (or a slow exactly-once commit path) needs more than the 120 s default.
    }, 300_000);
  });
}
