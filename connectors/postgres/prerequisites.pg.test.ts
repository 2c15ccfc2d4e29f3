import { describe, expect, it } from "vitest";
import { createPgDatabase, stackEnv } from "../../test/support/stack.ts";
import { checkSourcePrerequisites } from "../core/change-source.ts";
import { shortId, sourceDef, withPg } from "./test-harness.ts";

describe("postgres prerequisites", () => {
  it("names each problem with a fix, and passes a ready database", async () => {
    const db = await createPgDatabase("pgpre");
    const role = shortId("norepl");
    try {
      await withPg(db.url, async (c) => {
        await c.query("CREATE TABLE public.ok (id int PRIMARY KEY)");
        await c.query("CREATE TABLE public.nokey (v int)");
        await c.query("CREATE TABLE public.full_id (v int)");
        await c.query("ALTER TABLE public.full_id REPLICA IDENTITY FULL");
        await c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw'`);
      });
      expect(
        await checkSourcePrerequisites(sourceDef("ready", db.url, ["public.ok", "public.full_id"])),
      ).toEqual([]);

      const problems = await checkSourcePrerequisites(
        sourceDef("bad", db.url, ["public.ok", "public.nokey", "public.missing", "nosuchschema"]),
      );
      expect(problems.map((p) => p.code).sort()).toEqual([
        "no_primary_key",
        "schema_missing",
        "table_missing",
      ]);
      expect(problems.find((p) => p.code === "no_primary_key")?.fix).toMatch(/REPLICA IDENTITY FULL/);

      const url = new URL(db.url);
      url.username = role;
      url.password = "pw";
      const asRole = await checkSourcePrerequisites(sourceDef("r", url.toString(), ["public.ok"]));
      expect(asRole.map((p) => p.code)).toEqual(["replication_role"]);
      expect(asRole[0]?.fix).toBe(`ALTER ROLE "${role}" WITH REPLICATION;`);

      url.password = "wrong";
      expect(
        (await checkSourcePrerequisites(sourceDef("r", url.toString(), ["public.ok"]))).map((p) => p.code),
      ).toEqual(["auth"]);
    } finally {
      await db.drop();
      await withPg(stackEnv().MESH_PG_URL, (c) => c.query(`DROP ROLE IF EXISTS ${role}`));
    }
  });
});
