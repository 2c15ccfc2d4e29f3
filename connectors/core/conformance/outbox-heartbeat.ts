// Outbox routing (an outbox table's inserts, and logical messages where the database has them, to
// `<owner>.<aggregatetype>` in commit order, nothing for its deletes, nothing on a table topic) and
// heartbeats (while the captured tables are idle and the database is busy elsewhere, the source's position
// keeps moving, so the log the server retains for it stays small).
import { describe, expect, it } from "vitest";
import { shortName, waitFor, type Suite } from "./context.ts";
import { readTopics } from "./harness.ts";

export function outboxAndHeartbeatTests(s: Suite): void {
  describe("outbox and heartbeats", () => {
    it("routes outbox rows (and messages) to <owner>.<aggregatetype> in commit order, nothing for deletes", async () => {
      const db = await s.database("coutbox");
      const name = shortName("obx");
      const owner = shortName("orders");
      await db.exec(
        "CREATE TABLE orders (id int PRIMARY KEY)",
        `CREATE TABLE outbox (id varchar(64) PRIMARY KEY, aggregatetype text, aggregateid text, type text, payload ${s.target.outboxPayloadType})`,
      );
      const message = s.target.outboxMessage;
      const conn = s.connector(
        s.def(name, db, ["orders"], {
          owner,
          // Untyped: the payloads as they are (typed events: outbox-typed.ts).
          outbox: {
            tables: [db.qualified("outbox")],
            untyped: "json",
            ...(message ? { messagePrefix: "outbox" } : {}),
          },
        }),
      );
      await conn.start();
      await s.streaming(conn);
      for (let i = 1; i <= 5; i++)
        await db.exec(
          "BEGIN",
          `INSERT INTO orders VALUES (${i})`,
          `INSERT INTO outbox VALUES ('e${i}', 'Order', 'o-${i % 2}', 'OrderPlaced', '{"n": ${i}}')`,
          `DELETE FROM outbox WHERE id = 'e${i}'`,
          "COMMIT",
        );
      const shipped = JSON.stringify({
        id: "m1",
        aggregatetype: "Order",
        aggregateid: "o-1",
        type: "OrderShipped",
        payload: { n: 6 },
      });
      if (message) await db.exec(message("outbox", shipped));
      const expected = message ? 6 : 5;
      const h = s.harness();
      await waitFor(
        async () => (await h.kafka.admin().listTopics()).includes(`${owner}.Order`),
        30_000,
        "the outbox topic",
      );
      const msgs = await readTopics(h.kafka, h.registryUrl, [`${owner}.Order`], (m) => m.length >= expected, {
        idleMs: 3000,
      });
      expect(msgs).toHaveLength(expected);
      const odd = msgs
        .filter((m) => m.rawKey?.toString() === "o-1")
        .map((m) => [m.headers.id, m.headers.type, JSON.parse(String(m.value)) as unknown]);
      expect(odd).toEqual([
        ["e1", "OrderPlaced", { n: 1 }],
        ["e3", "OrderPlaced", { n: 3 }],
        ["e5", "OrderPlaced", { n: 5 }],
        ...(message ? [["m1", "OrderShipped", { n: 6 }]] : []),
      ]);
      expect(msgs.filter((m) => m.rawKey?.toString() === "o-0").map((m) => m.headers.id)).toEqual([
        "e2",
        "e4",
      ]);
      expect(conn.status().events).toEqual({ [db.qualified("orders")]: 5 });
      expect((await h.kafka.admin().listTopics()).includes(`${name}.${db.qualified("outbox")}`)).toBe(false);
    });

    it("beats while the captured tables are idle: the position moves and retained log stays small", async () => {
      const db = await s.database("chb");
      const name = shortName("hb");
      await db.exec("CREATE TABLE captured (id int PRIMARY KEY)", "CREATE TABLE busy (id bigint, pad text)");
      const def = s.def(name, db, ["captured"]);
      const conn = s.connector(def, { heartbeatIntervalMs: 500 });
      await conn.start();
      await s.streaming(conn);
      const offsetBefore = conn.status().offset;
      const mb = 40;
      await s.target.writeElsewhere(db, "busy", mb);
      await waitFor(() => conn.status().offset !== offsetBefore, 30_000, "the position to move");
      const retained = s.target.retainedBytes?.bind(s.target);
      if (retained) {
        // Other databases on the server may write too, so "small" is relative to what this test wrote.
        let last = await retained(db, def);
        await waitFor(
          async () => (last = await retained(db, def)) < (mb * 1024 * 1024) / 10,
          45_000,
          "retained log to shrink",
        ).catch(() => undefined);
        expect({ retained: last, small: last < (mb * 1024 * 1024) / 10 }).toMatchObject({ small: true });
      }
      await waitFor(
        () => (conn.status().lagBytes ?? Infinity) < (mb * 1024 * 1024) / 10,
        30_000,
        "lag to shrink",
      );
      expect(conn.status().lagSeconds).toBe(0);
      const h = s.harness();
      const beats = await readTopics(h.kafka, h.registryUrl, [`${name}.heartbeat`], (m) => m.length >= 2, {
        idleMs: 3000,
      });
      expect(beats.length).toBeGreaterThanOrEqual(2);
      expect(beats[0]?.key).toEqual({ source: name });
      expect(conn.status().events).toEqual({});
    });
  });
}
