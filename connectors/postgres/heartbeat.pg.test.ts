// Heartbeats keep the slot moving while the captured tables are idle and the database is busy elsewhere,
// so the WAL the slot retains stays small (Debezium's classic "WAL growth on idle slots").
import { describe, expect, it } from "vitest";
import { createPgDatabase, stackEnv } from "../../test/support/stack.ts";
import { useConnectorHarness } from "../../test/support/pg.ts";
import { createConnector, readTopics, shortId, sourceDef, waitFor, withPg } from "./test-harness.ts";

const h = useConnectorHarness();

describe("postgres connector: heartbeats", () => {
  it("keeps retained WAL small after heavy writes to an uncaptured table", async () => {
    const db = await createPgDatabase("pghb");
    const name = shortId("hb");
    try {
      await withPg(db.url, async (c) => {
        await c.query("CREATE TABLE public.captured (id int PRIMARY KEY)");
        await c.query("CREATE TABLE public.busy (id bigint, pad text)");
      });
      const connector = createConnector(
        sourceDef(name, db.url, ["public.captured"]),
        h.deps({ heartbeatIntervalMs: 500 }),
      );
      await connector.start();
      await waitFor(() => connector.status().state === "streaming", 60_000, "streaming");
      const retained = (): Promise<{ restart: number; confirmed: number }> =>
        withPg(stackEnv().MESH_PG_URL, async (c) => {
          const r = await c.query<{ restart: string; confirmed: string }>(
            `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS restart,
                    pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint AS confirmed
               FROM pg_replication_slots WHERE database = $1`,
            [db.name],
          );
          return { restart: Number(r.rows[0]?.restart), confirmed: Number(r.rows[0]?.confirmed) };
        });
      const written = await withPg(db.url, async (c) => {
        const before = (await c.query<{ l: string }>("SELECT pg_current_wal_lsn()::text AS l")).rows[0]?.l;
        for (let i = 0; i < 4; i++)
          await c.query(
            "INSERT INTO public.busy SELECT g, repeat('x', 80) FROM generate_series(1, 100000) g",
          );
        const diff = await c.query<{ d: string }>(
          "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint AS d",
          [before],
        );
        return Number(diff.rows[0]?.d);
      });
      expect(written).toBeGreaterThan(40 * 1024 * 1024);
      // Other databases on this cluster may write too, so "small" is relative to what this test wrote.
      let last = await retained();
      await waitFor(
        async () => {
          last = await retained();
          return last.restart < written / 10 && last.confirmed < written / 10;
        },
        45_000,
        "retained WAL to shrink",
      ).catch(() => undefined);
      expect({
        written,
        ...last,
        smallRestart: last.restart < written / 10,
        smallConfirmed: last.confirmed < written / 10,
      }).toMatchObject({
        smallRestart: true,
        smallConfirmed: true,
      });
      const beats = await readTopics(h.kafka, h.registryUrl, [`${name}.heartbeat`], (m) => m.length >= 2, {
        idleMs: 3000,
      });
      await connector.stop();
      expect(beats.length).toBeGreaterThanOrEqual(2);
      expect(beats[0]?.key).toEqual({ source: name });
      expect(connector.status().events).toEqual({});
    } finally {
      await db.drop();
    }
  });
});
