// KafkaClient: shared admin and producers, everything it handed out closed by close().
import { describe, expect, it } from "vitest";
import { isMeshError } from "../errors.ts";
import { kafkaConnection, uniqueName } from "../../test/support/stack.ts";
import { KafkaClient } from "./client.ts";

describe("KafkaClient", () => {
  it("shares the admin and producers, and close() closes what it handed out", async () => {
    const client = new KafkaClient({
      ...kafkaConnection(),
      clientId: uniqueName("client"),
    });
    const t = uniqueName("client");
    try {
      expect(client.admin()).toBe(client.admin());
      expect(client.producer()).toBe(client.producer());
      expect(client.producer({ transactionalId: "a" })).not.toBe(client.producer());
      await client.admin().ensureTopics([{ topic: t, partitions: 2 }]);

      const [delivery] = await client.producer().send([{ topic: t, key: "k", value: "plain" }]);
      const ordered = client.orderedProducer();
      const seq = ordered.enqueue({ topic: t, key: "k", value: "ordered" });
      await ordered.whenAcked(seq);

      const reader = client.reader();
      await reader.assign([{ topic: t, partition: delivery?.partition ?? 0, offset: "earliest" }]);
      const values: string[] = [];
      for await (const batch of reader.batches(AbortSignal.timeout(20_000))) {
        for (const r of batch.records) values.push(r.value?.toString() ?? "");
        if (values.length >= 2) break;
      }
      expect(values).toEqual(["plain", "ordered"]);

      await client.close();
      const afterClose = (fn: () => unknown): unknown => {
        try {
          return fn();
        } catch (err) {
          return err;
        }
      };
      const enqueued = afterClose(() => ordered.enqueue({ topic: t, key: "k", value: "late" }));
      expect(isMeshError(enqueued) && enqueued.code).toBe("MESH_KAFKA_CLOSED");
      const admin = afterClose(() => client.admin());
      expect(isMeshError(admin) && admin.code).toBe("MESH_KAFKA_CLOSED");
    } finally {
      const cleanup = new KafkaClient({
        ...kafkaConnection(),
        clientId: "cleanup",
      });
      await cleanup.admin().deleteTopics([t]);
      await cleanup.close();
      await client.close();
    }
  });

  it("lets go of what its users closed themselves (a process opening a reader per request does not grow)", async () => {
    const client = new KafkaClient({
      ...kafkaConnection(),
      clientId: uniqueName("client"),
    });
    const t = uniqueName("client");
    try {
      await client.admin().ensureTopics([{ topic: t, partitions: 1 }]);
      for (let i = 0; i < 3; i++) {
        const reader = client.reader();
        await reader.assign([{ topic: t, partition: 0, offset: "earliest" }]);
        await reader.close();
      }
      const table = client.compactedTable({ topic: t, onRecord: () => undefined });
      await table.start();
      await table.stop();
      const pipeline = client.orderedProducer();
      await pipeline.close();
      expect(client.handedOut).toBe(0);
      const open = client.reader();
      expect(client.handedOut).toBe(1);
      await client.close();
      expect(client.handedOut).toBe(0);
      // Closed by the client: a second close by its user is harmless.
      await open.close();
    } finally {
      const cleanup = new KafkaClient({
        ...kafkaConnection(),
        clientId: "cleanup",
      });
      await cleanup.admin().deleteTopics([t]);
      await cleanup.close();
      await client.close();
    }
  });
});
