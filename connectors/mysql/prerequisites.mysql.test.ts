// Prerequisites against the stack's MariaDB: a user without the replication and SELECT grants, missing
// databases and tables, each reported with a stable code and the statement that fixes it; a keyless table
// is accepted; an unreachable server is transient and wrong credentials are not.
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMysqlDatabase, stackEnv } from "../../test/support/stack.ts";
import type { SourceDefinition } from "../core/change-source.ts";
import { checkMysqlPrerequisites, globalPrivileges } from "./prerequisites.ts";

let db: Awaited<ReturnType<typeof createMysqlDatabase>>;
const weak = `weak_${Date.now().toString(36)}`;
const hosts = ["%", "localhost", "127.0.0.1"];

async function admin(...statements: [string, unknown[]?][]): Promise<void> {
  const c = await mysql.createConnection(stackEnv().MESH_MYSQL_URL);
  try {
    for (const [sql, values] of statements) await c.query(sql, values);
  } finally {
    await c.end();
  }
}

function def(url: string, tables: string[]): SourceDefinition {
  return { name: "pre", owner: "svc", kind: "mysql", url, tables, snapshot: "initial" };
}

function urlAs(user: string, password: string, database: string): string {
  const u = new URL(stackEnv().MESH_MYSQL_URL);
  u.username = user;
  u.password = password;
  u.pathname = `/${database}`;
  return u.toString();
}

beforeAll(async () => {
  db = await createMysqlDatabase("mypre");
  await admin(
    [`CREATE TABLE ${db.name}.keyed (id INT PRIMARY KEY)`],
    [`CREATE TABLE ${db.name}.keyless (v INT)`],
    ...hosts.map((h): [string, unknown[]] => ["CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY 'w'", [weak, h]]),
    // Sees the database (USAGE on one table) but may not read the other, nor the binlog.
    ...hosts.map((h): [string, unknown[]] => [`GRANT SELECT ON ${db.name}.keyless TO ?@?`, [weak, h]]),
  );
});
afterAll(async () => {
  await admin(...hosts.map((h): [string, unknown[]] => ["DROP USER IF EXISTS ?@?", [weak, h]]));
  await db.drop();
});

describe("MySQL prerequisites", () => {
  it("accepts the stack's CDC user on keyed and keyless tables", async () => {
    const cdc = new URL(stackEnv().MESH_MYSQL_CDC_URL);
    const url = urlAs(decodeURIComponent(cdc.username), decodeURIComponent(cdc.password), db.name);
    expect(await checkMysqlPrerequisites(def(url, ["keyed", "keyless", `${db.name}.keyed`]))).toEqual([]);
    // A bare database name without a URL database: all its tables.
    expect(await checkMysqlPrerequisites(def(url.replace(`/${db.name}`, "/"), [db.name]))).toEqual([]);
  });

  it("names every missing grant, database and table with its fix", async () => {
    const problems = await checkMysqlPrerequisites(
      def(urlAs(weak, "w", db.name), ["keyed", "keyless", "missing", "nodb_x.t"]),
    );
    const byCode = new Map(problems.map((p) => [p.code, p]));
    expect([...byCode.keys()].sort()).toEqual(
      ["replication_client", "replication_slave", "schema_missing", "table_missing"].sort(),
    );
    expect(byCode.get("replication_slave")?.fix).toMatch(/^GRANT REPLICATION SLAVE ON \*\.\* TO 'weak_/);
    expect(byCode.get("replication_client")?.fix).toMatch(/GRANT BINLOG MONITOR/);
    expect(byCode.get("schema_missing")?.message).toContain("nodb_x");
    // `keyed` is invisible to this user: missing, with the grant as one fix.
    expect(problems.filter((p) => p.code === "table_missing").map((p) => p.message)).toEqual([
      expect.stringContaining(`${db.name}.keyed`),
      expect.stringContaining(`${db.name}.missing`),
    ]);
    expect(byCode.get("table_missing")?.fix).toContain("GRANT SELECT");
  });

  it("reports wrong credentials as auth and an unreachable server as transient", async () => {
    expect(await checkMysqlPrerequisites(def(urlAs(weak, "wrong", db.name), ["keyed"]))).toMatchObject([
      { code: "auth" },
    ]);
    expect(await checkMysqlPrerequisites(def("mysql://u:p@127.0.0.1:1/x", ["t"]))).toMatchObject([
      { code: "unreachable", transient: true },
    ]);
  });

  it("reads global privileges from SHOW GRANTS lines", () => {
    expect(
      globalPrivileges([
        "GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `cdc`@`%` IDENTIFIED BY PASSWORD '*X'",
        "GRANT INSERT ON `shop`.* TO `cdc`@`%`",
      ]),
    ).toEqual({ privileges: new Set(["SELECT", "REPLICATION SLAVE", "BINLOG MONITOR"]), viaRoles: false });
    expect(globalPrivileges(["GRANT `cdc_role` TO `cdc`@`%`"]).viaRoles).toBe(true);
  });
});
