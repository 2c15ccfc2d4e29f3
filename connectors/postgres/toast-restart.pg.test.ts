// Unchanged TOASTed columns are never emitted as placeholders, and a restart resumes from the slot's
// confirmed position without repeating the snapshot or losing what was written while the connector was down.
import { describe, expect, it } from "vitest";
import { createPgDatabase } from "../../test/support/stack.ts";
import { useConnectorHarness } from "../../test/support/pg.ts";
import { createConnector, readTopics, shortId, sourceDef, waitFor, withPg } from "./test-harness.ts";

const h = useConnectorHarness();

const bigText = "(SELECT string_agg(md5(g::text || random()::text), '') FROM generate_series(1, 400) g)";

describe("postgres connector: TOAST and restart", () => {
  it("fills unchanged TOAST values (fetched, or from the FULL before-image) and resumes after a restart", async () => {
    const db = await createPgDatabase("pgtoast");
    const name = shortId("toast");
    try {
      await withPg(db.url, async (c) => {
        await c.query("CREATE TABLE public.d (id int PRIMARY KEY, n int, doc text)");
        await c.query("CREATE TABLE public.f (id int PRIMARY KEY, n int, doc text)");
        await c.query("ALTER TABLE public.f REPLICA IDENTITY FULL");
      });
      const connector = createConnector(sourceDef(name, db.url, ["public.d", "public.f"]), h.deps());
      await connector.start();
      await waitFor(() => connector.status().state === "streaming", 60_000, "streaming");
      const docs = await withPg(db.url, async (c) => {
        await c.query(`INSERT INTO public.d VALUES (1, 0, ${bigText})`);
        await c.query(`INSERT INTO public.f VALUES (1, 0, ${bigText})`);
        await c.query("UPDATE public.d SET n = 1 WHERE id = 1");
        await c.query("UPDATE public.f SET n = 1 WHERE id = 1");
        const d = await c.query<{ doc: string }>("SELECT doc FROM public.d");
        const f = await c.query<{ doc: string }>("SELECT doc FROM public.f");
        return { d: d.rows[0]?.doc, f: f.rows[0]?.doc };
      });
      expect(docs.d?.length).toBe(12800);
      await waitFor(() => (connector.status().events["public.f"] ?? 0) >= 2, 30_000, "events");
      await connector.stop();
      // Written while the connector is down: must arrive after the restart, exactly once more.
      await withPg(db.url, (c) => c.query("INSERT INTO public.d VALUES (2, 2, 'small')"));
      const again = createConnector(sourceDef(name, db.url, ["public.d", "public.f"]), h.deps());
      await again.start();
      await waitFor(() => again.status().state === "streaming", 60_000, "streaming again");
      const msgs = await readTopics(
        h.kafka,
        h.registryUrl,
        [`${name}.public.d`, `${name}.public.f`],
        (m) => m.length >= 5,
      );
      await again.stop();
      const events = msgs.map((m) => ({
        topic: m.topic.split(".").pop(),
        ...(m.value as {
          op: string;
          before: Record<string, unknown> | null;
          after: Record<string, unknown>;
        }),
      }));
      expect(events.filter((e) => e.op === "r")).toHaveLength(0);
      const dUpd = events.find((e) => e.topic === "d" && e.op === "u");
      const fUpd = events.find((e) => e.topic === "f" && e.op === "u");
      expect(dUpd?.after.doc).toBe(docs.d);
      expect(dUpd?.before).toBeNull(); // key-only identity: no before-image for updates
      expect(fUpd?.after.doc).toBe(docs.f);
      expect(fUpd?.before).toEqual({ id: 1, n: 0, doc: docs.f });
      expect(events.filter((e) => e.topic === "d" && e.after.id === 2)).toHaveLength(1);
      expect(msgs).toHaveLength(5);
    } finally {
      await db.drop();
    }
  });
});
