// A stored position the server no longer has (a slot dropped behind the connector's back, purged logs):
// in snapshot mode `initial` the connector stops with MESH_SOURCE_POSITION_LOST naming what is gone and
// what to do, both on a restart and while it runs; in `when_needed` it snapshots again and streams on, with
// every row in Kafka.
import { describe, expect, it } from "vitest";
import { events, shortName, waitFor, type Suite } from "./context.ts";
import { readTopics } from "./harness.ts";

export function positionLostTests(s: Suite): void {
  describe("a stored position the server no longer has", () => {
    it("restarted in snapshot mode initial: stops with a clear error naming what is gone and what to do", async () => {
      const db = await s.database("clost");
      const name = shortName("lost");
      await db.exec("CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t VALUES (1)");
      const def = s.def(name, db, ["t"]);
      const first = s.connector(def);
      await first.start();
      await s.streaming(first);
      await db.exec("INSERT INTO t VALUES (2)");
      await waitFor(() => (first.status().events[db.qualified("t")] ?? 0) >= 2, 30_000, "the insert");
      await first.stop();
      const gone = await s.target.losePosition(db, def);
      await db.exec("INSERT INTO t VALUES (3)");
      const second = s.connector(def);
      await expect(second.start()).rejects.toMatchObject({ code: "MESH_SOURCE_POSITION_LOST" });
      const status = second.status();
      expect(status.state).toBe("failed");
      expect(status.error?.code).toBe("MESH_SOURCE_POSITION_LOST");
      expect(status.error?.message).toContain(gone);
      expect(status.error?.message).toContain("when_needed");
    });

    it("lost while streaming: the running connector stops with the same clear status", async () => {
      const db = await s.database("clostrun");
      const name = shortName("lostrun");
      await db.exec("CREATE TABLE t (id int PRIMARY KEY)");
      const def = s.def(name, db, ["t"]);
      // A long retry delay: the position is gone before the connector comes back.
      const conn = s.connector(def, { retryDelayMs: 3000 });
      await conn.start();
      await s.streaming(conn);
      const gone = await s.target.losePosition(db, def);
      await waitFor(
        () => conn.status().error?.code === "MESH_SOURCE_POSITION_LOST",
        60_000,
        "the lost position",
      );
      expect(conn.status().state).toBe("failed");
      expect(conn.status().error?.message).toContain(gone);
    });

    it("restarted in snapshot mode when_needed: snapshots again and streams on", async () => {
      const db = await s.database("cneeded");
      const name = shortName("needed");
      await db.exec("CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t VALUES (1)");
      const def = s.def(name, db, ["t"], { snapshot: "when_needed" });
      const first = s.connector(def);
      await first.start();
      await s.streaming(first);
      await first.stop();
      await s.target.losePosition(db, def);
      await db.exec("INSERT INTO t VALUES (2)");
      const second = s.connector(def);
      await second.start();
      await s.streaming(second);
      await db.exec("INSERT INTO t VALUES (3)");
      const topic = `${name}.${db.qualified("t")}`;
      const h = s.harness();
      const msgs = await readTopics(h.kafka, h.registryUrl, [topic], (m) => m.length >= 4, { idleMs: 4000 });
      const evs = events(msgs, topic).map((m) => [m.value.op, Number(m.value.after?.id)]);
      // The first snapshot read 1; the second read 1 and 2 (2 was committed while nothing captured); 3 streamed.
      expect(
        evs
          .filter(([op]) => op === "r")
          .map(([, id]) => id)
          .sort(),
      ).toEqual([1, 1, 2]);
      expect(evs.filter(([op]) => op === "c").map(([, id]) => id)).toEqual([3]);
    });
  });
}
