// The local Kafka refuses what it should, seen by a stock client (confluent-kafka, librdkafka, through the
// project's venv): no SASL, a wrong password, and a SCRAM user without an ACL read nothing; the same user reads
// the topic once KafkaAccess grants it READ, only within its own consumer-group prefix, and no more once revoked.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { Writable } from "node:stream";
import { createLogger } from "../../lib/logger.ts";
import { TEST_AUTH_ENV } from "../../test/support/auth.ts";
import { kafka, kafkaConnection, kafkaEnv, uniqueName } from "../../test/support/stack.ts";
import { waitFor } from "../../test/support/wait.ts";

// CI's venv (MESH_PYTHON), else the project's .mesh/venv, else python3 with confluent-kafka: fails, never skips.
const python =
  process.env.MESH_PYTHON ?? (existsSync(".mesh/venv/bin/python") ? ".mesh/venv/bin/python" : "python3");
const topic = uniqueName("secured");
const user = uniqueName("reader").replace(/_/g, "-");
const password = `pw-${uniqueName("p")}`;

interface Probe {
  values?: string[];
  error?: string;
}

/** Runs the stock client as `login` (none: no SASL) on `group`; what it read, or the error it got. */
async function probe(login: { user: string; password: string } | null, group: string): Promise<Probe> {
  const { stdout } = await promisify(execFile)(
    python,
    ["test/python/kafka_access_probe.py", kafkaConnection().brokers.join(","), topic, group, "2", "20"],
    {
      timeout: 60_000,
      env: {
        PATH: process.env.PATH ?? "",
        ...(login ? { PROBE_SASL_USERNAME: login.user, PROBE_SASL_PASSWORD: login.password } : {}),
      },
    },
  ).catch((e: { stderr?: string; message: string }) => {
    throw new Error(`the Python client failed: ${e.stderr ?? ""} ${e.message}`);
  });
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as Probe;
}

beforeAll(async () => {
  const client = kafka();
  await client.admin().ensureTopics([{ topic, partitions: 1 }]);
  await client.producer().send([
    { topic, key: "a", value: "one" },
    { topic, key: "b", value: "two" },
  ]);
  await client.access().ensureUser(user, password);
});

afterAll(async () => {
  const client = kafka();
  await client.access().deleteUser(user);
  await client.admin().deleteTopics([topic]);
});

describe("the local Kafka with a stock client (confluent-kafka)", () => {
  it("refuses a client without SASL and a wrong password", async () => {
    const plain = await probe(null, `${user}.plain`);
    expect(plain.values ?? []).toEqual([]);
    expect(plain.error).toMatch(/^_(TRANSPORT|ALL_BROKERS_DOWN|AUTHENTICATION)$/);
    const wrong = await probe({ user, password: `${password}x` }, `${user}.wrong`);
    expect(wrong).toMatchObject({ error: "_AUTHENTICATION" });
  });

  it("refuses a SCRAM user without an ACL, lets it read once granted, and refuses again once revoked", async () => {
    const access = kafka().access();
    const login = { user, password };
    // No ACL at all: not even its consumer group.
    expect(await probe(login, `${user}.before`)).toMatchObject({ error: "GROUP_AUTHORIZATION_FAILED" });
    // Granted another topic (so its groups are open): this one is still refused.
    await access.grantTopicRead(user, `${topic}_other`);
    expect(await probe(login, `${user}.other`)).toMatchObject({ error: "TOPIC_AUTHORIZATION_FAILED" });

    await access.grantTopicRead(user, topic);
    expect(await probe(login, `${user}.granted`)).toEqual({ values: ["one", "two"] });
    // Consumer groups only under the user's own prefix: another service's group stays closed.
    expect(await probe(login, "someone-else.group")).toMatchObject({ error: "GROUP_AUTHORIZATION_FAILED" });

    await access.revokeTopicRead(user, topic);
    expect(await probe(login, `${user}.after`)).toMatchObject({ error: "TOPIC_AUTHORIZATION_FAILED" });
  });

  it("a role logged in as the super user never writes the password to its log", async () => {
    const connection = kafkaConnection();
    expect(connection.sasl?.username).toBe("mesh");
    const password = connection.sasl!.password;
    // The registry as its own process, at the most verbose level, until it serves.
    const schemas = uniqueName("_schemas_secured");
    const child = spawn(
      process.execPath,
      ["registry/main.ts", "--port", "0", "--topic", schemas, "--log-level", "trace"],
      { env: { ...process.env, ...TEST_AUTH_ENV, ...kafkaEnv() }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise((resolve) => child.once("exit", resolve));
    try {
      await waitFor(() => output.includes('"registry"'), 60_000, "the registry serving");
    } finally {
      child.kill("SIGTERM");
      await exited;
      await kafka()
        .admin()
        .deleteTopics([schemas, `${schemas}_leader`]);
    }
    expect(output).toContain("registry");
    expect(output).not.toContain(password);
    // A config logged whole by mistake: the logger redacts the login inside it.
    let logged = "";
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logged += chunk.toString();
        done();
      },
    });
    createLogger({ destination }).info({ config: { kafka: connection } }, "config");
    expect(logged).toContain("[redacted]");
    expect(logged).not.toContain(password);
  });
});
