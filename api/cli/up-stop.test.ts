// `mesh up` stopping its roles on Ctrl-C (issue #6 audit item 8: it once hung 90 s at "stopping..."): each
// role gets a time limit, one that hangs is named and left behind, one that fails is named, the rest still
// stop, in reverse start order.
import { describe, expect, it } from "vitest";
import { stackStop, stopLine, stopRoles } from "./up.ts";

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

describe("stopLine", () => {
  it("names the stack services this run started and those it leaves running", () => {
    expect(stopLine(["kafka", "postgres", "mariadb"], [])).toBe(
      "Ctrl-C stops the registry, connectors, materializer and API and kafka, postgres, mariadb (started by this run).",
    );
    expect(stopLine(["mariadb"], ["kafka", "postgres"])).toBe(
      "Ctrl-C stops the registry, connectors, materializer and API and mariadb (started by this run); kafka, postgres were already running and stay up.",
    );
    expect(stopLine([], ["kafka"])).toBe(
      "Ctrl-C stops the registry, connectors, materializer and API; kafka was already running and stays up.",
    );
  });
});

describe("stackStop", () => {
  it("stops only the stack services this run started", async () => {
    const downed: string[] = [];
    const stack = { service: (name: string) => ({ down: () => Promise.resolve(!!downed.push(name)) }) };
    const { started, kept, stop } = stackStop(
      [
        { service: "kafka", result: "already-up", ms: 1 },
        { service: "postgres", result: "started", ms: 900 },
        { service: "mariadb", result: "started", ms: 800 },
      ],
      stack,
    );
    expect(started).toEqual(["postgres", "mariadb"]);
    expect(kept).toEqual(["kafka"]);
    expect(stop?.name).toBe("postgres, mariadb");
    await stop?.stop();
    expect(downed).toEqual(["postgres", "mariadb"]);
    expect(stackStop([{ service: "kafka", result: "already-up", ms: 1 }], stack).stop).toBeNull();
  });
});
