// `mesh up` stopping its roles on Ctrl-C (issue #6 audit item 8: it once hung 90 s at "stopping..."): each
// role gets a time limit, one that hangs is named and left behind, one that fails is named, the rest still
// stop, in reverse start order.
import { describe, expect, it } from "vitest";
import { stopRoles } from "./up.ts";

describe("stopRoles", () => {
  it("stops in reverse order, names a role that hangs or fails, and still stops the others", async () => {
    const order: string[] = [];
    const lines: string[] = [];
    const started = Date.now();
    const clean = await stopRoles(
      [
        { name: "registry", stop: () => Promise.resolve(void order.push("registry")) },
        { name: "materializer", stop: () => Promise.reject(new Error("leveldb busy")) },
        { name: "api", stop: () => new Promise<void>(() => order.push("api (hangs)")) },
      ],
      200,
      (line) => lines.push(line),
    );
    expect(clean).toBe(false);
    expect(order).toEqual(["api (hangs)", "registry"]);
    expect(lines).toEqual([
      "mesh up: stopping api did not finish within 0.2 s; left behind",
      "mesh up: stopping materializer failed: leveldb busy",
    ]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("reports a clean stop when every role stops", async () => {
    const lines: string[] = [];
    const clean = await stopRoles([{ name: "api", stop: () => Promise.resolve() }], 1000, (l) =>
      lines.push(l),
    );
    expect(clean).toBe(true);
    expect(lines).toEqual([]);
  });
});
