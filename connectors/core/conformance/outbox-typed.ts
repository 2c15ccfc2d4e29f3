// Typed domain events, for every backend (the routing is the runtime's): an outbox row of a declared type is
// published in the Confluent wire format under the topic's schema, keyed by aggregate id; one whose payload
// does not fit is parked, with the aggregate's later events behind it, while other aggregates flow; a retry
// after a compatible fix publishes them in order; a row deleted in the transaction that inserted it (the
// common pattern) is published once.
import { describe, expect, it } from "vitest";
import type { InRecord, KafkaClient } from "../../../lib/kafka/index.ts";
import { RegistryClient } from "../../../lib/registry-client.ts";
import { eventTypeSubject, loadCodecById, topicSchema } from "../outbox-schemas.ts";
import { shortName, waitFor, type Suite } from "./context.ts";
import { TEST_ADMIN_TOKEN } from "../../../test/support/auth.ts";

/** Every committed record of `topic` so far, in offset order per partition. */
async function readAll(kafka: KafkaClient, topic: string): Promise<InRecord[]> {
  const offsets = await kafka.admin().offsets(topic, { isolation: "read_committed" });
  const ends = new Map([...offsets].filter(([, o]) => o.high > o.low).map(([p, o]) => [p, o.high]));
  const out: InRecord[] = [];
  if (ends.size === 0) return out;
  const reader = kafka.reader();
  try {
    await reader.assign(
      [...ends.keys()].map((partition) => ({ topic, partition, offset: "earliest" as const })),
    );
    for await (const batch of reader.batches(AbortSignal.timeout(30_000))) {
      out.push(...batch.records);
      if (batch.nextOffset >= (ends.get(batch.partition) ?? 0n)) ends.delete(batch.partition);
      if (ends.size === 0) break;
    }
  } finally {
    await reader.close();
  }
  return out;
}

export function typedOutboxTests(s: Suite): void {
  describe("typed domain events", () => {
    it("publishes declared types in the wire format, parks a misfit and its aggregate's later events, publishes them after a fix and retry; insert+delete in one transaction is one event", async () => {
      const db = await s.database("ctyped");
      const name = shortName("typ");
      const owner = shortName("shop");
      const topic = `${owner}.Order`;
      const h = s.harness();
      const registry = new RegistryClient({ token: TEST_ADMIN_TOKEN, url: h.registryUrl });
      const declare = async (total: unknown): Promise<void> => {
        const subject = eventTypeSubject(topic, "OrderPlaced");
        const schema = JSON.stringify({
          type: "record",
          name: "OrderPlaced",
          fields: [{ name: "total", type: total }],
        });
        await registry.registerSchema(subject, { schemaType: "AVRO", schema });
        const version = (await registry.versions(subject)).at(-1)!;
        const built = topicSchema(topic, "AVRO", [{ type: "OrderPlaced", subject, version, schema }]);
        await registry.registerSchema(`${topic}-value`, { schemaType: "AVRO", ...built });
      };
      await declare("double");
      await db.exec(
        "CREATE TABLE orders (id int PRIMARY KEY)",
        `CREATE TABLE outbox (id varchar(64) PRIMARY KEY, aggregatetype varchar(64), aggregateid varchar(64), type varchar(64), payload ${s.target.outboxPayloadType})`,
      );
      const conn = s.connector(
        s.def(name, db, ["orders"], { owner, outbox: { tables: [db.qualified("outbox")] } }),
      );
      await conn.start();
      await s.streaming(conn);
      const insert = (id: string, aggregate: string, total: string): string =>
        `INSERT INTO outbox VALUES ('${id}', 'Order', '${aggregate}', 'OrderPlaced', '{"total": ${total}}')`;
      await db.exec("BEGIN", insert("e1", "o-1", "1.5"), "DELETE FROM outbox WHERE id = 'e1'", "COMMIT");
      await db.exec("BEGIN", insert("e2", "o-1", '"two"'), "COMMIT");
      await db.exec("BEGIN", insert("e3", "o-1", "3"), insert("e4", "o-2", "4"), "COMMIT");
      await waitFor(
        () => conn.status().outbox?.[topic]?.parked === 2 && conn.status().outbox?.[topic]?.published === 2,
        60_000,
        "two events published and two parked",
      );
      const decoded = async (): Promise<[string, string, unknown][]> =>
        Promise.all(
          (await readAll(h.kafka, topic)).map(async (r) => {
            const codec = await loadCodecById(registry, topic, r.value!.readUInt32BE(1));
            return [r.key!.toString(), r.headers.id!.toString(), codec!.decode(r.value!)] as [
              string,
              string,
              unknown,
            ];
          }),
        );
      const byAggregate = (rows: [string, string, unknown][], key: string): [string, unknown][] =>
        rows.filter((r) => r[0] === key).map((r) => [r[1], r[2]]);
      // `published` counts events handed to Kafka; in exactly-once mode they are readable once their Kafka
      // transaction commits, a moment later.
      await waitFor(
        async () => (await readAll(h.kafka, topic)).length === 2,
        30_000,
        "the two events committed",
      );
      let rows = await decoded();
      expect(byAggregate(rows, "o-1")).toEqual([["e1", { total: 1.5 }]]);
      expect(byAggregate(rows, "o-2")).toEqual([["e4", { total: 4 }]]);
      expect(rows.every(([, , v]) => v !== null)).toBe(true);

      // The owner accepts text totals too (a compatible new version), then retries the aggregate.
      await declare(["double", "string"]);
      expect(await conn.resolveParked(topic, "o-1", "retry")).toEqual({
        published: 2,
        skipped: 0,
        stillParked: 0,
        reason: null,
      });
      await waitFor(async () => (await readAll(h.kafka, topic)).length === 4, 30_000, "the retried events");
      rows = await decoded();
      expect(byAggregate(rows, "o-1")).toEqual([
        ["e1", { total: 1.5 }],
        ["e2", { total: "two" }],
        ["e3", { total: 3 }],
      ]);
      expect(conn.status().outbox?.[topic]).toMatchObject({ published: 4, parked: 0, untyped: 0 });
    });
  });
}
