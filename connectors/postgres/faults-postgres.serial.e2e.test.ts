// Faults of the source database mid-stream, on a private Postgres cluster (deploy/local, other ports) so the
// shared one is never restarted: the walsender ended by pg_terminate_backend, then the whole server
// restarted. Each time the connector shows the lost connection, reconnects by itself and loses nothing:
// the topic replays to exactly the table. (A slot dropped behind the connector's back is the conformance
// suite's "lost while streaming" test.)
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaConnection } from "../../test/support/stack.ts";
import { replay } from "../core/conformance/context.ts";
import { privatePostgres } from "./test-support/private-stack.ts";
import {
  createConnector,
  readTopics,
  shortId,
  sourceDef,
  startHarness,
  waitFor,
  type Harness,
} from "./test-harness.ts";

let h: Harness;
let server: Awaited<ReturnType<typeof privatePostgres>>;
beforeAll(async () => {
  h = await startHarness(kafkaConnection());
  server = await privatePostgres(29600);
}, 180_000);
afterAll(async () => {
  await server?.remove();
  await h?.stop();
});

/** One query on a fresh connection (the server may have restarted since the last). */
async function sql<T extends pg.QueryResultRow>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  c.on("error", () => undefined);
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end().catch(() => undefined);
  }
}

describe("fault: the source database mid-stream", () => {
  it("survives the walsender terminated and the server restarted, losing nothing", async () => {
    const name = shortId("fpg");
    const url = await server.createDatabase(name);
    await sql(url, "CREATE TABLE public.t (id int PRIMARY KEY, v int NOT NULL)");
    const connector = createConnector(sourceDef(name, url, ["public.t"]), h.deps({ retryDelayMs: 300 }));
    let writing = true;
    let next = 1;
    const seen: string[] = [];
    const watch = setInterval(() => {
      const s = connector.status();
      seen.push(`${s.state}:${s.error?.code ?? ""}`);
    }, 200);
    // Inserts one row per transaction and bumps an older one; a failed attempt (server gone) is retried, and
    // whether an interrupted commit landed is for the table to say at the end.
    const writer = (async () => {
      while (writing) {
        const id = next;
        try {
          await sql(
            url,
            "WITH i AS (INSERT INTO public.t VALUES ($1, 0) ON CONFLICT (id) DO NOTHING) UPDATE public.t SET v = v + 1 WHERE id = $2",
            [id, Math.max(1, id - 5)],
          );
          next++;
        } catch {
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    })();
    try {
      await connector.start();
      await waitFor(() => connector.status().state === "streaming", 60_000, "streaming");
      await waitFor(() => next > 50, 30_000, "writes under way");

      // ---- the walsender terminated ----
      const slot = `mesh_${name}`;
      const terminated = await sql<{ t: boolean }>(
        server.url("postgres"),
        "SELECT pg_terminate_backend(active_pid) AS t FROM pg_replication_slots WHERE slot_name = $1",
        [slot],
      );
      expect(terminated[0]?.t).toBe(true);
      await waitFor(
        () => seen.some((s) => s.startsWith("failed:MESH_SOURCE_UNREACHABLE")),
        30_000,
        "the lost connection in the status",
      ).catch((err: unknown) => {
        throw new Error(`statuses seen: ${[...new Set(seen)].join(", ")}`, { cause: err });
      });
      await waitFor(
        () => connector.status().state === "streaming",
        60_000,
        "streaming again after the terminate",
      );
      const afterTerminate = next;
      await waitFor(() => next > afterTerminate + 50, 30_000, "writes after the terminate");

      // ---- the server restarted ----
      seen.length = 0;
      await server.service.down();
      await new Promise((r) => setTimeout(r, 2000));
      await server.service.up();
      await waitFor(() => seen.some((s) => s.startsWith("failed:")), 30_000, "the restart in the status");
      await waitFor(
        () => connector.status().state === "streaming",
        90_000,
        "streaming again after the restart",
      );
      const afterRestart = next;
      await waitFor(() => next > afterRestart + 50, 30_000, "writes after the restart");
      writing = false;
      await writer;

      // ---- nothing lost ----
      const endLsn = (await sql<{ l: string }>(url, "SELECT pg_current_wal_lsn()::text AS l"))[0]?.l;
      await waitFor(
        async () =>
          (
            await sql(
              server.url("postgres"),
              "SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND confirmed_flush_lsn >= $2::pg_lsn",
              [slot, endLsn],
            )
          ).length === 1,
        60_000,
        "the connector to confirm everything",
      );
      const topic = `${name}.public.t`;
      let total = 0;
      for (const p of (await h.kafka.admin().offsets(topic)).values()) total += Number(p.high);
      const msgs = await readTopics(h.kafka, h.registryUrl, [topic], (m) => m.length >= total, {
        idleMs: 10_000,
      });
      const rows = await sql<{ id: number; v: number }>(url, "SELECT id, v FROM public.t");
      const state = replay(msgs, topic);
      expect(rows.length).toBeGreaterThan(150);
      expect(state.size).toBe(rows.length);
      expect(rows.filter((r) => state.get(String(r.id))?.v !== r.v)).toEqual([]);
      console.log(
        `Postgres faults: ${rows.length} rows, ${msgs.length} events; statuses after the restart: ${[...new Set(seen)].join(", ")}`,
      );
    } finally {
      writing = false;
      clearInterval(watch);
      await writer.catch(() => undefined);
      await connector.stop().catch(() => undefined);
    }
  });
});
