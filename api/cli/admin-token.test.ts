// The admin token of `mesh up`: MESH_ADMIN_TOKEN wins; otherwise generated once into the file (0600) and
// reused; a loosened file mode is tightened; a short token is refused; the usage lines never hold the token.
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveAdminToken, tokenUsage } from "./admin-token.ts";

const dir = mkdtempSync(join(tmpdir(), "mesh-admin-token-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("resolveAdminToken", () => {
  it("generates a token into the file once (mode 0600) and reuses it", async () => {
    const file = join(dir, "admin-token");
    const made = await resolveAdminToken(undefined, file);
    expect(made.source).toBe("generated");
    expect(made.token).toMatch(/^mesh_admin_[A-Za-z0-9_-]{43}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8").trim()).toBe(made.token);
    const again = await resolveAdminToken(undefined, file);
    expect(again).toEqual({ token: made.token, source: "file", file });
    chmodSync(file, 0o644);
    await resolveAdminToken(undefined, file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    for (const line of [...tokenUsage(made), ...tokenUsage(again)]) expect(line).not.toContain(made.token);
    expect(tokenUsage(made).join("\n")).toContain(`export MESH_TOKEN=$(cat ${file})`);
  });

  it("takes MESH_ADMIN_TOKEN over the file, and refuses short tokens", async () => {
    const file = join(dir, "other-token");
    writeFileSync(file, "mesh_admin_from-the-file-0123456789\n", { mode: 0o600 });
    const env = await resolveAdminToken("an-admin-token-from-env", file);
    expect(env).toEqual({ token: "an-admin-token-from-env", source: "env", file: null });
    await expect(resolveAdminToken("short", file)).rejects.toThrow(/at least 16/);
    writeFileSync(join(dir, "short"), "abc\n");
    await expect(resolveAdminToken(undefined, join(dir, "short"))).rejects.toThrow(/MESH_ADMIN_TOKEN/);
  });
});
