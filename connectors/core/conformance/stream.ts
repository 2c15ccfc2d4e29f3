// Snapshot and stream: every change kind with its envelope, tombstone, truncate and markers (per-partition
// counts where the events really are), and the seam between the initial snapshot and the stream while
// writes go on: no row missing, none read twice, and the topic replays to exactly the table.
import { describe, expect, it } from "vitest";
import { events, replay, shortName, waitFor, type Ev, type Suite } from "./context.ts";
import { readTopics } from "./harness.ts";

/** `INSERT ... VALUES` rows in statements of at most 1,000. */
export function insertRows(table: string, rows: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < rows.length; i += 1000)
    out.push(`INSERT INTO ${table} VALUES ${rows.slice(i, i + 1000).join(", ")}`);
  return out;
}

export function streamTests(s: Suite): void {
  describe("snapshot then stream", () => {
    it("snapshots rows (op r, last marked) and streams insert/update/delete/truncate with markers", async () => {
      const db = await s.database("cstream");
      const name = shortName("src");
      await db.exec(
        "CREATE TABLE items (id bigint PRIMARY KEY, name text, price numeric(10,2))",
        ...insertRows(
          "items",
          Array.from({ length: 25 }, (_, i) => `(${i + 1}, 'item ${i + 1}', ${((i + 1) * 1.5).toFixed(2)})`),
        ),
      );
      const connector = s.connector(s.def(name, db, ["items"]), { snapshotChunkRows: 7 });
      await connector.start();
      await s.streaming(connector);
      await db.exec(
        "BEGIN",
        "INSERT INTO items VALUES (100, 'new', 9.99), (101, 'newer', 10.00)",
        "UPDATE items SET price = 2.25 WHERE id = 1",
        "DELETE FROM items WHERE id = 2",
        "COMMIT",
        "TRUNCATE items",
      );
      const topic = `${name}.${db.qualified("items")}`;
      const h = s.harness();
      const msgs = await readTopics(
        h.kafka,
        h.registryUrl,
        [topic, `${name}.transactions`],
        (m) => m.filter((x) => x.topic === topic).length >= 25 + 5 + 3,
      );
      const data = msgs.filter((m) => m.topic === topic);
      const snapshot = events(msgs, topic).filter((m) => m.value.op === "r");
      expect(snapshot).toHaveLength(25);
      expect(snapshot.filter((m) => m.value.source.snapshot === "last")).toHaveLength(1);
      const first = snapshot.find((m) => String((m.key as { id: unknown }).id) === "1")?.value;
      expect(first?.after).toEqual({ id: 1n, name: "item 1", price: "1.50" });
      const streamed = data.filter((m) => m.value === null || (m.value as Ev).op !== "r");
      const ops = streamed.map((m) => (m.value === null ? "tombstone" : (m.value as Ev).op));
      expect(ops.filter((o) => o === "c")).toHaveLength(2);
      expect(ops.filter((o) => o === "u")).toHaveLength(1);
      expect(ops.filter((o) => o === "d")).toHaveLength(1);
      expect(ops.filter((o) => o === "tombstone")).toHaveLength(1);
      expect(ops.filter((o) => o === "t")).toHaveLength(3); // one per partition
      const upd = streamed.find((m) => (m.value as Ev | null)?.op === "u")?.value as Ev;
      expect(upd.after?.price).toBe("2.25");
      const txId = upd.transaction?.id;
      const markers = msgs
        .filter((m) => m.topic === `${name}.transactions`)
        .map(
          (m) =>
            m.value as { status: string; id: string; event_count: bigint | null; data_collections: unknown },
        );
      const end = markers.find((m) => m.status === "END" && m.id === txId);
      expect(end?.event_count).toBe(4n);
      // The END marker counts the transaction's events per partition, where they really are.
      const inTx = data.filter((m) => (m.value as Ev | null)?.transaction?.id === txId);
      const perPartition = new Map<number, bigint>();
      for (const m of inTx) perPartition.set(m.partition, (perPartition.get(m.partition) ?? 0n) + 1n);
      expect(end?.data_collections).toEqual([
        {
          data_collection: topic,
          event_count: 4n,
          partitions: [...perPartition]
            .sort(([x], [y]) => x - y)
            .map(([partition, event_count]) => ({ partition, event_count })),
        },
      ]);
      expect(markers.find((m) => m.status === "BEGIN" && m.id === txId)).toBeDefined();
    });

    it("leaves no gap and no duplicate at the seam between snapshot and stream while writes go on", async () => {
      const db = await s.database("cseam");
      const name = shortName("seam");
      const initial = 20_000;
      await db.exec(
        "CREATE TABLE t (id int PRIMARY KEY, v bigint NOT NULL)",
        "CREATE TABLE fence (id int PRIMARY KEY)",
        ...insertRows(
          "t",
          Array.from({ length: initial }, (_, i) => `(${i + 1}, 0)`),
        ),
      );
      let writing = true;
      let next = initial + 1;
      const deleted = new Set<number>();
      let transactions = 0;
      const writer = (async () => {
        while (writing) {
          const ids = Array.from({ length: 5 }, () => next++);
          const upd = Array.from({ length: 3 }, () => 1 + Math.floor(Math.random() * (next - 1)));
          const del = 1 + Math.floor(Math.random() * initial);
          deleted.add(del);
          await db.exec(
            "BEGIN",
            `INSERT INTO t VALUES ${ids.map((id) => `(${id}, 1)`).join(", ")}`,
            `UPDATE t SET v = v + 1 WHERE id IN (${upd.join(", ")})`,
            `DELETE FROM t WHERE id = ${del}`,
            "COMMIT",
          );
          transactions++;
        }
      })();
      try {
        // Writes run before the snapshot starts, during it and after it.
        await waitFor(() => transactions >= 20, 30_000, "writes under way");
        const connector = s.connector(s.def(name, db, ["t", "fence"]), { snapshotChunkRows: 500 });
        await connector.start();
        await s.streaming(connector);
        const streamedSince = transactions;
        await waitFor(() => transactions >= streamedSince + 50, 60_000, "writes while streaming");
        writing = false;
        await writer;
        const topic = `${name}.${db.qualified("t")}`;
        const msgs = await s.fenceAndRead(connector, db, "fence", [
          topic,
          `${name}.${db.qualified("fence")}`,
        ]);
        const evs = events(msgs, topic);
        // Each row inserted by the writer is in Kafka once: read by the snapshot or streamed, never both.
        const created = new Map<string, number>();
        for (const m of evs)
          if (m.value.op === "r" || m.value.op === "c") {
            const id = String((m.key as { id: unknown }).id);
            created.set(id, (created.get(id) ?? 0) + 1);
          }
        const twice = [...created].filter(([, n]) => n > 1);
        expect(twice).toEqual([]);
        for (let id = initial + 1; id < next; id++)
          expect({ id, n: created.get(String(id)) }).toEqual({ id, n: 1 });
        // A streamed transaction's events are there once.
        const positions = evs
          .filter((m) => m.value.transaction)
          .map((m) => `${m.value.transaction?.id}/${m.value.transaction?.total_order}`);
        expect(new Set(positions).size).toBe(positions.length);
        const rows = await db.query<{ id: number | string; v: number | string | bigint }>(
          "SELECT id, v FROM t",
        );
        const state = replay(msgs, topic);
        expect(state.size).toBe(rows.length);
        const wrong = rows.filter((r) => String(state.get(String(r.id))?.v) !== String(r.v));
        expect(wrong).toEqual([]);
        expect(transactions).toBeGreaterThan(70);
      } finally {
        writing = false;
        await writer.catch(() => undefined);
      }
    });
  });
}
