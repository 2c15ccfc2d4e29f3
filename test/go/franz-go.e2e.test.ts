// Go: franz-go consumes a CDC topic that the real Postgres connector wrote, and its pkg/sr serde (schema ids
// looked up through our REST API by pkg/sr's client, hamba/avro decoding) decodes every column type exactly.
// Needs go on PATH (or /usr/local/go/bin); fails, never skips. Modules come through the Go module proxy into
// the default GOMODCACHE: the first run downloads them, later runs build in a few seconds.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, it } from "vitest";
import { expectAllTypes, useCdcTypesTopic, type ReadRecord } from "../support/cdc-types.ts";
import { TEST_ADMIN_TOKEN } from "../support/auth.ts";
import { kafkaEnv } from "../support/stack.ts";

const project = fileURLToPath(new URL(".", import.meta.url));
const go = existsSync("/usr/local/go/bin/go") ? "/usr/local/go/bin/go" : "go";
const cdc = useCdcTypesTopic();

describe("Go: franz-go + pkg/sr on a CDC topic", () => {
  it("decodes every Postgres type through the Confluent wire format and GET /schemas/ids/{id}", async () => {
    const { topic, registryUrl, brokers, count } = cdc();
    const { stdout } = await promisify(execFile)(
      go,
      ["run", ".", registryUrl, brokers, topic, String(count)],
      {
        cwd: project,
        timeout: 240_000,
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, ...kafkaEnv(), MESH_TOKEN: TEST_ADMIN_TOKEN },
      },
    ).catch((e: { stderr?: string; message: string }) => {
      throw new Error(`the Go reader failed (go must be installed): ${e.message}\n${e.stderr ?? ""}`);
    });
    const out = JSON.parse(stdout) as { records: ReadRecord[] };
    expectAllTypes(out.records);
  });
});
