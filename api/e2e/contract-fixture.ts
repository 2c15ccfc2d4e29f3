// What the API-contract tests (openapi-fuzz, generated-clients) start: a registry, an in-process
// materializer and an API on the real stack, and what they need of the tools that drive the API from
// outside: Python (MESH_PYTHON, the venv .ci/run makes) and Go. A missing tool fails the test, loudly:
// these tests are the API's contract and are never skipped. Not a test file.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { silentLogger } from "../../lib/logger.ts";
import { startMaterializer, type RunningMaterializer } from "../../materializer/main.ts";
import type { RunningRegistry } from "../../registry/server.ts";
import { createPgDatabase, kafkaConnection } from "../../test/support/stack.ts";
import type { RunningApi } from "../service.ts";
import { startTestApi, startTestRegistry, testCatalogTopic } from "./harness.ts";
import { TEST_ADMIN_TOKEN } from "../../test/support/auth.ts";

export const run = promisify(execFile);

export interface ContractStack {
  apiUrl: string;
  registry: RunningRegistry;
  materializer: RunningMaterializer;
  api: RunningApi;
  stop(): Promise<void>;
}

export async function startContractStack(): Promise<ContractStack> {
  const dataDir = mkdtempSync(join(tmpdir(), "mesh-contract-"));
  const registry = await startTestRegistry();
  const materializer = await startMaterializer(
    {
      adminToken: TEST_ADMIN_TOKEN,
      ...kafkaConnection(),
      registryUrl: registry.url,
      dataDir,
      views: [],
      logLevel: "silent",
    },
    silentLogger(),
  );
  const api = await startTestApi(registry.url, testCatalogTopic(), materializer.engine);
  return {
    apiUrl: api.url,
    registry,
    materializer,
    api,
    async stop() {
      await api.stop();
      await materializer.stop();
      await registry.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A fresh Postgres database with one table the tours and the fuzzer register as a source. */
export async function ordersDatabase(
  prefix: string,
): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const db = await createPgDatabase(prefix);
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    await c.query(
      `CREATE TABLE orders (id bigint PRIMARY KEY, status text NOT NULL, total numeric(12,2) NOT NULL);
       INSERT INTO orders SELECT i, CASE WHEN i % 2 = 0 THEN 'paid' ELSE 'open' END, i * 10
         FROM generate_series(1, 12) AS i`,
    );
  } finally {
    await c.end();
  }
  return db;
}

/** The Python that has the test requirements (test/python/requirements.txt); throws when there is none. */
export function python(): string {
  const candidates = [process.env.MESH_PYTHON, ".mesh/venv/bin/python"].filter(
    (p): p is string => p !== undefined && p !== "",
  );
  const found = candidates.find((p) => existsSync(p));
  if (!found)
    throw new Error(
      "no Python with the test requirements: run .ci/run, or make .mesh/venv " +
        "(python3 -m venv .mesh/venv && .mesh/venv/bin/pip install -r test/python/requirements.txt) or set MESH_PYTHON",
    );
  return found;
}

/** The go command; throws when Go is not installed. */
export async function goBinary(): Promise<string> {
  for (const candidate of [process.env.MESH_GO, "go", "/usr/local/go/bin/go"]) {
    if (!candidate) continue;
    try {
      await run(candidate, ["version"]);
      return candidate;
    } catch {
      // try the next
    }
  }
  throw new Error(
    "Go is not installed (the Go client test runs oapi-codegen and the Go tour): install Go 1.22+",
  );
}
