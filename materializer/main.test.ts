import { describe, expect, it } from "vitest";
import { parseMaterializerConfig } from "./main.ts";

describe("mesh materialize config", () => {
  it("reads flags first, then MESH_* environment, then defaults", () => {
    expect(
      parseMaterializerConfig(
        [
          "--brokers",
          "a:1,b:2",
          "--view",
          "CREATE VIEW v AS SELECT * FROM t",
          "--view=CREATE VIEW w AS SELECT * FROM u",
        ],
        { MESH_REGISTRY_URL: "http://r:1", MESH_MATERIALIZER_DIR: "/data" },
      ),
    ).toEqual({
      brokers: ["a:1", "b:2"],
      registryUrl: "http://r:1",
      dataDir: "/data",
      views: ["CREATE VIEW v AS SELECT * FROM t", "CREATE VIEW w AS SELECT * FROM u"],
      logLevel: "info",
      catalogTopic: "_mesh_catalog",
      auditTopic: "_mesh_audit",
    });
    expect(parseMaterializerConfig([], {}).brokers).toEqual(["127.0.0.1:9092"]);
    expect(parseMaterializerConfig(["--brokers", "x:1"], { MESH_KAFKA_BROKERS: "y:2" }).brokers).toEqual([
      "x:1",
    ]);
  });

  it("reads the split-mode flags and refuses a group without a listen address", () => {
    expect(
      parseMaterializerConfig(
        [
          "--group",
          "g1",
          "--listen",
          "0.0.0.0:9300",
          "--advertise",
          "http://m1:9300",
          "--catalog-topic",
          "cat",
        ],
        {},
      ),
    ).toMatchObject({
      group: "g1",
      listen: { host: "0.0.0.0", port: 9300 },
      advertise: "http://m1:9300",
      catalogTopic: "cat",
    });
    expect(parseMaterializerConfig(["--catalog-topic", "off"], {}).catalogTopic).toBeUndefined();
    expect(() => parseMaterializerConfig(["--group", "g1"], {})).toThrow(/--group needs --listen/);
    expect(() => parseMaterializerConfig(["--listen", "nope"], {})).toThrow(/--listen must be host:port/);
  });

  it("refuses unknown flags and flags without values, with the usage", () => {
    expect(() => parseMaterializerConfig(["--nope", "1"], {})).toThrow(
      /unknown flag --nope; usage: mesh materialize/,
    );
    expect(() => parseMaterializerConfig(["--brokers"], {})).toThrow(/--brokers needs a value/);
    expect(() => parseMaterializerConfig(["stray"], {})).toThrow(/unexpected argument stray/);
  });
});
