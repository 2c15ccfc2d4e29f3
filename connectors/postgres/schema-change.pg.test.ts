// DDL while streaming: compatible changes register a new schema version before the first event that uses
// it; an incompatible change stops just that table, visibly, and nothing is written under a wrong schema.
import { describe, expect, it } from "vitest";
import { wireSchemaId } from "../../lib/avro.ts";
import { createPgDatabase } from "../../test/support/stack.ts";
import { useConnectorHarness } from "../../test/support/pg.ts";
import { createConnector, readTopics, shortId, sourceDef, waitFor, withPg } from "./test-harness.ts";

const h = useConnectorHarness();

describe("postgres connector: schema changes", () => {
  it("registers versions for ADD/DROP COLUMN and widening; stops only the table on an incompatible change", async () => {
    const db = await createPgDatabase("pgschema");
    const name = shortId("ddl");
    try {
      await withPg(db.url, async (c) => {
        await c.query("CREATE TABLE public.t (id int PRIMARY KEY, a text, n int)");
        await c.query("CREATE TABLE public.other (id int PRIMARY KEY)");
      });
      const connector = createConnector(sourceDef(name, db.url, ["public.t", "public.other"]), h.deps());
      await connector.start();
      await waitFor(() => connector.status().state === "streaming", 60_000, "streaming");
      await withPg(db.url, async (c) => {
        await c.query("INSERT INTO public.t VALUES (1, 'one', 1)");
        await c.query("ALTER TABLE public.t ADD COLUMN b int DEFAULT 7");
        await c.query("INSERT INTO public.t (id, a) VALUES (2, 'two')");
        await c.query("ALTER TABLE public.t DROP COLUMN a");
        await c.query("INSERT INTO public.t (id) VALUES (3)");
        await c.query("ALTER TABLE public.t ALTER COLUMN n TYPE bigint");
        await c.query("INSERT INTO public.t (id, n) VALUES (4, 9007199254740993)");
        // bigint → text: Avro cannot read old longs as strings under BACKWARD compatibility.
        await c.query("ALTER TABLE public.t ALTER COLUMN n TYPE text");
        await c.query("INSERT INTO public.t (id, n) VALUES (5, 'five')");
        await c.query("INSERT INTO public.other VALUES (1)");
      });
      const topic = `${name}.public.t`;
      await waitFor(() => connector.status().tables["public.t"]?.state === "failed", 30_000, "table failed");
      const msgs = await readTopics(
        h.kafka,
        h.registryUrl,
        [topic, `${name}.public.other`],
        (m) => m.length >= 5,
        { idleMs: 3000 },
      );
      const status = connector.status();
      await connector.stop();
      expect(status.tables["public.t"]?.error?.code).toBe("MESH_SCHEMA_INCOMPATIBLE");
      expect(status.tables["public.other"]?.state).toBe("streaming");
      // Keys spread over partitions: put the events back in commit order by their LSN.
      const rows = msgs
        .filter((m) => m.topic === topic)
        .map((m) => ({
          id: (m.key as { id: number }).id,
          lsn: (m.value as { source: { lsn: bigint } }).source.lsn,
          after: (m.value as { after: Record<string, unknown> }).after,
          schemaId: wireSchemaId(m.rawValue as Buffer),
        }))
        .sort((a, b) => (a.lsn < b.lsn ? -1 : 1));
      expect(rows.map((r) => r.id)).toEqual([1, 2, 3, 4]);
      expect(rows[0]?.after).toEqual({ id: 1, a: "one", n: 1 });
      expect(rows[1]?.after).toEqual({ id: 2, a: "two", n: null, b: 7 });
      expect(rows[2]?.after).toEqual({ id: 3, n: null, b: 7 });
      expect(rows[3]?.after).toEqual({ id: 4, n: 9007199254740993n, b: 7 });
      expect(new Set(rows.map((r) => r.schemaId)).size).toBe(4);
      expect(msgs.filter((m) => m.topic === `${name}.public.other`)).toHaveLength(1);
      const versions = (await (
        await fetch(`${h.registryUrl}/subjects/${topic}-value/versions`)
      ).json()) as number[];
      expect(versions).toHaveLength(4);
    } finally {
      await db.drop();
    }
  });
});
