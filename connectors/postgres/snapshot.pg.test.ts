// Parallel snapshot reads against the real server: three connections importing one exported snapshot read
// a table's block ranges at once and together yield every row exactly once, nothing written after the
// snapshot, and a small table falls back to one reader in key order. The range arithmetic is checked pure.
import pg from "pg";
import { describe, expect, it } from "vitest";
import { usePgDatabase } from "../../test/support/pg.ts";
import { blockRanges, MIN_BLOCKS_PER_READER, readTableParallel, tidRange } from "./snapshot.ts";

const database = usePgDatabase("pgsnap");

async function connect(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
}

describe("snapshot block ranges", () => {
  it("cut the heap into contiguous ranges, the last open-ended, never more readers than blocks allow", () => {
    expect(blockRanges(10_000, 3)).toEqual([
      { from: 0, to: 3334 },
      { from: 3334, to: 6668 },
      { from: 6668, to: null },
    ]);
    expect(blockRanges(MIN_BLOCKS_PER_READER * 2, 4)).toHaveLength(2);
    expect(blockRanges(10, 4)).toEqual([{ from: 0, to: null }]);
    expect(tidRange({ from: 5, to: 9 })).toBe(" WHERE ctid >= '(5,0)'::tid AND ctid < '(9,0)'::tid");
  });
});

describe("parallel snapshot reads", () => {
  it("read every row of the exported snapshot exactly once, across readers, and none written after it", async () => {
    const url = database().url;
    const rows = 150_000; // ~1,100 blocks: three readers
    const setup = await connect(url);
    const exporter = await connect(url);
    const readers = [await connect(url), await connect(url), await connect(url)];
    try {
      await setup.query("CREATE TABLE big (id bigint PRIMARY KEY, pad text)");
      await setup.query(`INSERT INTO big SELECT g, repeat('x', 40) FROM generate_series(1, ${rows}) g`);
      await exporter.query("BEGIN ISOLATION LEVEL REPEATABLE READ");
      const name = (await exporter.query<{ s: string }>("SELECT pg_export_snapshot() AS s")).rows[0]?.s ?? "";
      for (const r of readers) {
        await r.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        await r.query(`SET TRANSACTION SNAPSHOT '${name}'`);
      }
      // After the snapshot: invisible to every reader.
      await setup.query("INSERT INTO big SELECT g, 'late' FROM generate_series(1000001, 1000100) g");
      await setup.query("DELETE FROM big WHERE id <= 100");
      const seen = new Set<string>();
      let chunks = 0;
      for await (const chunk of readTableParallel(readers, "public", "big", ["id", "pad"], ["id"], 5000)) {
        chunks++;
        expect(chunk.length).toBeLessThanOrEqual(5000);
        for (const [id] of chunk) {
          expect(seen.has(id as string)).toBe(false);
          seen.add(id as string);
        }
      }
      expect(seen.size).toBe(rows);
      expect(seen.has("1")).toBe(true);
      expect(seen.has("1000001")).toBe(false);
      expect(chunks).toBeGreaterThanOrEqual(rows / 5000);

      // A small table: one reader, key order.
      await setup.query("CREATE TABLE small (id int PRIMARY KEY)");
      await setup.query("INSERT INTO small SELECT g FROM generate_series(1, 500) g ORDER BY random()");
      for (const r of readers) await r.query("COMMIT");
      for (const r of readers) await r.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      const ids: number[] = [];
      for await (const chunk of readTableParallel(readers, "public", "small", ["id"], ["id"], 100))
        for (const [id] of chunk) ids.push(Number(id));
      expect(ids).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    } finally {
      for (const c of [setup, exporter, ...readers]) await c.end().catch(() => undefined);
    }
  });
});
