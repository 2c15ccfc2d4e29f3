import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "./main.ts";

describe("mesh connect config", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mesh-connect-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const load = async (source: Record<string, unknown>): Promise<unknown> => {
    const file = join(dir, "config.json");
    await writeFile(file, JSON.stringify({ brokers: ["k:9092"], sources: [source] }));
    return loadConfig(["--config", file], {});
  };
  const source = {
    name: "orders-db",
    owner: "orders",
    kind: "postgres",
    url: "postgres://x/y",
    tables: ["public.a"],
  };

  it("takes source and owner names the HTTP API takes", async () => {
    expect(await load(source)).toMatchObject({ sources: [source] });
  });

  it("takes a delivery mode and refuses an unknown one", async () => {
    expect(await load({ ...source, delivery: "exactly-once" })).toMatchObject({
      sources: [{ delivery: "exactly-once" }],
    });
    await expect(load({ ...source, delivery: "twice" })).rejects.toThrow(/delivery must be one of/);
  });

  it("refuses a source or owner name with a dot, as the HTTP API does (topics are <name>.<schema>.<table>)", async () => {
    await expect(load({ ...source, name: "orders.db" })).rejects.toMatchObject({
      code: "MESH_BAD_REQUEST",
      details: { field: "sources[0].name", value: "orders.db" },
    });
    await expect(load({ ...source, owner: "a.b" })).rejects.toMatchObject({
      details: { field: "sources[0].owner" },
    });
  });

  it("takes --metrics-listen host:port (flag, env or file) and refuses anything else", async () => {
    const file = join(dir, "metrics.json");
    await writeFile(file, JSON.stringify({ brokers: ["k:9092"], sources: [source], metricsListen: ":9464" }));
    expect((await loadConfig(["--config", file], {})).metricsListen).toEqual({
      host: "127.0.0.1",
      port: 9464,
    });
    expect(
      (await loadConfig(["--config", file], { MESH_METRICS_LISTEN: "0.0.0.0:9000" })).metricsListen,
    ).toEqual({ host: "0.0.0.0", port: 9000 });
    await expect(loadConfig(["--config", file, "--metrics-listen", "9464"], {})).rejects.toThrow(
      /--metrics-listen must be host:port/,
    );
  });
});
