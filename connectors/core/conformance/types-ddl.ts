// Every documented type exact through the real path (database → log → Avro → Kafka → decode), once by
// the snapshot and once streamed, NULL in every column; and DDL while streaming: compatible changes
// register a new schema version before the first event that uses it, an incompatible one stops just that
// table, visibly, with nothing written under a wrong schema.
import { describe, expect, it } from "vitest";
import { wireSchemaId } from "../../../lib/avro.ts";
import { events, shortName, waitFor, type Suite } from "./context.ts";
import { readTopics } from "./harness.ts";
import { authHeaders } from "../../../test/support/auth.ts";

export function typesAndDdlTests(s: Suite): void {
  describe("types and schema changes", () => {
    it("keeps every documented type exact in snapshot and stream, and NULL in every column", async () => {
      const { types, typesSetup = [] } = s.target;
      const db = await s.database("ctypes");
      const name = shortName("types");
      const values = types.map((c) => c.literal).join(", ");
      await db.exec(
        ...typesSetup,
        `CREATE TABLE t (id int PRIMARY KEY, ${types.map((c) => `${c.column} ${c.type}`).join(", ")})`,
        `INSERT INTO t VALUES (1, ${values})`,
        "INSERT INTO t (id) VALUES (2)",
      );
      const connector = s.connector(s.def(name, db, ["t"]));
      await connector.start();
      await s.streaming(connector);
      await db.exec(`INSERT INTO t VALUES (3, ${values})`, "INSERT INTO t (id) VALUES (4)");
      const topic = `${name}.${db.qualified("t")}`;
      const h = s.harness();
      const msgs = await readTopics(h.kafka, h.registryUrl, [topic], (m) => m.length >= 4);
      const byId = new Map(events(msgs, topic).map((m) => [Number((m.key as { id: number }).id), m.value]));
      expect(byId.get(1)?.op).toBe("r");
      expect(byId.get(3)?.op).toBe("c");
      for (const id of [1, 3]) {
        const after = byId.get(id)?.after ?? {};
        for (const c of types)
          expect({ id, col: c.column, v: after[c.column] }).toEqual({ id, col: c.column, v: c.expected });
      }
      for (const id of [2, 4]) {
        const after = byId.get(id)?.after ?? {};
        for (const c of types)
          expect({ id, col: c.column, v: after[c.column] }).toEqual({ id, col: c.column, v: null });
      }
    });

    it("registers versions for ADD/DROP COLUMN and widening; stops only the table on an incompatible change", async () => {
      const db = await s.database("cddl");
      const name = shortName("ddl");
      await db.exec(
        "CREATE TABLE t (id int PRIMARY KEY, a text, n int)",
        "CREATE TABLE other (id int PRIMARY KEY)",
      );
      const connector = s.connector(s.def(name, db, ["t", "other"]));
      await connector.start();
      await s.streaming(connector);
      await db.exec(
        "INSERT INTO t VALUES (1, 'one', 1)",
        "ALTER TABLE t ADD COLUMN b int DEFAULT 7",
        "INSERT INTO t (id, a) VALUES (2, 'two')",
        "ALTER TABLE t DROP COLUMN a",
        "INSERT INTO t (id) VALUES (3)",
        s.target.alterType("t", "n", "bigint"),
        "INSERT INTO t (id, n) VALUES (4, 9007199254740993)",
        // bigint → text: Avro cannot read old longs as strings under BACKWARD compatibility.
        s.target.alterType("t", "n", "text"),
        "INSERT INTO t (id, n) VALUES (5, 'five')",
        "INSERT INTO other VALUES (1)",
      );
      const topic = `${name}.${db.qualified("t")}`;
      const otherTopic = `${name}.${db.qualified("other")}`;
      const qualified = db.qualified("t");
      await waitFor(() => connector.status().tables[qualified]?.state === "failed", 30_000, "table failed");
      const h = s.harness();
      const msgs = await readTopics(h.kafka, h.registryUrl, [topic, otherTopic], (m) => m.length >= 5, {
        idleMs: 3000,
      });
      const status = connector.status();
      expect(status.state).toBe("streaming");
      expect(status.tables[qualified]?.error?.code).toBe("MESH_SCHEMA_INCOMPATIBLE");
      expect(status.tables[db.qualified("other")]?.state).toBe("streaming");
      // Keys spread over partitions: put the events back in log order.
      const rows = events(msgs, topic)
        .map((m) => ({
          id: Number((m.key as { id: number }).id),
          order: s.target.logOrder(m.value.source),
          after: m.value.after,
          schemaId: wireSchemaId(m.rawValue as Buffer),
        }))
        .sort((a, b) => (a.order < b.order ? -1 : 1));
      expect(rows.map((r) => r.id)).toEqual([1, 2, 3, 4]);
      expect(rows[0]?.after).toEqual({ id: 1, a: "one", n: 1 });
      expect(rows[1]?.after).toEqual({ id: 2, a: "two", n: null, b: 7 });
      expect(rows[2]?.after).toEqual({ id: 3, n: null, b: 7 });
      expect(rows[3]?.after).toEqual({ id: 4, n: 9007199254740993n, b: 7 });
      expect(new Set(rows.map((r) => r.schemaId)).size).toBe(4);
      expect(msgs.filter((m) => m.topic === otherTopic)).toHaveLength(1);
      const versions = (await (
        await fetch(`${h.registryUrl}/subjects/${topic}-value/versions`, { headers: authHeaders() })
      ).json()) as number[];
      expect(versions).toHaveLength(4);
    });
  });
}
