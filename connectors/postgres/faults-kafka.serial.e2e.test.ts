// Faults: the Kafka broker stops for 20 s mid-stream and starts again; then it freezes for 20 s (SIGSTOP:
// connections stay open and nothing answers, as with a long GC pause or a network partition) and thaws. Each
// time the connector waits (its status says Kafka is unavailable), resumes by itself, and loses nothing: the
// topic replays to exactly the table. A private Kafka on other ports (deploy/local), so the shared stack's
// broker is never touched; the registry stays on the shared one.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KafkaClient } from "../../lib/kafka/index.ts";
import { createPgDatabase, kafkaConnection, stackEnv } from "../../test/support/stack.ts";
import { replay } from "../core/conformance/context.ts";
import { kafkaOffsetStore } from "../core/offset-store.ts";
import { privateKafka } from "./test-support/private-stack.ts";
import {
  createConnector,
  readTopics,
  shortId,
  sourceDef,
  startHarness,
  waitFor,
  withPg,
  type Harness,
} from "./test-harness.ts";

let h: Harness;
let kafka: Awaited<ReturnType<typeof privateKafka>>;
beforeAll(async () => {
  h = await startHarness(kafkaConnection());
  kafka = await privateKafka(29500);
}, 180_000);
afterAll(async () => {
  await kafka?.remove();
  await h?.stop();
});

interface Outage {
  /** Takes the broker away; resolves once it is gone. */
  begin(): Promise<void>;
  end(): Promise<void>;
}

async function brokerPid(): Promise<number> {
  const pid = (await kafka.service.status()).pid;
  if (pid === null) throw new Error("the private broker is not running");
  return pid;
}

const stopped: Outage = {
  begin: () => kafka.service.down().then(() => undefined),
  end: () => kafka.service.up().then(() => undefined),
};
const frozen: Outage = {
  begin: async () => void process.kill(await brokerPid(), "SIGSTOP"),
  end: async () => void process.kill(await brokerPid(), "SIGCONT"),
};

/**
 * Streams transactions while `outage` keeps the broker away for 20 s; checks that the status showed it, that
 * the connector streams again by itself afterwards, and that the topic replays to exactly the table.
 */
async function streamThrough(label: string, outage: Outage): Promise<void> {
  const db = await createPgDatabase("fkafka");
  const name = shortId("fkafka");
  const client = new KafkaClient({ brokers: kafka.brokers, sasl: kafka.sasl, clientId: shortId("fault") });
  const connector = createConnector(sourceDef(name, db.url, ["public.t"]), {
    ...h.deps(),
    kafka: client,
    offsets: kafkaOffsetStore(client),
    retryDelayMs: 500,
  });
  let writing = true;
  let committed = 0;
  try {
    await withPg(db.url, (c) => c.query("CREATE TABLE public.t (id int PRIMARY KEY, v int NOT NULL)"));
    await connector.start();
    await waitFor(() => connector.status().state === "streaming", 60_000, "streaming");
    const writer = withPg(db.url, async (c) => {
      for (let id = 1; writing; id++) {
        await c.query("BEGIN");
        await c.query("INSERT INTO public.t VALUES ($1, 0)", [id]);
        await c.query("UPDATE public.t SET v = v + 1 WHERE id = $1", [Math.max(1, id - 7)]);
        await c.query("COMMIT");
        committed = id;
        await new Promise((r) => setTimeout(r, 10));
      }
    });
    await waitFor(() => committed >= 100, 30_000, "writes under way");
    // The status is sampled from the moment the outage begins (a graceful stop takes seconds, longer under
    // load), and the broker stays away 20 s after it is gone.
    const beganAt = Date.now();
    const during: string[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const s = connector.status();
        during.push(`${s.state}:${s.error?.code ?? ""}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    await outage.begin();
    const goneAfterMs = Date.now() - beganAt;
    await new Promise((r) => setTimeout(r, 20_000));
    sampling = false;
    await sampler;
    const writtenWhileAway = committed;
    await outage.end();
    await waitFor(
      () => connector.status().state === "streaming" && connector.status().error === null,
      120_000,
      "streaming again",
    );
    const recoveredAfter = Date.now() - beganAt;
    // Some transactions after the recovery too, streamed by the recovered session.
    const committedAtRecovery = committed;
    await waitFor(() => committed >= committedAtRecovery + 50, 30_000, "writes after the recovery");
    writing = false;
    await writer;
    const endLsn = await withPg(
      db.url,
      async (c) => (await c.query<{ l: string }>("SELECT pg_current_wal_lsn()::text AS l")).rows[0]?.l,
    );
    await waitFor(
      () =>
        withPg(
          stackEnv().MESH_PG_URL,
          async (c) =>
            (
              await c.query(
                "SELECT 1 FROM pg_replication_slots WHERE database = $1 AND confirmed_flush_lsn >= $2::pg_lsn",
                [db.name, endLsn],
              )
            ).rowCount === 1,
        ),
      90_000,
      "the connector to confirm everything",
    );
    const topic = `${name}.public.t`;
    let total = 0;
    for (const p of (await client.admin().offsets(topic)).values()) total += Number(p.high);
    const msgs = await readTopics(client, h.registryUrl, [topic], (m) => m.length >= total, {
      idleMs: 10_000,
    });
    const rows = await withPg(
      db.url,
      async (c) => (await c.query<{ id: number; v: number }>("SELECT id, v FROM public.t")).rows,
    );
    const state = replay(msgs, topic);
    expect(rows.length).toBe(committed);
    expect(state.size).toBe(rows.length);
    expect(rows.filter((r) => state.get(String(r.id))?.v !== r.v)).toEqual([]);
    // The outage showed in the status, and the source kept being written meanwhile.
    const seen = [...new Set(during)].join(", ");
    expect(
      during.some((d) => d !== "streaming:"),
      `status samples ${seen}; the broker was gone after ${goneAfterMs} ms`,
    ).toBe(true);
    expect(writtenWhileAway).toBeGreaterThan(100);
    console.log(
      `Kafka ${label}: ${committed} transactions, broker gone after ${goneAfterMs} ms, status meanwhile ${seen} (first non-streaming sample after ${during.findIndex((d) => d !== "streaming:") * 250} ms), streaming again ${recoveredAfter} ms after the outage began`,
    );
  } finally {
    writing = false;
    await connector.stop().catch(() => undefined);
    await client.close();
    await db.drop();
  }
}

describe("fault: Kafka away mid-stream", () => {
  it("waits while the broker is stopped for 20 s, resumes, and loses nothing", async () => {
    await streamThrough("stopped", stopped);
  });

  it("waits while the broker is frozen for 20 s (open connections, no answers), resumes, and loses nothing", async () => {
    await streamThrough("frozen", frozen);
  });
});
