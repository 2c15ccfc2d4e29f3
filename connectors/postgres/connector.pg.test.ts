import { describe, expect, it } from "vitest";
import { createPgDatabase } from "../../test/support/stack.ts";
import { useConnectorHarness } from "../../test/support/pg.ts";
import { createConnector, readTopics, shortId, sourceDef, waitFor, withPg } from "./test-harness.ts";

const h = useConnectorHarness();

describe("postgres connector: snapshot then streaming", () => {
  it("snapshots existing rows (op r, last marked) and streams insert/update/delete/truncate with markers", async () => {
    const db = await createPgDatabase("pgc");
    const name = shortId("src");
    try {
      await withPg(db.url, async (c) => {
        await c.query("CREATE TABLE public.items (id bigint PRIMARY KEY, name text, price numeric(10,2))");
        await c.query(
          "INSERT INTO public.items SELECT g, 'item ' || g, g * 1.5 FROM generate_series(1, 25) g",
        );
      });
      const connector = createConnector(
        sourceDef(name, db.url, ["public.items"]),
        h.deps({ snapshotChunkRows: 7 }),
      );
      await connector.start();
      await waitFor(() => connector.status().state === "streaming", 60_000, "streaming");
      await withPg(db.url, async (c) => {
        await c.query("BEGIN");
        await c.query("INSERT INTO public.items VALUES (100, 'new', 9.99), (101, 'newer', 10.00)");
        await c.query("UPDATE public.items SET price = 2.25 WHERE id = 1");
        await c.query("DELETE FROM public.items WHERE id = 2");
        await c.query("COMMIT");
        await c.query("TRUNCATE public.items");
      });
      const topic = `${name}.public.items`;
      const msgs = await readTopics(
        h.kafka,
        h.registryUrl,
        [topic, `${name}.transactions`],
        (m) => m.filter((x) => x.topic === topic).length >= 25 + 5 + 3,
      );
      await connector.stop();
      const data = msgs.filter((m) => m.topic === topic);
      const snapshot = data.filter((m) => (m.value as { op?: string } | null)?.op === "r");
      expect(snapshot).toHaveLength(25);
      expect(
        snapshot.filter((m) => (m.value as { source: { snapshot: string } }).source.snapshot === "last"),
      ).toHaveLength(1);
      const first = snapshot.find((m) => (m.key as { id: bigint }).id === 1n)?.value as {
        after: Record<string, unknown>;
      };
      expect(first.after).toEqual({ id: 1n, name: "item 1", price: "1.50" });
      const streamed = data.filter((m) => m.value === null || (m.value as { op: string }).op !== "r");
      const ops = streamed.map((m) => (m.value === null ? "tombstone" : (m.value as { op: string }).op));
      expect(ops.filter((o) => o === "c")).toHaveLength(2);
      expect(ops.filter((o) => o === "u")).toHaveLength(1);
      expect(ops.filter((o) => o === "d")).toHaveLength(1);
      expect(ops.filter((o) => o === "tombstone")).toHaveLength(1);
      expect(ops.filter((o) => o === "t")).toHaveLength(3); // one per partition
      const upd = streamed.find((m) => (m.value as { op?: string } | null)?.op === "u")?.value as {
        after: Record<string, unknown>;
        transaction: { id: string; total_order: bigint };
      };
      expect(upd.after.price).toBe("2.25");
      const markers = msgs
        .filter((m) => m.topic === `${name}.transactions`)
        .map(
          (m) =>
            m.value as { status: string; id: string; event_count: bigint | null; data_collections: unknown },
        );
      const end = markers.find((m) => m.status === "END" && m.id === upd.transaction.id);
      expect(end?.event_count).toBe(4n);
      // The END marker counts the transaction's events per partition, where they really are.
      const inTx = data.filter(
        (m) =>
          (m.value as { transaction?: { id: string } | null } | null)?.transaction?.id === upd.transaction.id,
      );
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
      expect(markers.find((m) => m.status === "BEGIN" && m.id === upd.transaction.id)).toBeDefined();
    } finally {
      await db.drop();
    }
  });
});
