// Two projects: `unit` runs anywhere; `integration` needs the local stack (brought up once per run by
// test/support/global-setup.ts, or the services named by MESH_KAFKA_BROKERS / MESH_PG_URL / MESH_MYSQL_URL).
import { defineConfig } from "vitest/config";

const serviceTests = ["**/*.{kafka,pg,mysql,stack,e2e}.test.ts"];
const ignored = ["**/node_modules/**", ".mesh/**", "dist/**"];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["**/*.test.ts"],
          exclude: [...ignored, ...serviceTests],
        },
      },
      {
        test: {
          name: "integration",
          include: serviceTests,
          exclude: ignored,
          globalSetup: ["test/support/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Two cores: integration files run one at a time so timing-sensitive tests are not starved.
          fileParallelism: false,
        },
      },
    ],
  },
});
