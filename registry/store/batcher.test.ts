import { describe, expect, it } from "vitest";
import { Batcher } from "./batcher.ts";
import type { LogRecord } from "./records.ts";

const noop: LogRecord = { keytype: "NOOP" };

describe("Batcher", () => {
  it("sends what arrives during a send as one batch and gives each caller its last offset", async () => {
    const sent: number[] = [];
    let next = 100;
    let release: () => void = () => undefined;
    const b = new Batcher(async (records) => {
      sent.push(records.length);
      if (sent.length === 1) await new Promise<void>((r) => (release = r));
      const base = next;
      next += records.length;
      return base;
    });
    const first = b.submit([noop]);
    const second = b.submit([noop, noop]);
    const third = b.submit([noop]);
    release();
    expect(await Promise.all([first, second, third])).toEqual([100, 102, 103]);
    expect(sent).toEqual([1, 3]);
    expect(await b.submit([])).toBe(-1);
  });

  it("rejects every caller of a failed batch, then carries on", async () => {
    let fail = true;
    const b = new Batcher((records) => {
      if (fail) {
        fail = false;
        return Promise.reject(new Error("broker down"));
      }
      return Promise.resolve(records.length);
    });
    await expect(b.submit([noop])).rejects.toThrow("broker down");
    expect(await b.submit([noop, noop])).toBe(3);
  });
});
