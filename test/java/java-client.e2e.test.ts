// Java: stock kafka-clients and Apache Avro (Maven Central, test/java/pom.xml) read a CDC topic that the real
// Postgres connector wrote, looking schema ids up through our REST API, and decode every column type exactly.
// Needs java and mvn on PATH (CI installs nothing for them: .ci/run checks they are there); fails, never skips.
// Maven's cache is the default ~/.m2: the first run downloads the jars, later runs take ~10 s.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { expectAllTypes, useCdcTypesTopic, type ReadRecord } from "../support/cdc-types.ts";
import { TEST_ADMIN_TOKEN } from "../support/auth.ts";
import { kafkaEnv } from "../support/stack.ts";

const project = fileURLToPath(new URL(".", import.meta.url));
const cdc = useCdcTypesTopic();

describe("Java: kafka-clients + Apache Avro on a CDC topic", () => {
  it("decodes every Postgres type through the Confluent wire format and GET /schemas/ids/{id}", async () => {
    const { topic, registryUrl, brokers, count } = cdc();
    const args = [registryUrl, brokers, topic, String(count)].join(" ");
    const { stdout } = await promisify(execFile)(
      "mvn",
      ["-q", "-B", "-Dstyle.color=never", "compile", "exec:java", `-Dexec.args=${args}`],
      {
        cwd: project,
        timeout: 240_000,
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, ...kafkaEnv(), MESH_TOKEN: TEST_ADMIN_TOKEN },
      },
    ).catch((e: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(
        `the Java reader failed (java and mvn must be installed): ${e.message}\n${e.stdout ?? ""}`,
      );
    });
    // Maven writes colour resets around the program's output even with -B: the document is the `{` line.
    // eslint-disable-next-line no-control-regex -- ANSI colour codes
    const plain = stdout.replace(/\x1b\[[0-9;]*m/g, "");
    const line = plain.split("\n").find((l) => l.startsWith("{"));
    if (!line) throw new Error(`the Java reader printed no document: ${plain}`);
    const out = JSON.parse(line) as {
      records: ReadRecord[];
      servedAsAvroWrites: Record<string, boolean>;
    };
    expectAllTypes(out.records);
    // Key and value schemas: each served exactly as Avro's Schema.toString() writes it (what Confluent serves).
    expect(Object.keys(out.servedAsAvroWrites)).toHaveLength(2);
    expect(Object.values(out.servedAsAvroWrites)).toEqual([true, true]);
  });
});
