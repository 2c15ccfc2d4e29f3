// Confluent's Python client (confluent-kafka) with Protobuf and JSON Schema against the registry and the real
// Kafka: test/python/registry_formats.py serializes, produces, consumes and deserializes with
// ProtobufSerializer/Deserializer and JSONSerializer/Deserializer, and prints what it saw.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import pino from "pino";
import { kafka, kafkaConnection, kafkaEnv, stackEnv, uniqueName } from "../test/support/stack.ts";
import { startRegistry, type RunningRegistry } from "./server.ts";
import { TEST_ADMIN_TOKEN } from "../test/support/auth.ts";

// CI's venv (.ci/run exports MESH_PYTHON), else the project's .mesh/venv, else python3; it must have the
// packages of test/python/requirements.txt, or this test fails (never skips).
const python =
  process.env.MESH_PYTHON ?? (existsSync(".mesh/venv/bin/python") ? ".mesh/venv/bin/python" : "python3");
const prefix = uniqueName("py_fmt");
const schemasTopic = uniqueName("_schemas_pyfmt");
let reg: RunningRegistry | undefined;

afterAll(async () => {
  await reg?.stop();
  await kafka()
    .admin()
    .deleteTopics([`${prefix}_proto`, `${prefix}_json`, schemasTopic, `${schemasTopic}_leader`])
    .catch(() => undefined);
});

describe("confluent-kafka (Python) Protobuf and JSON Schema serdes against the registry", () => {
  it("round-trips Protobuf messages (import by reference, message indexes) and validated JSON", async () => {
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
      ["test/python/registry_formats.py", reg.url, brokers, prefix],
      {
        timeout: 90_000,
        // The scripts send it as Confluent clients do: basic.auth.user.info = "<any user>:<token>".
        env: { ...process.env, ...kafkaEnv(), MESH_TOKEN: TEST_ADMIN_TOKEN },
      },
    ).catch((e: { stderr?: string; message: string }) => {
      throw new Error(`python client failed: ${e.stderr ?? ""} ${e.message}`);
    });
    const out = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}");
    expect(out.proto_ids).toHaveLength(1);
    // Order is message [0] (one zero byte), Refund [1] (zigzag count 1, index 1: 0x02 0x02).
    expect(out.proto_indexes.map((i: number[]) => i[0])).toEqual([0, 0, 2]);
    expect(out.proto_decoded).toEqual([
      { id: "o-1", total: { currency: "EUR", cents: "1250" }, skus: ["a", "b"], status: "PAID" },
      { id: "o-2", total: { currency: "JPY", cents: "7" } },
    ]);
    expect(out.proto_refund).toEqual({ order_id: "o-1" });
    expect(out.proto_schema_type).toBe("PROTOBUF");
    expect(out.proto_references).toEqual([
      { name: "pyshop/money.proto", subject: "pyshop/money.proto", version: 1 },
    ]);
    expect(out.subjects).toEqual(
      [`${prefix}_json-value`, `${prefix}_proto-value`, "pyshop/money.proto"].sort(),
    );
    expect(out.json_decoded).toEqual([
      { id: "o-1", cents: 1250 },
      { id: "o-2", cents: 0 },
    ]);
    expect(out.json_invalid_refused).toBe(true);
    expect(out.json_schema_type).toBe("JSON");
    expect(out.json_schema.required).toEqual(["id", "cents"]);
  });
});
