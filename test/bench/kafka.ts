// `npm run bench -- kafka`: the old Kafka client (kafkajs) beside the new one (@platformatic/kafka) and
// lib/kafka on top of it, in one run. Producers write 300k keyed messages (140-byte values) to a fresh
// 3-partition topic each, idempotent with acks=all; consumers read a 300k topic back from the beginning.
// The machine may be shared: every figure is measured in alternating rounds and the median kept (with the
// range). Consumer rates run from the call that starts reading to the last record (the time to the first
// record is printed apart). BENCH_KAFKA_MESSAGES / BENCH_KAFKA_ROUNDS change the size and the number of rounds.
//
// This file and lib/kafka/ are the only places that import a Kafka client (kafkajs only here, as the baseline).
import { loadavg } from "node:os";
import {
  Consumer as RawConsumer,
  FetchIsolationLevels,
  Producer as RawProducer,
  type MessageToProduce,
} from "@platformatic/kafka";
import { Kafka, logLevel, Partitioners, type Message } from "kafkajs";
import { LocalStack } from "../../deploy/local/stack.ts";
import { FastProducer } from "../../lib/kafka/fast-producer.ts";
import { KafkaClient, type KafkaSasl, type OutMessage } from "../../lib/kafka/index.ts";
import { benchKafka } from "./kafka-connection.ts";

const count = Number(process.env.BENCH_KAFKA_MESSAGES ?? 300_000);
const rounds = Number(process.env.BENCH_KAFKA_ROUNDS ?? 3);
const partitions = 3;
const valueBytes = 140;
/** The connector's produce request bound (OrderedProducer's default maxBatchBytes). */
const batchBytes = 900 * 1024;

interface Figure {
  rates: number[];
  startMs: number[];
  /** This process's CPU per message (user + system µs), setup included: the client's own cost. */
  cpuUs: number[];
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : ((s[(s.length - 1) >> 1] as number) + (s[s.length >> 1] as number)) / 2;
};

function keyOf(i: number): Buffer {
  return Buffer.from(`key-${String(i).padStart(9, "0")}`);
}

/** Chunks of about `batchBytes` (key + value + record overhead), like the connector's requests. */
function chunks<T>(items: T[], perItemBytes: number): T[][] {
  const per = Math.max(1, Math.floor(batchBytes / perItemBytes));
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += per) out.push(items.slice(i, i + per));
  return out;
}

async function kafkajsProduce(kafka: Kafka, topic: string, keys: Buffer[], value: Buffer): Promise<number> {
  // The connector's kafkajs settings until now (connectors/core/kafka-sink.ts): one batch in flight.
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const batches = chunks<Message>(
    keys.map((key) => ({ key, value })),
    keys[0]!.length + valueBytes + 20,
  );
  const t0 = performance.now();
  for (const messages of batches)
    await producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] });
  const secs = (performance.now() - t0) / 1000;
  await producer.disconnect();
  return count / secs;
}

/** The stack's SASL login (set by run()), for the raw clients and kafkajs as for lib/kafka. */
let sasl: KafkaSasl | undefined;

/** The client's producer, with its own Produce encoder or with lib/kafka's (fast-producer.ts). */
async function rawProduce(
  brokers: string[],
  topic: string,
  keys: Buffer[],
  value: Buffer,
  ourEncoder: boolean,
): Promise<number> {
  const options = {
    clientId: "bench-raw",
    bootstrapBrokers: brokers,
    ...(sasl ? { sasl } : {}),
    idempotent: true,
    producerId: -1n,
    producerEpoch: -1,
  };
  const producer: RawProducer = ourEncoder ? new FastProducer(options) : new RawProducer(options);
  await producer.metadata({ topics: [topic] });
  const batches = chunks<MessageToProduce>(
    keys.map((key) => ({ topic, key, value })),
    keys[0]!.length + valueBytes + 20,
  );
  const t0 = performance.now();
  for (const messages of batches) await producer.send({ messages });
  const secs = (performance.now() - t0) / 1000;
  await producer.close();
  return count / secs;
}

async function orderedProduce(
  client: KafkaClient,
  topic: string,
  keys: Buffer[],
  value: Buffer,
  lanes: number,
) {
  const producer = client.orderedProducer({ lanes });
  // Warm-up outside the clock: every lane connected and holding a producer id (the connector's are long-lived).
  const warm = `${topic}_warm`;
  await client.admin().ensureTopics([{ topic: warm, partitions: lanes }]);
  for (let p = 0; p < lanes; p++) producer.enqueue({ topic: warm, key: null, value: "warm", partition: p });
  await producer.flush();
  const messages: OutMessage[] = keys.map((key) => ({ topic, key, value }));
  const t0 = performance.now();
  for (const m of messages) {
    producer.enqueue(m);
    await producer.waitForCapacity();
  }
  await producer.flush();
  const secs = (performance.now() - t0) / 1000;
  await producer.close();
  await client.admin().deleteTopics([warm]);
  return count / secs;
}

/**
 * Rate over the whole read, from the call that starts it (join, first fetch) to the last record, and the
 * time to the first record: a client that buffers before handing out its first record pays for it here.
 */
class Clock {
  readonly #t0 = performance.now();
  #first = 0;
  seen(): void {
    if (this.#first === 0) this.#first = performance.now();
  }
  result(): { rate: number; startMs: number } {
    const end = performance.now();
    return { rate: count / ((end - this.#t0) / 1000), startMs: this.#first - this.#t0 };
  }
}

async function kafkajsConsume(kafka: Kafka, topic: string): Promise<{ rate: number; startMs: number }> {
  const consumer = kafka.consumer({ groupId: `bench-kafkajs-${Date.now().toString(36)}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  const clock = new Clock();
  const done = new Promise<{ rate: number; startMs: number }>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        clock.seen();
        seen += batch.messages.length;
        if (seen >= count) resolve(clock.result());
        await Promise.resolve();
      },
    });
  });
  const result = await done;
  await consumer.disconnect();
  return result;
}

async function rawConsume(brokers: string[], topic: string): Promise<{ rate: number; startMs: number }> {
  const consumer = new RawConsumer({
    clientId: "bench-raw-consumer",
    bootstrapBrokers: brokers,
    ...(sasl ? { sasl } : {}),
    groupId: `bench-raw-${Date.now().toString(36)}`,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
  });
  const clock = new Clock();
  const stream = await consumer.consume({ topics: [topic], mode: "earliest", autocommit: false });
  let seen = 0;
  let result = { rate: 0, startMs: 0 };
  for await (const message of stream) {
    void message;
    clock.seen();
    if (++seen >= count) {
      result = clock.result();
      break;
    }
  }
  await stream.close();
  await consumer.close(true);
  return result;
}

async function readerConsume(client: KafkaClient, topic: string): Promise<{ rate: number; startMs: number }> {
  const reader = client.reader();
  const clock = new Clock();
  await reader.assign(
    Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: "earliest" })),
  );
  let seen = 0;
  let result = { rate: 0, startMs: 0 };
  for await (const batch of reader.batches()) {
    if (batch.records.length > 0) clock.seen();
    seen += batch.records.length;
    if (seen >= count) {
      result = clock.result();
      break;
    }
  }
  await reader.close();
  return result;
}

function row(name: string, f: Figure, baseline: number, showStart: boolean): string {
  const m = median(f.rates);
  const range = `${fmt(Math.min(...f.rates))}-${fmt(Math.max(...f.rates))}`;
  const start = showStart ? `  first record after ${fmt(median(f.startMs))} ms` : "";
  const cpu = `  ${median(f.cpuUs).toFixed(2)} µs CPU/msg`;
  return `${name.padEnd(44)} ${fmt(m).padStart(9)} msg/s  (${range.padEnd(17)}) ${(m / baseline).toFixed(2)}x${cpu}${start}`;
}

export async function run(): Promise<void> {
  if (!process.env.MESH_KAFKA_BROKERS) await new LocalStack().up();
  const kafkaAt = benchKafka();
  const brokers = kafkaAt.brokers;
  sasl = kafkaAt.sasl;
  const stamp = Date.now().toString(36);
  const client = new KafkaClient({ ...kafkaAt, clientId: "bench-kafka" });
  const admin = client.admin();
  const kafka = new Kafka({
    brokers,
    clientId: "bench-kafkajs",
    logLevel: logLevel.ERROR,
    ...(sasl?.mechanism === "SCRAM-SHA-512"
      ? { sasl: { mechanism: "scram-sha-512", username: sasl.username, password: sasl.password } }
      : {}),
  });
  const keys = Array.from({ length: count }, (_, i) => keyOf(i));
  const value = Buffer.alloc(valueBytes, 0x61);
  const topics: string[] = [];
  const fresh = async (name: string): Promise<string> => {
    const topic = `bench_kafka_${stamp}_${name}_${topics.length}`;
    topics.push(topic);
    await admin.ensureTopics([{ topic, partitions }]);
    return topic;
  };

  const load = loadavg().map((l) => l.toFixed(2));
  console.log(
    `${new Date().toISOString()}  node ${process.version}  load average ${load.join(" ")}  ` +
      `${fmt(count)} messages (keys ${keys[0]?.length} B, values ${valueBytes} B), ${partitions} partitions, ${rounds} rounds`,
  );
  const producers = ["kafkajs", "raw", "rawOurs", "ordered4", "ordered2", "ordered1"] as const;
  const consumers = ["kafkajs", "raw", "reader"] as const;
  const p: Record<(typeof producers)[number], Figure> = {
    kafkajs: { rates: [], startMs: [], cpuUs: [] },
    raw: { rates: [], startMs: [], cpuUs: [] },
    rawOurs: { rates: [], startMs: [], cpuUs: [] },
    ordered4: { rates: [], startMs: [], cpuUs: [] },
    ordered2: { rates: [], startMs: [], cpuUs: [] },
    ordered1: { rates: [], startMs: [], cpuUs: [] },
  };
  const c: Record<(typeof consumers)[number], Figure> = {
    kafkajs: { rates: [], startMs: [], cpuUs: [] },
    raw: { rates: [], startMs: [], cpuUs: [] },
    reader: { rates: [], startMs: [], cpuUs: [] },
  };
  try {
    for (let r = 0; r < rounds; r++) {
      let readTopic = "";
      for (const kind of producers) {
        const topic = await fresh(kind);
        const cpu0 = process.cpuUsage();
        const rate =
          kind === "kafkajs"
            ? await kafkajsProduce(kafka, topic, keys, value)
            : kind === "raw" || kind === "rawOurs"
              ? await rawProduce(brokers, topic, keys, value, kind === "rawOurs")
              : await orderedProduce(client, topic, keys, value, Number(kind.slice("ordered".length)));
        const cpu = process.cpuUsage(cpu0);
        const cpuUs = (cpu.user + cpu.system) / count;
        p[kind].rates.push(rate);
        p[kind].cpuUs.push(cpuUs);
        if (kind === "ordered4") readTopic = topic;
        process.stdout.write(
          `round ${r + 1} producer ${kind}: ${fmt(rate)} msg/s, ${cpuUs.toFixed(2)} µs CPU/msg\n`,
        );
      }
      for (const kind of consumers) {
        const cpu0 = process.cpuUsage();
        const { rate, startMs } =
          kind === "kafkajs"
            ? await kafkajsConsume(kafka, readTopic)
            : kind === "raw"
              ? await rawConsume(brokers, readTopic)
              : await readerConsume(client, readTopic);
        c[kind].rates.push(rate);
        c[kind].startMs.push(startMs);
        const cpu = process.cpuUsage(cpu0);
        c[kind].cpuUs.push((cpu.user + cpu.system) / count);
        process.stdout.write(`round ${r + 1} consumer ${kind}: ${fmt(rate)} msg/s\n`);
      }
      await admin.deleteTopics(topics.splice(0));
    }
    const pBase = median(p.kafkajs.rates);
    const cBase = median(c.kafkajs.rates);
    console.log(
      `\nproducers (idempotent, acks=all)                  median msg/s   (range)            vs kafkajs`,
    );
    console.log(row("kafkajs 2.2.4 sendBatch, 1 batch in flight", p.kafkajs, pBase, false));
    console.log(row("@platformatic/kafka send(), 1 in flight", p.raw, pBase, false));
    console.log(row("the same, lib/kafka's Produce encoder", p.rawOurs, pBase, false));
    console.log(row("lib/kafka OrderedProducer, 4 lanes (default)", p.ordered4, pBase, false));
    console.log(row("lib/kafka OrderedProducer, 2 lanes", p.ordered2, pBase, false));
    console.log(row("lib/kafka OrderedProducer, 1 lane", p.ordered1, pBase, false));
    console.log(`\nconsumers (from the beginning, read_committed; start to last record)`);
    console.log(row("kafkajs 2.2.4 eachBatch (new group)", c.kafkajs, cBase, true));
    console.log(row("@platformatic/kafka consume() stream", c.raw, cBase, true));
    console.log(row("lib/kafka PartitionReader", c.reader, cBase, true));
    console.log(
      `load average after: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}`,
    );
  } finally {
    await admin.deleteTopics(topics).catch(() => undefined);
    await client.close();
  }
}
