import { describe, expect, it } from "vitest";
import { checkProtocolVersion, declaredVersion, PROTOCOL_VERSION, protocolHeaders } from "./version.ts";

describe("protocol version", () => {
  it("reads the header in every client's shape", () => {
    expect(declaredVersion(protocolHeaders())).toBe(PROTOCOL_VERSION);
    expect(declaredVersion({ "mesh-protocol": Buffer.from("2") })).toBe(2);
    expect(declaredVersion({ "mesh-protocol": [Buffer.from("7")] })).toBe(7);
    expect(declaredVersion({})).toBeNull();
    expect(declaredVersion(undefined)).toBeNull();
    // Unreadable: not a version this reader knows, so it must stop rather than guess.
    expect(declaredVersion({ "mesh-protocol": "two" })).toBe(Number.POSITIVE_INFINITY);
  });

  it("accepts its own and older versions", () => {
    for (let v = 1; v <= PROTOCOL_VERSION; v++)
      expect(() => checkProtocolVersion(v, { what: "x" })).not.toThrow();
  });

  it("fails on a newer version with MESH_PROTOCOL_NEWER, saying what to upgrade", () => {
    expect(() =>
      checkProtocolVersion(PROTOCOL_VERSION + 1, { what: "the marker at t/0@5", details: { offset: "5" } }),
    ).toThrow(
      expect.objectContaining({
        code: "MESH_PROTOCOL_NEWER",
        message: expect.stringMatching(
          /the marker at t\/0@5 was written with protocol version 3.*upgrade it/,
        ),
        details: { offset: "5", version: PROTOCOL_VERSION + 1, readerVersion: PROTOCOL_VERSION },
      }),
    );
    expect(() => checkProtocolVersion(Number.POSITIVE_INFINITY, { what: "m" })).toThrow(
      /an unreadable version/,
    );
  });

  it("fails on a version older than a feature the reader needs with MESH_CONNECTOR_OUTDATED", () => {
    const needs = {
      feature: "partitionCounts",
      because: "counts per topic only",
      otherwise: "run it unsplit",
    } as const;
    expect(() => checkProtocolVersion(2, { what: "tx 1", needs })).not.toThrow();
    expect(() => checkProtocolVersion(1, { what: "tx 1", needs })).toThrow(
      expect.objectContaining({
        code: "MESH_CONNECTOR_OUTDATED",
        message:
          "tx 1 counts per topic only (protocol version 1; partitionCounts came with version 2); upgrade the source's connector, or run it unsplit",
        details: expect.objectContaining({ feature: "partitionCounts", version: 1 }),
      }),
    );
  });
});
