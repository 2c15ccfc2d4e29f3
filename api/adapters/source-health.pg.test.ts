// /readyz's source checks against the real Postgres: a reachable database is ready; an unreachable one and
// wrong credentials are named by source, and the password is in no message.
import { describe, expect, it } from "vitest";
import type { SourceRecord } from "../../protocol/catalog.ts";
import { stackEnv } from "../../test/support/stack.ts";
import { registerBuiltInBackends } from "../../connectors/backends.ts";
import { sourceChecks } from "./source-health.ts";

registerBuiltInBackends();

const record = (name: string, url: string): SourceRecord => ({
  type: "source",
  id: name,
  name,
  owner: "svc",
  kind: "postgres",
  url,
  tables: [],
  tableIds: [],
  snapshot: "initial",
  partitions: 3,
  paused: false,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
});

describe("source readiness checks", () => {
  it("passes a reachable database and names an unreachable one and refused credentials", async () => {
    const good = stackEnv().MESH_PG_URL;
    const badPassword = Object.assign(new URL(good), { password: "not-the-password-s3cret" }).toString();
    const defs = new Map([
      ["ok", record("ok", good)],
      ["down", record("down", "postgres://mesh:hunter2-s3cret@127.0.0.1:9/mesh")],
      ["auth", record("auth", badPassword)],
    ]);
    const checks = await sourceChecks((n) => defs.get(n), ["ok", "down", "auth", "gone"]);
    expect(checks.map((c) => [c.name, c.ok])).toEqual([
      ["source ok", true],
      ["source down", false],
      ["source auth", false],
      ["source gone", true],
    ]);
    expect(checks[1]!.error).toMatch(/^unreachable: /);
    expect(checks[2]!.error).toMatch(/^auth: /);
    for (const c of checks) expect(c.error ?? "").not.toMatch(/s3cret/);
  });
});
