// Three projects, run one group after another: `unit` runs anywhere; `integration` needs the local stack
// (brought up once per run by test/support/global-setup.ts, or the services named by MESH_KAFKA_BROKERS /
// MESH_PG_URL / MESH_MYSQL_URL) and runs two files at a time: every file makes its own topics, databases, groups
// and views (test/support/names.ts), so files never share state; `serial` holds the files that measure time or
// memory, kill processes on a schedule, or stop shared services, and runs them alone so no neighbour starves them.
import { defineConfig } from "vitest/config";

const serviceTests = ["**/*.{kafka,pg,mysql,stack,e2e}.test.ts"];
const ignored = ["**/node_modules/**", ".mesh/**", "dist/**", "test/lint/fixtures/**"];

/** Timing-, memory- or fault-sensitive files: alone on the machine. */
const serialTests = [
  "connectors/postgres/snapshot-memory.pg.test.ts",
  "materializer/crash.kafka.test.ts",
  "materializer/oracle.e2e.test.ts",
  "api/e2e/placement.e2e.test.ts",
  "api/e2e/source-failures.e2e.test.ts",
  "api/cli/up-signal.stack.test.ts",
  "deploy/local/stack.stack.test.ts",
  "registry/failover.kafka.test.ts",
  "**/*.serial.*.test.ts",
];

const integration = {
  globalSetup: ["test/support/global-setup.ts"],
  testTimeout: 120_000,
  hookTimeout: 120_000,
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["**/*.test.ts"],
          exclude: [...ignored, ...serviceTests],
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "integration",
          include: serviceTests,
          exclude: [...ignored, ...serialTests],
          ...integration,
          sequence: { groupOrder: 1 },
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: "serial",
          include: serialTests,
          exclude: ignored,
          ...integration,
          sequence: { groupOrder: 2 },
          fileParallelism: false,
        },
      },
    ],
  },
});
