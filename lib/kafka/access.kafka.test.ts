// KafkaAccess against the real broker (SASL/SCRAM + StandardAuthorizer, deploy/local/kafka-sasl.ts): a SCRAM
// user is created, refused a topic without an ACL, reads it once granted, is refused again once revoked, and
// cannot log in once deleted. Errors never carry a password.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isMeshError } from "../errors.ts";
import { kafka, kafkaConnection, uniqueName } from "../../test/support/stack.ts";
import { KafkaClient } from "./client.ts";
import type { KafkaConfig } from "./config.ts";
import type { InRecord } from "./messages.ts";
import { produce } from "./reading-testing.ts";

const admin = (): KafkaClient => kafka(uniqueName("access-admin"));
let superClient: KafkaClient;
const topic = uniqueName("access_t");
const other = uniqueName("access_o");
const user = uniqueName("svc").replace(/_/g, "-");
const password = `pw-${uniqueName("secret")}`;
const opened: KafkaClient[] = [];

function as(name: string, pass: string): KafkaClient {
  const client = new KafkaClient({
    brokers: kafkaConnection().brokers,
    sasl: { mechanism: "SCRAM-SHA-512", username: name, password: pass },
    clientId: uniqueName("access-user"),
  });
  opened.push(client);
  return client;
}

/** The records of partition 0 of `from` from the start, read as `client`; rejects with what Kafka refused. */
async function readAll(client: KafkaClient, expected: number, from = topic): Promise<InRecord[]> {
  const reader = client.reader();
  const records: InRecord[] = [];
  try {
    await reader.assign([{ topic: from, partition: 0, offset: "earliest" }]);
    for await (const batch of reader.batches(AbortSignal.timeout(20_000))) {
      records.push(...batch.records);
      if (records.length >= expected) break;
    }
  } finally {
    await reader.close();
  }
  return records;
}

async function refusal(work: Promise<unknown>): Promise<{ code: string; text: string }> {
  const err = await work.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, "Kafka should have refused").not.toBeNull();
  expect(isMeshError(err)).toBe(true);
  const e = err as Error & { code: string; details?: unknown };
  return { code: e.code, text: `${e.message} ${JSON.stringify(e.details)} ${String(e.stack)}` };
}

beforeAll(async () => {
  superClient = admin();
  await superClient.admin().ensureTopics([
    { topic, partitions: 1 },
    { topic: other, partitions: 1 },
  ]);
  const config: KafkaConfig = { ...kafkaConnection(), clientId: uniqueName("access-produce") };
  await produce(config, [
    { topic, partition: 0, key: "a", value: "1" },
    { topic, partition: 0, key: "b", value: "2" },
  ]);
});

afterAll(async () => {
  await Promise.all(opened.map((c) => c.close()));
  await superClient.access().deleteUser(user);
  await superClient.admin().deleteTopics([topic, other]);
});

describe("KafkaAccess", () => {
  it("creates a SCRAM user that logs in but reads nothing without an ACL", async () => {
    const access = superClient.access();
    await access.ensureUser(user, password);
    await access.ensureUser(user, password); // idempotent
    expect(await access.aclsOf(user)).toEqual([]);
    const denied = await refusal(readAll(as(user, password), 2));
    expect(denied.code).toBe("MESH_KAFKA_AUTH");
    expect(denied.text).toContain("TOPIC_AUTHORIZATION_FAILED");
    expect(denied.text).not.toContain(password);
  });

  it("refuses a wrong password without echoing it", async () => {
    const wrong = `${password}-wrong`;
    const denied = await refusal(as(user, wrong).admin().listTopics());
    expect(denied.code).toBe("MESH_KAFKA_AUTH");
    expect(denied.text).not.toContain(wrong);
    expect(denied.text).not.toContain(password);
  });

  it("grants READ on one topic (and its groups by prefix), describes it, and revokes it", async () => {
    const access = superClient.access();
    await access.grantTopicRead(user, topic);
    await access.grantTopicRead(user, topic); // idempotent
    expect(await access.aclsOf(user)).toEqual([
      {
        resourceType: "GROUP",
        resourceName: `${user}.`,
        patternType: "PREFIXED",
        operation: "READ",
        permission: "ALLOW",
        host: "*",
      },
      {
        resourceType: "TOPIC",
        resourceName: topic,
        patternType: "LITERAL",
        operation: "DESCRIBE",
        permission: "ALLOW",
        host: "*",
      },
      {
        resourceType: "TOPIC",
        resourceName: topic,
        patternType: "LITERAL",
        operation: "READ",
        permission: "ALLOW",
        host: "*",
      },
    ]);
    const client = as(user, password);
    const records = await readAll(client, 2);
    expect(records.map((r) => r.value?.toString())).toEqual(["1", "2"]);
    // Only that topic: the other stays closed to the user, and writing is not reading.
    const otherDenied = await refusal(readAll(client, 1, other));
    expect(otherDenied.code).toBe("MESH_KAFKA_AUTH");
    const writeDenied = await refusal(client.producer().send([{ topic, key: "c", value: "3" }]));
    expect(writeDenied.code).toBe("MESH_KAFKA_AUTH");

    await access.grantTopicRead(user, other);
    await access.revokeTopicRead(user, topic);
    // The group ACL stays while another topic is granted, and goes with the last one.
    expect(
      (await access.aclsOf(user)).map((a) => `${a.resourceType}:${a.resourceName}:${a.operation}`),
    ).toEqual([`GROUP:${user}.:READ`, `TOPIC:${other}:DESCRIBE`, `TOPIC:${other}:READ`]);
    await access.revokeTopicRead(user, other);
    expect(await access.aclsOf(user)).toEqual([]);
    const again = await refusal(readAll(as(user, password), 2));
    expect(again.code).toBe("MESH_KAFKA_AUTH");
  });

  it("deletes the user: its credential and every ACL go", async () => {
    const access = superClient.access();
    await access.grantTopicRead(user, topic);
    await access.deleteUser(user);
    expect(await access.aclsOf(user)).toEqual([]);
    const denied = await refusal(as(user, password).admin().listTopics());
    expect(denied.code).toBe("MESH_KAFKA_AUTH");
    await access.deleteUser(user); // a user that does not exist: no error
  });

  it("refuses user names SCRAM or ACLs cannot hold", async () => {
    for (const bad of ["", "a,b", "a=b", "User:x", "ANONYMOUS", "-lead"]) {
      const denied = await refusal(superClient.access().ensureUser(bad, "long-enough-password"));
      expect(denied.code).toBe("MESH_BAD_REQUEST");
    }
  });
});
