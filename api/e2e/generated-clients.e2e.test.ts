// Clients generated from the API's OpenAPI document (/docs/json), in TypeScript (openapi-typescript +
// openapi-fetch), Python (openapi-python-client) and Go (oapi-codegen), each run the README tour against a
// real API: register a source, wait for it to stream, declare a view, query it with filters page by page,
// read the error of a 409 (test/clients/). The generated code is not committed: it is generated here, into
// .mesh/generated/ (ignored). Python and Go must be installed: a missing one fails the test.
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../test/support/stack.ts";
import {
  goBinary,
  ordersDatabase,
  python,
  run,
  startContractStack,
  type ContractStack,
} from "./contract-fixture.ts";
import { authHeaders, TEST_ADMIN_TOKEN } from "../../test/support/auth.ts";

// A version the Go module proxy serves here; `go run` caches it in the default GOMODCACHE.
const OAPI_CODEGEN = "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2";
const OAPI_RUNTIME = "github.com/oapi-codegen/runtime v1.9.0";
const generated = resolve(".mesh/generated");
const node24 =
  Number(process.versions.node.split(".")[0]) >= 24
    ? process.execPath
    : resolve("node_modules/node/bin/node");

let stack: ContractStack;
const databases: { drop: () => Promise<void> }[] = [];

beforeAll(async () => {
  stack = await startContractStack();
  mkdirSync(generated, { recursive: true });
  const doc = await fetch(`${stack.apiUrl}/docs/json`, { headers: authHeaders() });
  expect(doc.status).toBe(200);
  writeFileSync(join(generated, "openapi.json"), await doc.text());
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  for (const db of databases) await db.drop();
});

interface TourResult {
  ids: unknown[];
  pages: number;
  conflict: { status: number; code: string; message: string };
}

/** A fresh database and names for one tour; the environment its program reads. */
async function tourEnv(lang: string): Promise<Record<string, string>> {
  const db = await ordersDatabase(`tour_${lang}`);
  databases.push(db);
  return {
    ...(process.env as Record<string, string>),
    API_URL: stack.apiUrl,
    MESH_TOKEN: TEST_ADMIN_TOKEN,
    DB_URL: db.url,
    SOURCE: uniqueName(`tour-${lang}`).replaceAll("_", "-"),
    VIEW: `tour_${lang}_${uniqueName("v").slice(2)}`,
  };
}

function expectTour(stdout: string): void {
  const result = JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as TourResult;
  // Orders 1..12, every even one paid, total = id * 10: paid with total >= 40 are 4, 6, 8, 10, 12; by twos.
  expect(result.ids.map(String)).toEqual(["4", "6", "8", "10", "12"]);
  expect(result.pages).toBe(3);
  expect(result.conflict.status).toBe(409);
  expect(result.conflict.code).toBe("MESH_CONFLICT");
  expect(result.conflict.message).toContain("exists");
}

const timed = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
  const started = Date.now();
  try {
    return await f();
  } finally {
    console.log(`${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
};

describe("clients generated from the OpenAPI document run the tour", () => {
  it("TypeScript: openapi-typescript types, openapi-fetch, type-checked", async () => {
    const out = join(generated, "ts");
    rmSync(out, { recursive: true, force: true });
    await timed("generate ts", () =>
      // --default-non-nullable false: a body field with a default (snapshot, partitions) stays optional.
      run(resolve("node_modules/.bin/openapi-typescript"), [
        join(generated, "openapi.json"),
        "--default-non-nullable",
        "false",
        "-o",
        join(out, "schema.d.ts"),
      ]),
    );
    // The tour is checked against the generated types: a document that lies about a shape fails here.
    await timed("tsc ts tour", () =>
      run(resolve("node_modules/.bin/tsc"), ["-p", "test/clients/tsconfig.json"]),
    );
    const { stdout } = await timed("run ts tour", async () =>
      run(node24, ["test/clients/tour.ts"], { env: await tourEnv("ts"), timeout: 120_000 }),
    );
    expectTour(stdout);
  }, 200_000);

  it("Python: openapi-python-client", async () => {
    const py = python();
    const out = join(generated, "python");
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    await timed("generate python", () =>
      run(py, [
        "-m",
        "openapi_python_client",
        "generate",
        "--path",
        join(generated, "openapi.json"),
        "--output-path",
        join(out, "datamesh_api_client"),
        "--meta",
        "none",
        "--overwrite",
      ]),
    );
    const { stdout } = await timed("run python tour", async () =>
      run(py, ["test/clients/tour.py"], {
        env: { ...(await tourEnv("py")), PYTHONPATH: out },
        timeout: 120_000,
      }),
    );
    expectTour(stdout);
  }, 200_000);

  it("Go: oapi-codegen", async () => {
    const go = await goBinary();
    const dir = join(generated, "go");
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, "mesh"), { recursive: true });
    writeFileSync(join(dir, "go.mod"), `module tour\n\ngo 1.22\n\nrequire ${OAPI_RUNTIME}\n`);
    writeFileSync(
      join(dir, "oapi-codegen.yaml"),
      "package: mesh\noutput: mesh/client.gen.go\ngenerate:\n  models: true\n  client: true\n",
    );
    copyFileSync("test/clients/go/main.go", join(dir, "main.go"));
    await timed("generate go", () =>
      run(go, ["run", OAPI_CODEGEN, "-config", "oapi-codegen.yaml", join(generated, "openapi.json")], {
        cwd: dir,
        timeout: 300_000,
      }),
    );
    await timed("go mod tidy", () => run(go, ["mod", "tidy"], { cwd: dir, timeout: 300_000 }));
    const { stdout } = await timed("run go tour", async () =>
      run(go, ["run", "."], { cwd: dir, env: await tourEnv("go"), timeout: 300_000 }),
    );
    expectTour(stdout);
  }, 400_000);
});
