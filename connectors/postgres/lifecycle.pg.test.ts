// Stop during the initial snapshot (prompt, and the next start snapshots again in full), pause/resume, and an
// incremental re-snapshot that resumes at its next chunk after a restart instead of starting over.
import { describe, expect, it } from "vitest";
import { createPgDatabase } from "../../test/support/stack.ts";
import { useConnectorHarness } from "../../test/support/pg.ts";
import type { Connector } from "../core/change-source.ts";
import { createConnector, readTopics, shortId, sourceDef, waitFor, withPg } from "./test-harness.ts";

const h = useConnectorHarness();
/** Stopped after each test, so a failing assertion never leaves a connector running in the worker. */
const running: Connector[] = [];
const track = (c: Connector): Connector => (running.push(c), c);

interface Ev {
  op: string;
  after: { id: number } | null;
  source: { snapshot: string };
}

describe("postgres connector: lifecycle", () => {
  it("stops promptly mid-snapshot, redoes the snapshot on the next start, pauses and resumes", async () => {
    const db = await createPgDatabase("pglife");
    const name = shortId("life");
    try {
      await withPg(db.url, async (c) => {
        await c.query("CREATE TABLE public.t (id int PRIMARY KEY, v text)");
        await c.query("INSERT INTO public.t SELECT g, 'v' || g FROM generate_series(1, 30000) g");
      });
      const def = sourceDef(name, db.url, ["public.t"]);
      const first = track(createConnector(def, h.deps({ snapshotChunkRows: 500 })));
      await first.start();
      await waitFor(() => (first.status().progress?.rowsDone ?? 0) >= 2000, 60_000, "snapshot under way");
      const t0 = Date.now();
      await first.stop();
      expect(Date.now() - t0).toBeLessThan(20_000);
      expect(first.status().state).toBe("stopped");

      const second = track(createConnector(def, h.deps({ snapshotChunkRows: 5000 })));
      await second.start();
      await waitFor(() => second.status().state === "streaming", 90_000, "streaming");
      await second.pause();
      expect(second.status().state).toBe("paused");
      await withPg(db.url, (c) => c.query("INSERT INTO public.t VALUES (30001, 'while paused')"));
      await second.resume();
      await waitFor(
        () => (second.status().events["public.t"] ?? 0) >= 30001,
        60_000,
        "the insert made while paused",
      );
      const msgs = await readTopics(h.kafka, h.registryUrl, [`${name}.public.t`], () => false, {
        idleMs: 4000,
      });
      await second.stop();
      const reads = new Set(
        msgs.filter((m) => (m.value as Ev).op === "r").map((m) => (m.value as Ev).after?.id),
      );
      expect(reads.size).toBe(30000);
      expect(msgs.filter((m) => (m.value as Ev).op === "c").map((m) => (m.value as Ev).after?.id)).toEqual([
        30001,
      ]);
    } finally {
      for (const c of running.splice(0)) await c.stop().catch(() => undefined);
      await db.drop();
    }
  });

  it("resumes an incremental re-snapshot at the next chunk after a restart", async () => {
    const db = await createPgDatabase("pgincres");
    const name = shortId("incres");
    try {
      await withPg(db.url, async (c) => {
        await c.query("CREATE TABLE public.t (id int PRIMARY KEY, v text)");
        await c.query("INSERT INTO public.t SELECT g, 'v' || g FROM generate_series(1, 20000) g");
      });
      const def = sourceDef(name, db.url, ["public.t"], { snapshot: "never" });
      const first = track(createConnector(def, h.deps({ snapshotChunkRows: 500 })));
      await first.start();
      await waitFor(() => first.status().state === "streaming", 60_000, "streaming");
      await first.resnapshot(["public.t"]);
      await waitFor(() => (first.status().progress?.rowsDone ?? 0) >= 2000, 60_000, "re-snapshot under way");
      await first.stop();
      const second = track(createConnector(def, h.deps({ snapshotChunkRows: 500 })));
      await second.start();
      await waitFor(() => (second.status().events["public.t"] ?? 0) > 0, 60_000, "resumed chunks");
      await waitFor(() => second.status().progress === null, 90_000, "re-snapshot done");
      const msgs = await readTopics(h.kafka, h.registryUrl, [`${name}.public.t`], () => false, {
        idleMs: 4000,
      });
      await second.stop();
      const counts = new Map<number, number>();
      for (const m of msgs) {
        const id = (m.value as Ev).after?.id ?? 0;
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      expect(counts.size).toBe(20000);
      // The first 2,000 rows were acknowledged and their progress saved before the stop: not read again.
      for (let id = 1; id <= 2000; id++) expect(counts.get(id)).toBe(1);
    } finally {
      for (const c of running.splice(0)) await c.stop().catch(() => undefined);
      await db.drop();
    }
  });
});
