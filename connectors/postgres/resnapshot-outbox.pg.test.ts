// Ad-hoc incremental re-snapshot while writes go on (a snapshot row never overwrites a newer change), and
// outbox routing from a table and from logical messages.
import { describe, expect, it } from "vitest";
import { createPgDatabase, stackEnv } from "../../test/support/stack.ts";
import { useConnectorHarness } from "../../test/support/pg.ts";
import type { Connector } from "../core/change-source.ts";
import { createConnector, readTopics, shortId, sourceDef, waitFor, withPg } from "./test-harness.ts";

const h = useConnectorHarness();

const confirmedPast = (dbName: string, lsn: string) => () =>
  withPg(
    stackEnv().MESH_PG_URL,
    async (c) =>
      (
        await c.query(
          "SELECT 1 FROM pg_replication_slots WHERE database = $1 AND confirmed_flush_lsn >= $2::pg_lsn",
          [dbName, lsn],
        )
      ).rowCount === 1,
  );
const currentLsn = (url: string): Promise<string> =>
  withPg(
    url,
    async (c) => (await c.query<{ l: string }>("SELECT pg_current_wal_lsn()::text AS l")).rows[0]?.l ?? "0/0",
  );

describe("postgres connector: incremental re-snapshot", () => {
  it("re-snapshots in chunks while updates stream, and the topic replays to exactly the table", async () => {
    const db = await createPgDatabase("pginc");
    const name = shortId("inc");
    let connector: Connector | null = null;
    let writing = true;
    try {
      await withPg(db.url, async (c) => {
        await c.query("CREATE TABLE public.t (id int PRIMARY KEY, v bigint NOT NULL)");
        await c.query("INSERT INTO public.t SELECT g, 0 FROM generate_series(1, 4000) g");
      });
      // snapshot "never": the rows above reach Kafka only through the re-snapshot.
      const conn = createConnector(
        sourceDef(name, db.url, ["public.t"], { snapshot: "never" }),
        h.deps({ snapshotChunkRows: 250 }),
      );
      connector = conn;
      await conn.start();
      await waitFor(() => conn.status().state === "streaming", 60_000, "streaming");
      let updates = 0;
      const writer = withPg(db.url, async (c) => {
        while (writing) {
          const id = 1 + Math.floor(Math.random() * 4000);
          await c.query("UPDATE public.t SET v = v + 1 WHERE id = $1", [id]);
          updates++;
        }
      });
      await conn.resnapshot(["public.t"]);
      await waitFor(() => conn.status().progress !== null, 30_000, "re-snapshot started");
      await waitFor(() => conn.status().progress === null, 60_000, "re-snapshot done");
      writing = false;
      await writer;
      await waitFor(confirmedPast(db.name, await currentLsn(db.url)), 30_000, "caught up");
      const topic = `${name}.public.t`;
      const msgs = await readTopics(h.kafka, h.registryUrl, [topic], () => false, { idleMs: 4000 });
      await conn.stop();
      const state = new Map<number, bigint>();
      let incremental = 0;
      for (const m of msgs) {
        const v = m.value as { op: string; after: { id: number; v: bigint }; source: { snapshot: string } };
        if (v.source.snapshot === "incremental") incremental++;
        state.set(v.after.id, v.after.v);
      }
      const rows = await withPg(
        db.url,
        async (c) => (await c.query<{ id: number; v: string }>("SELECT id, v FROM public.t")).rows,
      );
      expect(state.size).toBe(4000);
      const wrong = rows.filter((r) => state.get(r.id) !== BigInt(r.v));
      expect(wrong).toEqual([]);
      expect(updates).toBeGreaterThan(100);
      expect(incremental).toBeGreaterThan(4000 - updates - 1);
      expect(incremental).toBeLessThanOrEqual(4000);
    } finally {
      writing = false;
      await connector?.stop().catch(() => undefined);
      await db.drop();
    }
  });
});

describe("postgres connector: outbox", () => {
  it("routes outbox rows and logical messages to <owner>.<aggregatetype> in commit order, nothing for deletes", async () => {
    const db = await createPgDatabase("pgoutbox");
    const name = shortId("obx");
    const owner = shortId("orders");
    let connector: Connector | null = null;
    try {
      await withPg(db.url, async (c) => {
        await c.query("CREATE TABLE public.orders (id int PRIMARY KEY)");
        await c.query(
          "CREATE TABLE public.outbox (id text PRIMARY KEY, aggregatetype text, aggregateid text, type text, payload jsonb)",
        );
      });
      const def = sourceDef(name, db.url, ["public.orders"], {
        owner,
        outbox: { tables: ["public.outbox"], messagePrefix: "outbox" },
      });
      const conn = createConnector(def, h.deps());
      connector = conn;
      await conn.start();
      await waitFor(() => conn.status().state === "streaming", 60_000, "streaming");
      await withPg(db.url, async (c) => {
        for (let i = 1; i <= 5; i++) {
          await c.query("BEGIN");
          await c.query("INSERT INTO public.orders VALUES ($1)", [i]);
          await c.query("INSERT INTO public.outbox VALUES ($1, 'Order', $2, 'OrderPlaced', $3)", [
            `e${i}`,
            `o-${i % 2}`,
            JSON.stringify({ n: i }),
          ]);
          await c.query("DELETE FROM public.outbox WHERE id = $1", [`e${i}`]);
          await c.query("COMMIT");
        }
        await c.query("SELECT pg_logical_emit_message(true, 'outbox', $1)", [
          JSON.stringify({
            id: "m1",
            aggregatetype: "Order",
            aggregateid: "o-1",
            type: "OrderShipped",
            payload: { n: 6 },
          }),
        ]);
      });
      await waitFor(
        async () => (await h.kafka.admin().listTopics()).includes(`${owner}.Order`),
        30_000,
        "the outbox topic",
      );
      const msgs = await readTopics(h.kafka, h.registryUrl, [`${owner}.Order`], (m) => m.length >= 6, {
        idleMs: 3000,
      });
      await conn.stop();
      expect(msgs).toHaveLength(6);
      const odd = msgs
        .filter((m) => m.rawKey?.toString() === "o-1")
        .map((m) => [m.headers.id, m.headers.type, JSON.parse(String(m.value)) as unknown]);
      expect(odd).toEqual([
        ["e1", "OrderPlaced", { n: 1 }],
        ["e3", "OrderPlaced", { n: 3 }],
        ["e5", "OrderPlaced", { n: 5 }],
        ["m1", "OrderShipped", { n: 6 }],
      ]);
      expect(msgs.filter((m) => m.rawKey?.toString() === "o-0").map((m) => m.headers.id)).toEqual([
        "e2",
        "e4",
      ]);
      expect(conn.status().events).toEqual({ "public.orders": 5 });
    } finally {
      await connector?.stop().catch(() => undefined);
      await db.drop();
    }
  });
});
