// The local Postgres decodes logical replication: an inserted row arrives through a pgoutput slot
// read with pg-logical-replication (what connectors/postgres builds on).
import pg from "pg";
import { LogicalReplicationService, PgoutputPlugin } from "pg-logical-replication";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPgDatabase, uniqueName } from "../../test/support/stack.ts";

describe("pgoutput on the local Postgres", () => {
  let db: Awaited<ReturnType<typeof createPgDatabase>>;
  const slot = uniqueName("slot");
  let service: LogicalReplicationService | undefined;

  beforeAll(async () => {
    db = await createPgDatabase("pgout");
  });
  afterAll(async () => {
    await service?.stop();
    await db.drop();
  });

  it("streams an inserted row (bigint beyond 2^53 and numeric kept as text)", async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query("CREATE TABLE items (id bigint PRIMARY KEY, price numeric(20,2), name text)");
    await client.query("CREATE PUBLICATION pub FOR TABLE items");
    await client.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);

    service = new LogicalReplicationService(
      { connectionString: db.url },
      { acknowledge: { auto: true, timeoutSeconds: 1 } },
    );
    const inserted = new Promise<{ relation: { name: string }; new: Record<string, unknown> }>((resolve) => {
      service!.on(
        "data",
        (_lsn: string, log: { tag: string; relation: { name: string }; new: Record<string, unknown> }) => {
          if (log.tag === "insert") resolve(log);
        },
      );
    });
    const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: ["pub"] });
    void service.subscribe(plugin, slot).catch(() => undefined);

    await client.query("INSERT INTO items VALUES (9007199254740993, 12345678901234567.89, 'héllo')");
    await client.end();

    const log = await inserted;
    expect(log.relation.name).toBe("items");
    expect(String(log.new.id)).toBe("9007199254740993");
    expect(String(log.new.price)).toBe("12345678901234567.89");
    expect(log.new.name).toBe("héllo");
  });
});
