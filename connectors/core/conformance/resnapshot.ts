// Re-snapshots and the lifecycle: an incremental re-snapshot while writes go on (a snapshot row never
// overwrites a newer change, so the topic replays to exactly the table), one that resumes at its next chunk
// after a restart, a stop in the middle of the initial snapshot (prompt; the next start snapshots again in
// full), and pause/resume.
import { describe, expect, it } from "vitest";
import { events, replay, shortName, waitFor, type Suite } from "./context.ts";
import { readTopics } from "./harness.ts";
import { insertRows } from "./stream.ts";

export function resnapshotTests(s: Suite): void {
  describe("re-snapshot and lifecycle", () => {
    it("re-snapshots in chunks while updates stream, and the topic replays to exactly the table", async () => {
      const db = await s.database("cinc");
      const name = shortName("inc");
      await db.exec(
        "CREATE TABLE t (id int PRIMARY KEY, v bigint NOT NULL)",
        "CREATE TABLE fence (id int PRIMARY KEY)",
        ...insertRows(
          "t",
          Array.from({ length: 4000 }, (_, i) => `(${i + 1}, 0)`),
        ),
      );
      // snapshot "never": the rows above reach Kafka only through the re-snapshot.
      const conn = s.connector(s.def(name, db, ["t", "fence"], { snapshot: "never" }), {
        snapshotChunkRows: 250,
      });
      await conn.start();
      await s.streaming(conn);
      let writing = true;
      let updates = 0;
      const writer = (async () => {
        while (writing) {
          // Several rows per transaction, some of them in the chunk being read.
          const ids = Array.from({ length: 3 }, () => 1 + Math.floor(Math.random() * 4000));
          await db.exec(`UPDATE t SET v = v + 1 WHERE id IN (${ids.join(", ")})`);
          updates++;
        }
      })();
      try {
        await conn.resnapshot([db.qualified("t")]);
        await waitFor(() => conn.status().progress !== null, 30_000, "re-snapshot started");
        await waitFor(() => conn.status().progress === null, 90_000, "re-snapshot done");
      } finally {
        writing = false;
        await writer;
      }
      const topic = `${name}.${db.qualified("t")}`;
      const msgs = await s.fenceAndRead(conn, db, "fence", [topic, `${name}.${db.qualified("fence")}`]);
      const incremental = events(msgs, topic).filter((m) => m.value.source.snapshot === "incremental").length;
      const rows = await db.query<{ id: number | string; v: number | string | bigint }>(
        "SELECT id, v FROM t",
      );
      const state = replay(msgs, topic);
      expect(state.size).toBe(4000);
      const wrong = rows.filter((r) => String(state.get(String(r.id))?.v) !== String(r.v));
      expect(wrong).toEqual([]);
      expect(updates).toBeGreaterThan(100);
      // Rows a streamed change superseded are left out of the chunk; every other row is re-read once.
      expect(incremental).toBeGreaterThan(4000 - 3 * updates - 1);
      expect(incremental).toBeLessThanOrEqual(4000);
    });

    it.runIf(s.target.exactResnapshot)(
      "re-reads rows changed just before a chunk by transactions its read saw (exact rule, no time window)",
      async () => {
        const db = await s.database("cexact");
        const name = shortName("exact");
        await db.exec(
          "CREATE TABLE t (id int PRIMARY KEY, v bigint NOT NULL)",
          "CREATE TABLE fence (id int PRIMARY KEY)",
          ...insertRows(
            "t",
            Array.from({ length: 1000 }, (_, i) => `(${i + 1}, 0)`),
          ),
        );
        const conn = s.connector(s.def(name, db, ["t", "fence"], { snapshot: "never" }), {
          snapshotChunkRows: 100,
        });
        await conn.start();
        await s.streaming(conn);
        // Every row changed a moment before the re-snapshot: committed, visible to every chunk's read. A
        // "changed in the last seconds" rule would drop them all from the chunks; the exact rule keeps them.
        for (let i = 0; i < 10; i++)
          await db.exec(`UPDATE t SET v = v + 1 WHERE id BETWEEN ${i * 100 + 1} AND ${i * 100 + 100}`);
        await conn.resnapshot([db.qualified("t")]);
        // 1,000 updates streamed, then 1,000 rows re-read (fewer if the rule dropped some: then it times out
        // and the count below says how many).
        await waitFor(
          () => (conn.status().events[db.qualified("t")] ?? 0) >= 2000,
          60_000,
          "re-snapshot done",
        ).catch(() => undefined);
        const topic = `${name}.${db.qualified("t")}`;
        const msgs = await s.fenceAndRead(conn, db, "fence", [topic, `${name}.${db.qualified("fence")}`]);
        const incremental = events(msgs, topic).filter((m) => m.value.source.snapshot === "incremental");
        expect(incremental).toHaveLength(1000);
        expect(incremental.every((m) => String(m.value.after?.v) === "1")).toBe(true);
      },
    );

    it("resumes an incremental re-snapshot at the next chunk after a restart", async () => {
      const db = await s.database("cincres");
      const name = shortName("incres");
      await db.exec(
        "CREATE TABLE t (id int PRIMARY KEY, v text)",
        ...insertRows(
          "t",
          Array.from({ length: 20_000 }, (_, i) => `(${i + 1}, 'v${i + 1}')`),
        ),
      );
      const def = s.def(name, db, ["t"], { snapshot: "never" });
      const first = s.connector(def, { snapshotChunkRows: 500 });
      await first.start();
      await s.streaming(first);
      await first.resnapshot([db.qualified("t")]);
      await waitFor(() => (first.status().progress?.rowsDone ?? 0) >= 2000, 60_000, "re-snapshot under way");
      await first.stop();
      const second = s.connector(def, { snapshotChunkRows: 500 });
      await second.start();
      await waitFor(() => (second.status().events[db.qualified("t")] ?? 0) > 0, 60_000, "resumed chunks");
      await waitFor(() => second.status().progress === null, 90_000, "re-snapshot done");
      const h = s.harness();
      const topic = `${name}.${db.qualified("t")}`;
      const msgs = await readTopics(h.kafka, h.registryUrl, [topic], () => false, { idleMs: 4000 });
      const counts = new Map<number, number>();
      for (const m of events(msgs, topic)) {
        const id = Number(m.value.after?.id ?? 0);
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      expect(counts.size).toBe(20_000);
      // The first 2,000 rows were acknowledged and their progress saved before the stop: not read again.
      for (let id = 1; id <= 2000; id++) expect(counts.get(id)).toBe(1);
    });

    it("stops promptly mid-snapshot, redoes the snapshot on the next start, pauses and resumes", async () => {
      const db = await s.database("clife");
      const name = shortName("life");
      await db.exec(
        "CREATE TABLE t (id int PRIMARY KEY, v text)",
        ...insertRows(
          "t",
          Array.from({ length: 30_000 }, (_, i) => `(${i + 1}, 'v${i + 1}')`),
        ),
      );
      const def = s.def(name, db, ["t"]);
      const first = s.connector(def, { snapshotChunkRows: 500 });
      await first.start();
      await waitFor(() => (first.status().progress?.rowsDone ?? 0) >= 2000, 60_000, "snapshot under way");
      const t0 = Date.now();
      await first.stop();
      expect(Date.now() - t0).toBeLessThan(20_000);
      expect(first.status().state).toBe("stopped");

      const second = s.connector(def, { snapshotChunkRows: 5000 });
      await second.start();
      await s.streaming(second);
      await second.pause();
      expect(second.status().state).toBe("paused");
      await db.exec("INSERT INTO t VALUES (30001, 'while paused')");
      await second.resume();
      await waitFor(
        () => (second.status().events[db.qualified("t")] ?? 0) >= 30001,
        60_000,
        "the insert made while paused",
      );
      const h = s.harness();
      const topic = `${name}.${db.qualified("t")}`;
      const msgs = await readTopics(h.kafka, h.registryUrl, [topic], () => false, { idleMs: 4000 });
      const evs = events(msgs, topic);
      const reads = new Set(evs.filter((m) => m.value.op === "r").map((m) => Number(m.value.after?.id)));
      expect(reads.size).toBe(30_000);
      expect(evs.filter((m) => m.value.op === "c").map((m) => Number(m.value.after?.id))).toEqual([30001]);
    });
  });
}
