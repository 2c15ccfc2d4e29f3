// Topic listing and SSE events over real Kafka and our registry: decoding to lossless JSON, every start
// position, Last-Event-ID resume, and a slow client holding a bounded number of events.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AddressInfo } from "node:net";
import http from "node:http";
import type { FastifyInstance } from "fastify";
import { avroType, encodeWire } from "../../lib/avro.ts";
import type { OutMessage } from "../../lib/kafka/index.ts";
import { silentLogger } from "../../lib/logger.ts";
import { startRegistry, type RunningRegistry } from "../../registry/server.ts";
import { kafka, kafkaConnection, uniqueName } from "../../test/support/stack.ts";
import { waitFor } from "../../test/support/wait.ts";
import { Catalog, MemoryCatalogLog } from "../catalog/catalog.ts";
import { sourceRecord } from "../catalog/records-fixture.ts";
import { Reconciler } from "../control/reconciler.ts";
import { buildApi } from "../http/server.ts";
import { FakeHealth, FakeSources, FakeViews } from "../testing/fakes.ts";
import { KafkaTopics } from "./kafka-topics.ts";
import { RegistryClient } from "../../lib/registry-client.ts";
import { authHeaders, TEST_ADMIN_TOKEN, testAuthenticator } from "../../test/support/auth.ts";

const source = uniqueName("src");
const topic = `${source}.public.orders`;
const keySchema = { type: "record", name: "Key", fields: [{ name: "id", type: "long" }] } as const;
const valueSchema = {
  type: "record",
  name: "Value",
  fields: [
    { name: "id", type: "long" },
    {
      name: "total",
      type: ["null", { type: "bytes", logicalType: "decimal", precision: 12, scale: 2 }],
      default: null,
    },
  ],
} as const;
let registry: RunningRegistry;
let topics: KafkaTopics;
let app: FastifyInstance;
let baseUrl: string;
let keyId: number;
let valueId: number;
const client = kafka();

async function register(subject: string, schema: object): Promise<number> {
  const res = await fetch(`${registry.url}/subjects/${subject}/versions`, {
    method: "POST",
    headers: { ...authHeaders(), "content-type": "application/vnd.schemaregistry.v1+json" },
    body: JSON.stringify({ schema: JSON.stringify(schema) }),
  });
  return ((await res.json()) as { id: number }).id;
}

function messages(from: number, count: number): OutMessage[] {
  const k = avroType(JSON.stringify(keySchema));
  const v = avroType(JSON.stringify(valueSchema));
  const out: OutMessage[] = [];
  for (let i = from; i < from + count; i++) {
    out.push({
      topic,
      key: encodeWire(keyId, k, { id: BigInt(i) }),
      value: encodeWire(valueId, v, { id: BigInt(i), total: `${i}.50` }),
      partition: i % 2,
    });
  }
  return out;
}

async function produce(from: number, count: number): Promise<void> {
  await client.producer().send(messages(from, count));
}

interface Received {
  id: string;
  data: { partition: number; offset: string; key: { id: string }; value: { id: string; total: string } };
}

/**
 * Reads SSE events until `count` arrived; `delayFirstMs` leaves the socket unread first (a slow client).
 * `subscribed` resolves on the server's `: subscribed` comment: events written after it are delivered.
 */
function readSse(
  path: string,
  count: number,
  headers: Record<string, string> = {},
  delayFirstMs = 0,
): Promise<Received[]> & { subscribed: Promise<void> } {
  let subscribed!: () => void;
  const positioned = new Promise<void>((r) => (subscribed = r));
  const received = new Promise<Received[]>((resolve, reject) => {
    const req = http.get(`${baseUrl}${path}`, { headers: { ...authHeaders(), ...headers } }, (res) => {
      const out: Received[] = [];
      let buf = "";
      const consume = (): void => {
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buf += chunk;
          let i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            if (block.split("\n").includes(": subscribed")) subscribed();
            const lines = Object.fromEntries(
              block.split("\n").map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 2)]),
            );
            if (lines.data) out.push({ id: lines.id!, data: JSON.parse(lines.data) as Received["data"] });
            if (out.length === count) {
              req.destroy();
              resolve(out);
              return;
            }
          }
        });
      };
      if (delayFirstMs > 0) {
        res.pause();
        setTimeout(() => {
          res.resume();
          consume();
        }, delayFirstMs);
      } else consume();
    });
    req.on("error", (err) => {
      if (!req.destroyed) reject(err);
    });
  });
  return Object.assign(received, { subscribed: positioned });
}

beforeAll(async () => {
  registry = await startRegistry({
    adminToken: TEST_ADMIN_TOKEN,
    ...kafkaConnection(),
    port: 0,
    topic: uniqueName("_schemas_t"),
    logger: silentLogger(),
  });
  keyId = await register(`${topic}-key`, keySchema);
  valueId = await register(`${topic}-value`, valueSchema);
  await client.admin().ensureTopics([{ topic, partitions: 2 }]);
  await produce(0, 10);

  const catalog = new Catalog(new MemoryCatalogLog());
  await catalog.start();
  await catalog.putSource(sourceRecord(source, "orders", ["public.orders"]));
  const sources = new FakeSources();
  const views = new FakeViews();
  topics = new KafkaTopics({
    kafka: client,
    registry: new RegistryClient({ token: TEST_ADMIN_TOKEN, url: registry.url }),
    catalog,
    logger: silentLogger(),
    queueSize: 32,
    idleStopMs: 1000,
  });
  const reconciler = new Reconciler({ catalog, sources, views, logger: silentLogger() });
  app = await buildApi(
    {
      catalog,
      reconciler,
      sources,
      views,
      topics,
      health: new FakeHealth(),
      status: () => ({}),
    },
    { auth: testAuthenticator() },
  );
  await app.listen({ host: "127.0.0.1", port: 0 });
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await app?.close();
  await topics?.stop();
  await registry?.stop();
  await client.admin().deleteTopics([topic]);
});

describe("topics over Kafka", () => {
  it("lists the topic with owner, subjects and latest version", async () => {
    const res = await fetch(`${baseUrl}/v1/topics`, { headers: authHeaders() });
    expect(((await res.json()) as { topics: unknown[] }).topics).toEqual([
      {
        topic,
        owner: "orders",
        source,
        table: "public.orders",
        partitions: 2,
        keySubject: `${topic}-key`,
        valueSubject: `${topic}-value`,
        latestVersion: 1,
      },
    ]);
  });

  it("streams decoded events from earliest, an offset, a time and latest, and resumes from Last-Event-ID", async () => {
    const all = await readSse(`/v1/topics/${topic}/events?from=earliest`, 10);
    expect(all.map((e) => e.data.value.id).sort((a, b) => Number(a) - Number(b))).toEqual(
      [...Array(10).keys()].map(String),
    );
    const first = all.find((e) => e.data.value.id === "3")!;
    expect(first.data).toMatchObject({ partition: 1, key: { id: "3" }, value: { id: "3", total: "3.50" } });
    // The id is the stream's position on every partition (the last offset delivered on each).
    expect(first.id).toMatch(new RegExp(`^0:(-1|\\d+),1:${first.data.offset}$`));
    expect(all.at(-1)!.id).toBe("0:4,1:4");
    // per partition, in offset order
    for (const p of [0, 1]) {
      const offsets = all.filter((e) => e.data.partition === p).map((e) => Number(e.data.offset));
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    }

    const fromOffset = await readSse(`/v1/topics/${topic}/events?from=3`, 4);
    expect(fromOffset.every((e) => Number(e.data.offset) >= 3)).toBe(true);

    const resumed = await readSse(`/v1/topics/${topic}/events?from=earliest`, 1, {
      "last-event-id": "0:3,1:4",
    });
    expect(Number(resumed[0]!.data.offset)).toBe(4);

    const since = new Date().toISOString();
    const latest = readSse(`/v1/topics/${topic}/events`, 3);
    const byTime = readSse(`/v1/topics/${topic}/events?from=${encodeURIComponent(since)}`, 3);
    await Promise.all([latest.subscribed, byTime.subscribed]);
    await produce(100, 3);
    expect((await latest).map((e) => e.data.value.id).sort()).toEqual(["100", "101", "102"]);
    expect((await byTime).map((e) => e.data.value.id).sort()).toEqual(["100", "101", "102"]);
  });

  it("live subscribers share a consumer; a slow one moves to its own consumer and still gets every event in order", async () => {
    const fast = readSse(`/v1/topics/${topic}/events`, 600);
    // The slow subscriber reads the runtime directly: a client that does not read its socket would only be
    // seen as slow once the kernel's socket buffers (megabytes on loopback) are full.
    const controller = new AbortController();
    const iterator = topics.events(topic, { kind: "latest" }, controller.signal)[Symbol.asyncIterator]();
    // The first pull subscribes and comes back positioned (an empty batch); nothing more is pulled until all
    // is produced.
    expect((await iterator.next()).value?.events).toEqual([]);
    await fast.subscribed;
    // Separate sends, so the shared consumer hands them out in several fetches (a subscriber with an empty
    // queue takes one fetch whole, whatever its size); the unread queue overflows on a later one.
    for (let b = 0; b < 10; b++) await produce(500 + b * 60, 60);
    // Once the fast subscriber has everything, the shared consumer has handed out every fetch (to both).
    const f = await fast;
    const slowEvents: Received["data"][] = [];
    for (let next = await iterator.next(); !next.done;) {
      slowEvents.push(...next.value.events.map((e) => e as unknown as Received["data"]));
      if (slowEvents.length >= 600) break;
      next = await iterator.next();
    }
    controller.abort();
    await iterator.return?.();
    const s = slowEvents.map((data) => ({ id: `${data.partition}:${data.offset}`, data }));
    for (const got of [f, s]) {
      expect(got.map((e) => Number(e.data.value.id)).sort((a, b) => a - b)).toEqual(
        [...Array(600).keys()].map((i) => 500 + i),
      );
      for (const p of [0, 1]) {
        const offsets = got.filter((e) => e.data.partition === p).map((e) => Number(e.data.offset));
        expect(offsets).toEqual([...offsets.keys()].map((i) => offsets[0]! + i));
      }
    }
    expect(topics.detached).toBeGreaterThanOrEqual(1);
  });

  it("a slow client gets every event in order without the server buffering them all", async () => {
    await produce(1000, 4000);
    const slow = await readSse(`/v1/topics/${topic}/events?from=earliest`, 4613, {}, 2000);
    expect(slow).toHaveLength(4613); // everything produced in this file: 10 + 3 + 600 + 4000
    // The consumer waited for the client: never more than the queue bound held in memory.
    expect(topics.maxQueued).toBeLessThanOrEqual(32);
    for (const p of [0, 1]) {
      const offsets = slow.filter((e) => e.data.partition === p).map((e) => Number(e.data.offset));
      expect(offsets).toEqual([...offsets.keys()].map((i) => offsets[0]! + i));
    }
  });

  it("stops a topic's shared consumer once its last live subscriber left, and starts it again for the next", async () => {
    const settle = async (want: number): Promise<void> => {
      await waitFor(() => topics.liveTails === want, 15_000, `${want} live tails`);
    };
    await settle(0);
    const live = readSse(`/v1/topics/${topic}/events`, 2);
    await live.subscribed;
    expect(topics.liveTails).toBe(1);
    await produce(9000, 2);
    expect((await live).map((e) => e.data.value.id).sort()).toEqual(["9000", "9001"]);
    await settle(0);
  });

  it("resumes a live stream from only the last id received, losing no partition's events", async () => {
    const live = readSse(`/v1/topics/${topic}/events`, 3);
    await live.subscribed;
    await produce(20_000, 3); // partitions 0, 1, 0
    const got = await live;
    const last = got.at(-1)!.id;
    expect(last).toMatch(/^0:\d+,1:\d+$/);
    // Written while the client was away, on both partitions; the client sends back only its last id.
    await produce(20_003, 6);
    const resumed = await readSse(`/v1/topics/${topic}/events`, 6, { "last-event-id": last });
    expect(resumed.map((e) => Number(e.data.value.id)).sort((a, b) => a - b)).toEqual([
      20_003, 20_004, 20_005, 20_006, 20_007, 20_008,
    ]);
    // Resuming from an id in the middle of the earliest stream gives exactly the rest.
    const all = await readSse(`/v1/topics/${topic}/events?from=earliest`, 4624); // 4615 before this test, 9 here
    const rest = await readSse(`/v1/topics/${topic}/events`, 24, { "last-event-id": all[4599]!.id });
    expect(rest.map((e) => e.data.value.id).sort()).toEqual(
      all
        .slice(4600)
        .map((e) => e.data.value.id)
        .sort(),
    );
  });

  it("delivers committed transactions only: one open when the client subscribed once it commits, an aborted one never", async () => {
    // Started afresh, so the live stream's start is resolved while the transaction below is open.
    await waitFor(() => topics.liveTails === 0, 15_000, "no live tail");
    const producer = client.producer({ transactionalId: uniqueName("sse-tx") });
    let live: ReturnType<typeof readSse> | undefined;
    try {
      await producer.transaction(async (tx) => {
        // Written (uncommitted) before the client subscribes, committed after.
        await tx.send(messages(30_000, 2));
        live = readSse(`/v1/topics/${topic}/events`, 4);
        await live.subscribed;
      });
      await producer
        .transaction(async (tx) => {
          await tx.send(messages(30_100, 2));
          throw new Error("abort this one");
        })
        .catch(() => undefined);
      await producer.transaction((tx) => tx.send(messages(30_200, 2)));
      const got = await Promise.race([
        live!,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error("the committed events did not all arrive")), 20_000),
        ),
      ]);
      expect(got.map((e) => e.data.value.id).sort()).toEqual(["30000", "30001", "30200", "30201"]);
    } finally {
      await producer.close();
    }
  });
});
