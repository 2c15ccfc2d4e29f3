// Credentials at rest on the real Kafka: the catalog topic's raw bytes never hold a source's password; a
// restart with the same key reads it back; records written before encryption are still read; a wrong or
// missing key stops the start with MESH_SECRET_KEY saying what to do.
import { mkdtempSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../lib/logger.ts";
import { kafka, uniqueName } from "../../test/support/stack.ts";
import { Catalog } from "./catalog.ts";
import { KafkaCatalogLog } from "./kafka-log.ts";
import { sourceRecord } from "./records-fixture.ts";
import { sourceKey } from "../../protocol/catalog.ts";
import { CredentialCipher } from "./secrets.ts";

const topic = uniqueName("_mesh_catalog_sealed");
const dir = mkdtempSync(join(tmpdir(), "mesh-catalog-key-"));
const password = `pw-${randomBytes(6).toString("hex")}`;
const open: Catalog[] = [];
const client = kafka();

function startCatalog(cipher: CredentialCipher): Promise<Catalog> {
  const catalog = new Catalog(
    new KafkaCatalogLog({ kafka: kafka(), logger: silentLogger(), topic, cipher, startTimeoutMs: 20_000 }),
  );
  open.push(catalog);
  return catalog.start().then(() => catalog);
}

/** Every record value on the topic, as raw text (read_uncommitted: whatever the bytes on the log are). */
async function rawTopic(): Promise<string[]> {
  const high = (await client.admin().offsets(topic)).get(0)?.high ?? 0n;
  const reader = client.reader({ isolation: "read_uncommitted" });
  const values: string[] = [];
  try {
    await reader.assign([{ topic, partition: 0, offset: "earliest" }]);
    let next = 0n;
    for await (const batch of reader.batches(AbortSignal.timeout(20_000))) {
      for (const r of batch.records) values.push(r.value?.toString("latin1") ?? "");
      next = batch.nextOffset;
      if (next >= high) break;
    }
    expect(next).toBeGreaterThanOrEqual(high);
  } finally {
    await reader.close();
  }
  return values;
}

async function startError(cipher: CredentialCipher): Promise<{ code: string; message: string }> {
  try {
    await startCatalog(cipher);
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error("expected the catalog start to fail");
}

afterAll(async () => {
  await Promise.all(open.map((c) => c.stop()));
  rmSync(dir, { recursive: true, force: true });
  await client.admin().deleteTopics([topic]);
});

describe("catalog credentials at rest", () => {
  it("never writes the password to the topic, reads it back after a restart, and still reads plain records", async () => {
    const keyFile = join(dir, "secret.key");
    // A record from before encryption, written straight to the topic as the old code did.
    const legacy = {
      ...sourceRecord("legacy", "old", ["public.t"]),
      url: "postgres://u:legacy-pw@h:5432/db",
    };
    const first = await startCatalog(new CredentialCipher({ keyFile }));
    await client
      .producer()
      .send([{ topic, key: sourceKey("legacy"), value: JSON.stringify(legacy), partition: 0 }]);

    const record = {
      ...sourceRecord("orders", "orders", ["public.orders"]),
      url: `postgres://mesh:${password}@h:5432/orders`,
    };
    await first.putSource(record);
    await first.putSource({ ...record, paused: true });
    expect(first.source("orders")?.url).toBe(record.url);

    const raw = await rawTopic();
    expect(raw.length).toBeGreaterThanOrEqual(3);
    expect(raw.some((v) => v.includes(password))).toBe(false);
    expect(raw.filter((v) => v.includes("passwordSealed"))).toHaveLength(2);

    const restarted = await startCatalog(new CredentialCipher({ keyFile }));
    expect(restarted.source("orders")).toMatchObject({ url: record.url, paused: true });
    expect(restarted.source("legacy")?.url).toBe(legacy.url);
  });

  it("a wrong or missing key stops the start with MESH_SECRET_KEY naming what to do", async () => {
    const wrong = await startError(
      new CredentialCipher({ envKey: randomBytes(32).toString("base64"), keyFile: "unused" }),
    );
    expect(wrong.code).toBe("MESH_SECRET_KEY");
    expect(wrong.message).toContain('source "orders"');
    expect(wrong.message).toContain("MESH_SECRET_KEY");
    const missing = await startError(new CredentialCipher({ keyFile: join(dir, "nowhere", "secret.key") }));
    expect(missing.code).toBe("MESH_SECRET_KEY");
    expect(missing.message).toMatch(/no key is configured/);
    expect(`${wrong.message}${missing.message}`).not.toContain(password);
  });
});
