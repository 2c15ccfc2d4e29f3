// Every role's `--help` prints its usage on stdout and exits 0, through the `mesh` dispatcher,
// without starting anything (no Kafka, no port).
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const mesh = fileURLToPath(new URL("../../bin/mesh.js", import.meta.url));

describe("mesh <role> --help", () => {
  for (const role of ["registry", "api", "materialize", "connect", "up"]) {
    it(`mesh ${role} --help prints the usage and exits 0`, async () => {
      // execFile rejects on a non-zero exit, with stderr in the error: a stack trace fails the test here.
      const { stdout } = await promisify(execFile)(process.execPath, [mesh, role, "--help"], {
        timeout: 20_000,
        env: { ...process.env, MESH_KAFKA_BROKERS: "" },
      });
      expect(stdout).toMatch(new RegExp(`^usage: mesh ${role}\\b`));
      // Starting Node and loading a role's modules takes seconds on a loaded machine.
    }, 30_000);
  }
});
