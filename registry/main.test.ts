import { describe, expect, it } from "vitest";
import { parseConfig } from "./main.ts";

describe("registry main config", () => {
  it("reads flags before MESH_* env, once", () => {
    const c = parseConfig(["--brokers", "k1:9092,k2:9092", "--port", "0", "--topic", "_s"], {
      MESH_REGISTRY_PORT: "9",
    });
    expect(c).toMatchObject({ brokers: ["k1:9092", "k2:9092"], port: 0, topic: "_s", host: "127.0.0.1" });
    expect(parseConfig([], { MESH_KAFKA_BROKERS: "k:1", MESH_REGISTRY_GROUP_ID: "g" })).toMatchObject({
      brokers: ["k:1"],
      port: 8081,
      groupId: "g",
    });
  });

  it("says what is missing", () => {
    expect(() => parseConfig([], {})).toThrow(/--brokers/);
    expect(() => parseConfig(["--brokers", "k:1", "--port", "x"], {})).toThrow(/bad port/);
  });
});
