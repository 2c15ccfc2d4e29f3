// Faults of the source server mid-stream, on a private MariaDB (deploy/local, other ports) so the shared
// one is never restarted: the binlog dump thread killed, then the whole server restarted (it comes back on
// a new binlog file). Each time the connector shows the lost connection, reconnects by itself from its
// stored position and loses nothing: the topic replays to exactly the table.
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaConnection } from "../../test/support/stack.ts";
import { replay } from "../core/conformance/context.ts";
import {
  createConnector,
  readTopics,
  shortId,
  startHarness,
  waitFor,
  type Harness,
} from "../core/conformance/harness.ts";
import { comparePositions, parsePosition } from "./binlog-position.ts";
import { privateMariaDb } from "./test-support/private-mariadb.ts";

let h: Harness;
let server: Awaited<ReturnType<typeof privateMariaDb>>;
beforeAll(async () => {
  h = await startHarness(kafkaConnection());
  server = await privateMariaDb(29700);
}, 180_000);
afterAll(async () => {
  await server?.remove();
  await h?.stop();
});

/** One statement on a fresh connection (the server may have restarted since the last). */
async function sql<T = mysql.RowDataPacket>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const c = await mysql.createConnection({ uri: url, connectTimeout: 5000 });
  c.on("error", () => undefined);
  try {
    return (await c.query(text, values))[0] as T[];
  } finally {
    await c.end().catch(() => undefined);
  }
}

describe("fault: the source server mid-stream", () => {
  it("survives the dump thread killed and the server restarted, losing nothing", async () => {
    const name = shortId("fmy");
    const url = await server.createDatabase(name);
    await sql(url, "CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL)");
    const connector = createConnector(
      { name, owner: "svc", kind: "mysql", url, tables: [`${name}.t`], snapshot: "initial" },
      h.deps({ retryDelayMs: 300 }),
    );
    let writing = true;
    let next = 1;
    const seen: string[] = [];
    const watch = setInterval(() => {
      const s = connector.status();
      seen.push(`${s.state}:${s.error?.code ?? ""}`);
    }, 200);
    // One row per transaction and a bump of an older one; a failed attempt (server gone) is retried, and
    // whether an interrupted commit landed is for the table to say at the end.
    const writer = (async () => {
      while (writing) {
        const id = next;
        try {
          const c = await mysql.createConnection({ uri: url, connectTimeout: 5000 });
          c.on("error", () => undefined);
          try {
            await c.query("BEGIN");
            await c.query("INSERT IGNORE INTO t VALUES (?, 0)", [id]);
            await c.query("UPDATE t SET v = v + 1 WHERE id = ?", [Math.max(1, id - 5)]);
            await c.query("COMMIT");
          } finally {
            await c.end().catch(() => undefined);
          }
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

      // ---- the dump thread killed ----
      const dumps = await sql<{ id: number }>(
        server.url("mysql"),
        "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'",
      );
      expect(dumps).toHaveLength(1);
      await sql(server.url("mysql"), `KILL ${Number(dumps[0]?.id)}`);
      await waitFor(
        () => seen.some((s) => s.startsWith("failed:MESH_SOURCE_UNREACHABLE")),
        30_000,
        "the lost connection in the status",
      ).catch((err: unknown) => {
        throw new Error(`statuses seen: ${[...new Set(seen)].join(", ")}`, { cause: err });
      });
      await waitFor(() => connector.status().state === "streaming", 60_000, "streaming again after the kill");
      const afterKill = next;
      await waitFor(() => next > afterKill + 50, 30_000, "writes after the kill");

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
      const [head] = await sql<{ File: string; Position: number }>(server.url("mysql"), "SHOW MASTER STATUS");
      const end = { file: String(head?.File), pos: Number(head?.Position), gtids: null, gtid: null };
      await waitFor(
        () => {
          const offset = connector.status().offset;
          return offset !== null && comparePositions(parsePosition(offset), end) >= 0;
        },
        60_000,
        "the connector to confirm everything",
      );
      const rows = await sql<{ id: number; v: number }>(url, "SELECT id, v FROM t");
      const topic = `${name}.${name}.t`;
      let total = 0;
      for (const p of (await h.kafka.admin().offsets(topic)).values()) total += Number(p.high);
      const msgs = await readTopics(h.kafka, h.registryUrl, [topic], (m) => m.length >= total, {
        idleMs: 10_000,
      });
      const state = replay(msgs, topic);
      expect(rows.length).toBeGreaterThan(150);
      expect(state.size).toBe(rows.length);
      expect(rows.filter((r) => state.get(String(r.id))?.v !== r.v)).toEqual([]);
      const files = await sql<{ Log_name: string }>(server.url("mysql"), "SHOW BINARY LOGS");
      expect(files.length).toBeGreaterThan(1);
      console.log(
        `MariaDB faults: ${rows.length} rows, ${msgs.length} events over ${files.length} binlog files; statuses after the restart: ${[...new Set(seen)].join(", ")}`,
      );
    } finally {
      writing = false;
      clearInterval(watch);
      await writer.catch(() => undefined);
      await connector.stop();
    }
  });
});
