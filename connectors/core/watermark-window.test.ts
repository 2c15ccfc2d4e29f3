// Which streamed changes supersede a re-snapshot chunk's rows: exactly those of transactions invisible to
// the chunk's read when the backend knows its visibility, else the window rule; and the memory bound.
import { describe, expect, it } from "vitest";
import type { SourceTable } from "./backend.ts";
import { keyText } from "./events.ts";
import { WatermarkWindow, type Chunk } from "./watermark-window.ts";

const table = { shape: { topic: "s.public.t", columns: [], key: ["id"] } } as unknown as SourceTable;

function chunk(
  id: string,
  ids: number[],
  visible: Chunk["visible"] = null,
): { c: Chunk; done: () => boolean } {
  let finished = false;
  const rows = new Map(ids.map((i) => [keyText({ id: i }), { id: i, v: "snap" }]));
  return { c: { id, table, rows, visible, setAt: 0, done: () => (finished = true) }, done: () => finished };
}

describe("watermark window: exact rule (known visibility)", () => {
  it("drops exactly the rows changed by transactions invisible to the read, wherever they were streamed", () => {
    const w = new WatermarkWindow();
    // Streamed before the chunk was even set, by a transaction still invisible to its read (a commit
    // decoded before it became visible): its row in the chunk is older, so it must not be emitted.
    w.observe("s.public.t", { id: 1 }, 10n);
    w.observe("s.public.t", { id: 2 }, 11n); // visible to the read: the chunk row already has it
    const { c, done } = chunk("c1", [1, 2, 3, 4, 5], (tx) => tx !== 10n && tx !== 13n);
    w.set(c);
    expect(w.watermark("c1", "low")).toBeNull();
    w.observe("s.public.t", { id: 3 }, 12n); // committed between the watermarks, visible: kept
    w.observe("s.public.t", { id: 4 }, 13n); // committed after the read: dropped
    w.observe("s.other.t", { id: 5 }, 13n); // another table
    const out = w.watermark("c1", "high");
    expect(done()).toBe(true);
    expect(out?.rows.map((r) => r.id)).toEqual([2, 3, 5]);
    expect(w.watermark("c1", "high")).toBeNull(); // a replayed watermark of a finished chunk is ignored
  });

  it("an invisible truncate drops the whole chunk, a visible one none of it", () => {
    const w = new WatermarkWindow();
    w.truncate("s.public.t", 7n);
    const a = chunk("a", [1, 2], (tx) => tx === 7n);
    w.set(a.c);
    expect(w.watermark("a", "high")?.rows).toHaveLength(2);
    const b = chunk("b", [1, 2], () => false);
    w.set(b.c);
    w.truncate("s.public.t", 8n);
    expect(w.watermark("b", "high")?.rows).toEqual([]);
  });

  it("forgets changes a read found visible: later reads see them too", () => {
    const w = new WatermarkWindow();
    for (let i = 0; i < 100; i++) w.observe("s.public.t", { id: i }, BigInt(i));
    const { c } = chunk("c", [], (tx) => tx < 90n);
    w.set(c);
    w.watermark("c", "high");
    expect(w.remembered).toBe(10);
  });
});

describe("watermark window: window rule (visibility unknown)", () => {
  it("drops rows changed in the window or just before it", () => {
    let now = 100_000;
    const w = new WatermarkWindow({ now: () => now, marginMs: 5000 });
    w.observe("s.public.t", { id: 1 }, null); // long before
    now += 60_000;
    w.observe("s.public.t", { id: 2 }, null); // just before the chunk
    now += 1000;
    const { c } = chunk("c1", [1, 2, 3, 4]);
    w.set(c);
    w.observe("s.public.t", { id: 3 }, null);
    expect(w.watermark("c1", "high")?.rows.map((r) => r.id)).toEqual([1, 4]);
  });

  it("a skipped chunk is forgotten; a high watermark of an unread chunk emits nothing", () => {
    const w = new WatermarkWindow();
    const { c } = chunk("s", [1]);
    w.set(c);
    w.cancel("s");
    expect(w.watermark("s", "high")).toBeNull();
    const unread = { ...chunk("u", []).c, table: null };
    w.set(unread);
    expect(w.watermark("u", "high")).toBeNull();
  });

  it("forgets old changes while streaming without any chunk, so memory stays bounded", () => {
    let now = 0;
    const w = new WatermarkWindow({ now: () => now, marginMs: 5000 });
    for (let i = 0; i < 200_000; i++) {
      now += 1; // 1 ms per change: 200 s of streaming, far beyond the 10 s the window remembers
      w.observe("s.public.t", { id: i }, null);
    }
    expect(w.remembered).toBeLessThanOrEqual(50_001);
    const { c } = chunk("c3", [199_999, 1]);
    w.set(c);
    expect(w.watermark("c3", "high")?.rows.map((r) => r.id)).toEqual([1]);
  });
});
