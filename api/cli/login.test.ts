// Which token the CLI sends: MESH_TOKEN first, else the one `mesh login` stored under the user's config
// ($XDG_CONFIG_HOME/datamesh/token, else ~/.config/datamesh/token); a refused token is exit code 4 with what
// to do. (Logging in against a real API, the 0600 file and logout: api/e2e/tokens.e2e.test.ts.)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ApiFailure, cliToken, exit, tokenFile } from "./client.ts";

const home = mkdtempSync(join(tmpdir(), "mesh-cli-token-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe("the CLI's token", () => {
  it("is MESH_TOKEN, else the stored one, else none", () => {
    expect(tokenFile({ XDG_CONFIG_HOME: "/x" })).toBe("/x/datamesh/token");
    expect(tokenFile({ HOME: "/h" })).toBe("/h/.config/datamesh/token");
    const env = { XDG_CONFIG_HOME: home };
    expect(cliToken(env)).toBeUndefined();
    mkdirSync(join(home, "datamesh"), { recursive: true });
    writeFileSync(tokenFile(env), "mesh_0123456789abcdef_stored\n", { mode: 0o600 });
    expect(cliToken(env)).toBe("mesh_0123456789abcdef_stored");
    expect(cliToken({ ...env, MESH_TOKEN: "from-env" })).toBe("from-env");
  });

  it("refused is exit code 4, saying what to do", () => {
    const unauthorized = new ApiFailure(401, {
      code: "MESH_UNAUTHORIZED",
      message: "this route needs a token",
    });
    expect(unauthorized.code).toBe(exit.denied);
    expect(unauthorized.message).toContain("mesh login");
    const forbidden = new ApiFailure(403, { code: "MESH_FORBIDDEN", message: "needs write" });
    expect(forbidden.code).toBe(4);
    expect(new ApiFailure(409, { code: "MESH_CONFLICT", message: "taken" }).code).toBe(exit.failed);
  });
});
