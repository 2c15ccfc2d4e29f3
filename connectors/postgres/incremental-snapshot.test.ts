import { describe, expect, it } from "vitest";
import type { TableMapping } from "./row-mapping.ts";
import { keyText, WatermarkWindow } from "./incremental-snapshot.ts";

const mapping = { shape: { topic: "s.public.t", columns: [], key: ["id"] } } as unknown as TableMapping;

function chunk(id: string, ids: number[]): { c: Parameters<WatermarkWindow["set"]>[0]; done: () => boolean } {
  let finished = false;
  const rows = new Map(ids.map((i) => [keyText({ id: i }), { id: i, v: "snap" }]));
  return {
    c: { id, mapping, rows, open: false, setAt: 0, done: () => (finished = true) },
    done: () => finished,
  };
}

describe("DBLog watermark window", () => {
  it("drops chunk rows whose keys the stream changed in the window or just before it", () => {
    let now = 100_000;
    const w = new WatermarkWindow(() => now, 5000);
    w.observe("s.public.t", { id: 1 }); // long before: the chunk's SELECT surely saw it
    now += 60_000;
    w.observe("s.public.t", { id: 2 }); // just before the chunk: may be invisible to the SELECT
    now += 1000;
    const { c, done } = chunk("c1", [1, 2, 3, 4]);
    w.set(c);
    expect(w.watermark("c1|low")).toBeNull();
    w.observe("s.public.t", { id: 3 }); // inside the window
    w.observe("s.other.t", { id: 4 }); // another table
    const out = w.watermark("c1|high");
    expect(done()).toBe(true);
    expect(out?.rows.map((r) => r.id)).toEqual([1, 4]);
    expect(w.watermark("c1|high")).toBeNull(); // a replayed watermark of a finished chunk is ignored
  });

  it("a truncate in the window drops the whole chunk", () => {
    const w = new WatermarkWindow(() => 1, 5000);
    const { c } = chunk("c2", [1, 2]);
    w.set(c);
    w.truncate("s.public.t");
    expect(w.watermark("c2|high")?.rows).toEqual([]);
  });

  it("forgets old changes while streaming without any chunk, so memory stays bounded", () => {
    let now = 0;
    const w = new WatermarkWindow(() => now, 5000);
    for (let i = 0; i < 200_000; i++) {
      now += 1; // 1 ms per change: 200 s of streaming, far beyond the 10 s the window needs to remember
      w.observe("s.public.t", { id: i });
    }
    expect(w.remembered).toBeLessThanOrEqual(50_001);
    // What is recent is still remembered: a chunk set now drops a key changed a moment ago.
    const { c } = chunk("c3", [199_999, 1]);
    w.set(c);
    expect(w.watermark("c3|high")?.rows.map((r) => r.id)).toEqual([1]);
  });
});
