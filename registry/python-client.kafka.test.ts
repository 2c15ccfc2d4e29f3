import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import pino from "pino";
import { kafka, kafkaConnection, kafkaEnv, stackEnv, uniqueName } from "../test/support/stack.ts";
import { startRegistry, type RunningRegistry } from "./server.ts";
import { TEST_ADMIN_TOKEN } from "../test/support/auth.ts";

// The project's venv (.mesh/venv) when present, else python3 on PATH; either must have confluent-kafka and
// fastavro installed, or this test fails (never skips).
const python = existsSync(".mesh/venv/bin/python") ? ".mesh/venv/bin/python" : "python3";
const topic = uniqueName("py_orders");
const schemasTopic = uniqueName("_schemas_py");
let reg: RunningRegistry | undefined;

afterAll(async () => {
  await reg?.stop();
  await kafka()
    .admin()
    .deleteTopics([topic, schemasTopic, `${schemasTopic}_leader`]);
});

describe("confluent-kafka (Python) against the registry", () => {
  it("registers, serializes through Kafka, deserializes, resolves a reference and reads subjects, versions and config", async () => {
    const brokers = stackEnv().MESH_KAFKA_BROKERS;
    reg = await startRegistry({
      adminToken: TEST_ADMIN_TOKEN,
      ...kafkaConnection(),
      port: 0,
      topic: schemasTopic,
      logger: pino({ level: "warn" }),
    });
    const { stdout } = await promisify(execFile)(
      python,
      ["test/python/registry_roundtrip.py", reg.url, brokers, topic],
      {
        timeout: 90_000,
        // The scripts send it as Confluent clients do: basic.auth.user.info = "<any user>:<token>".
        env: { ...process.env, ...kafkaEnv(), MESH_TOKEN: TEST_ADMIN_TOKEN },
      },
    ).catch((e: { stderr?: string; message: string }) => {
      throw new Error(`python client failed: ${e.stderr ?? ""} ${e.message}`);
    });
    const out = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}");
    expect(out).toMatchObject({
      ids: [1, 2],
      subjects: ["geo-country", `${topic}-value`, `${topic}_ship-value`],
      versions: [1, 2],
      latest: { version: 2, id: 2 },
      v1: { version: 1, id: 1 },
      by_id_fields: ["id", "total", "status"],
      compatibility: "BACKWARD",
      compatible: true,
      compatible_before_first: true,
      ref_id: 4,
      shipped: { id: 7, to: { code: "FR" } },
    });
    expect(out.decoded).toEqual([
      { id: 1, total: "12.50", status: "NEW", note: null },
      { id: 2, total: "99999999.99", status: "PAID", note: "gift" },
    ]);
  });
});
