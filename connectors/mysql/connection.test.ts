import { describe, expect, it } from "vitest";
import { connectError, connectionOptions, parseSourceUrl } from "./connection.ts";
import { defaultServerId, serverIdFor } from "./server-id.ts";

describe("source URLs", () => {
  it("reads host, port, credentials (percent-decoded) and database", () => {
    expect(parseSourceUrl("mysql://da%40ta:p%3Ass@db.example:3307/shop")).toEqual({
      host: "db.example",
      port: 3307,
      user: "da@ta",
      password: "p:ss",
      database: "shop",
      ssl: null,
    });
    expect(parseSourceUrl("mariadb://u@h/").port).toBe(3306);
  });

  it("asks for TLS as MySQL's clients do: verified unless sslmode=required", () => {
    expect(parseSourceUrl("mysql://u@h/db?ssl=true").ssl).toEqual({ rejectUnauthorized: true });
    expect(parseSourceUrl("mysql://u@h/db?sslmode=verify_identity").ssl).toEqual({
      rejectUnauthorized: true,
    });
    expect(parseSourceUrl("mysql://u@h/db?sslmode=required").ssl).toEqual({ rejectUnauthorized: false });
    expect(() => parseSourceUrl("postgres://u@h/db")).toThrow(/mysql:\/\//);
  });

  it("reads exact values in UTC: dates as text, big numbers and decimals as strings, JSON as text", () => {
    expect(connectionOptions("mysql://u:p@h:1/db")).toMatchObject({
      timezone: "Z",
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      decimalNumbers: false,
      jsonStrings: true,
      charset: "utf8mb4_general_ci",
    });
  });

  it("tells auth errors (not retried) from the rest (retried)", () => {
    expect(connectError({ errno: 1045, message: "denied" }, "x").code).toBe("MESH_SOURCE_AUTH");
    expect(connectError({ errno: 1049, message: "unknown db" }, "x").code).toBe("MESH_SOURCE_PREREQUISITE");
    expect(connectError({ code: "ECONNREFUSED", message: "refused" }, "x")).toMatchObject({
      code: "MESH_SOURCE_UNREACHABLE",
      retryable: true,
    });
  });
});

describe("server ids", () => {
  it("are stable per source name, distinct across names, and in the range left to clients", () => {
    const a = defaultServerId("orders-db");
    expect(defaultServerId("orders-db")).toBe(a);
    expect(defaultServerId("customers-db")).not.toBe(a);
    for (const name of ["a", "b", "orders-db", "x".repeat(100)]) {
      const id = defaultServerId(name);
      expect(id).toBeGreaterThanOrEqual(1_000_000);
      expect(id).toBeLessThan(2 ** 31);
    }
    const def = {
      name: "s",
      owner: "o",
      kind: "mysql" as const,
      url: "mysql://h/d",
      tables: [],
      snapshot: "initial" as const,
    };
    expect(serverIdFor(def)).toBe(defaultServerId("s"));
    expect(serverIdFor({ ...def, serverId: 4242 } as typeof def)).toBe(4242);
  });
});
