import { describe, expect, it } from "vitest";
import { parseApiConfig } from "./config.ts";

describe("mesh api config", () => {
  it("takes flags over env over defaults", () => {
    expect(parseApiConfig([], {})).toEqual({
      host: "127.0.0.1",
      port: 8080,
      brokers: ["127.0.0.1:19092"],
      registryUrl: "http://127.0.0.1:8081",
      dataDir: ".mesh/data",
      logLevel: "info",
      connect: true,
      catalogTopic: "_mesh_catalog",
      advertiseUrl: undefined,
      secretKey: undefined,
      secretKeyFile: ".mesh/data/secret.key",
      materializerUrls: [],
      adminToken: undefined,
      auditTopic: "_mesh_audit",
      rateLimit: { queryMax: 1200, streamMax: 60, windowMs: 60_000 },
    });
    // The admin token is read from the environment only (flags show in `ps`).
    expect(parseApiConfig([], { MESH_ADMIN_TOKEN: "an-admin-token-0123" }).adminToken).toBe(
      "an-admin-token-0123",
    );
    const c = parseApiConfig(["--port=9000", "--brokers", "a:1, b:2", "--data-dir", "/d"], {
      MESH_API_PORT: "1",
      MESH_REGISTRY_URL: "http://r:1",
      MESH_API_CONNECT: "false",
      MESH_SECRET_KEY: "k",
    });
    expect(c).toMatchObject({
      port: 9000,
      brokers: ["a:1", "b:2"],
      registryUrl: "http://r:1",
      connect: false,
      secretKey: "k",
      secretKeyFile: "/d/secret.key",
    });
    // The key itself is never a flag (flags show in `ps`).
    expect(() => parseApiConfig(["--secret-key", "k"], {})).toThrow(/unknown option --secret-key/);
  });

  it("refuses unknown options and bad values with what to fix", () => {
    expect(() => parseApiConfig(["--prot", "1"], {})).toThrow(/unknown option --prot/);
    expect(() => parseApiConfig(["--port", "x"], {})).toThrow(/port number/);
    expect(() => parseApiConfig(["--port"], {})).toThrow(/needs a value/);
    expect(() => parseApiConfig([], { MESH_API_CONNECT: "yes" })).toThrow(/true or false/);
    expect(() => parseApiConfig(["--materializer", "127.0.0.1:9000"], {})).toThrow(/http\(s\):\/\/host:port/);
    // Credentials in a member URL would show in /v1/status and errors: refused.
    expect(() => parseApiConfig([], { MESH_MATERIALIZER_URLS: "http://u:p@m:1" })).toThrow(
      expect.objectContaining({ code: "MESH_BAD_REQUEST", details: { option: "materializer" } }),
    );
  });

  it("reads the materializers answering view routes from --materializer or MESH_MATERIALIZER_URLS", () => {
    expect(parseApiConfig(["--materializer", "http://a:1/, http://b:2"], {}).materializerUrls).toEqual([
      "http://a:1",
      "http://b:2",
    ]);
    const fromEnv = parseApiConfig([], { MESH_MATERIALIZER_URLS: "https://m:9" });
    expect(fromEnv.materializerUrls).toEqual(["https://m:9"]);
    expect(
      parseApiConfig(["--materializer=http://c:3"], { MESH_MATERIALIZER_URLS: "http://m:9" }),
    ).toMatchObject({
      materializerUrls: ["http://c:3"],
    });
  });

  it("names the audit topic beside the catalog topic, and reads the rate limits, refusing bad ones", () => {
    expect(parseApiConfig(["--catalog-topic", "t1"], {}).auditTopic).toBe("t1_audit");
    expect(parseApiConfig(["--audit-topic", "a"], { MESH_AUDIT_TOPIC: "b" }).auditTopic).toBe("a");
    expect(parseApiConfig([], { MESH_AUDIT_TOPIC: "b" }).auditTopic).toBe("b");
    expect(
      parseApiConfig(["--rate-limit-query", "5", "--rate-limit-window=2"], { MESH_RATE_LIMIT_STREAM: "0" })
        .rateLimit,
    ).toEqual({ queryMax: 5, streamMax: 0, windowMs: 2000 });
    expect(() => parseApiConfig(["--rate-limit-query", "-1"], {})).toThrow(/--rate-limit-query/);
    expect(() => parseApiConfig(["--rate-limit-stream", "many"], {})).toThrow(/MESH_RATE_LIMIT_STREAM/);
    expect(() => parseApiConfig([], { MESH_RATE_LIMIT_WINDOW: "0" })).toThrow(/1 or more/);
  });
});
