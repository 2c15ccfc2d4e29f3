// Registry benchmark: lookups by id and by subject/latest and registrations for every schema type (Avro,
// Protobuf, JSON Schema), and start-up replay of 10k schemas, each printed beside two ceilings measured in the
// same run: a trivial fastify route (the machine's), and the registry's own trivial route, `GET /` (answers
// `{}`), which runs every hook a lookup runs (token check, request id, metrics, audit): a lookup at 100% of the
// second does no work of its own that costs throughput; the gap between the two is what the hooks cost.
// Load comes from a child process (autocannon) over keep-alive HTTP connections (test/bench/http-load.ts).
import Fastify from "fastify";
import pino from "pino";
import { KafkaClient } from "../../lib/kafka/index.ts";
import { encodeKey, encodeValue, type LogRecord } from "../../registry/store/records.ts";
import { startRegistry } from "../../registry/server.ts";
import { load, schemaBody, schemaText, type BenchFormat, type LoadResult } from "./http-load.ts";
import { TEST_ADMIN_TOKEN } from "../support/auth.ts";
import { authHeaders } from "../support/auth.ts";
import { benchKafka } from "./kafka-connection.ts";

const FORMATS: { format: BenchFormat; prefix: string }[] = [
  { format: "AVRO", prefix: "bench" },
  { format: "PROTOBUF", prefix: "pbench" },
  { format: "JSON", prefix: "jbench" },
];

export interface BenchOptions {
  brokers?: string[];
  seconds?: number;
  connections?: number;
}

export async function run(options: BenchOptions = {}): Promise<void> {
  const kafkaAt = benchKafka();
  const brokers = options.brokers ?? kafkaAt.brokers;
  const sasl = kafkaAt.sasl;
  const seconds = options.seconds ?? 2;
  const connections = options.connections ?? 32;
  const stamp = Date.now().toString(36);
  const logger = pino({ level: "warn" });
  const kafka = new KafkaClient({ brokers, ...(sasl ? { sasl } : {}), clientId: "bench" });
  const admin = kafka.admin();
  const topics: string[] = [];

  // Server CPU per request (this process hosts the ceiling app and the registry; the load runs in a child): on a
  // shared machine the rates move with others' load, this much less.
  const cpu = new Map<LoadResult, number>();
  const measured = async (job: Parameters<typeof load>[0]): Promise<LoadResult> => {
    const before = process.cpuUsage();
    const result = await load(job);
    const used = process.cpuUsage(before);
    cpu.set(result, (used.user + used.system) / Math.max(1, result.rps * job.seconds));
    return result;
  };
  const ceilingApp = Fastify();
  ceilingApp.get("/ping", () => ({ ok: true }));
  const ceilingUrl = await ceilingApp.listen({ host: "127.0.0.1", port: 0 });
  const job = { seconds, connections, seeded: 1000 };
  await load({ ...job, seconds: 3, base: ceilingUrl, kind: "ping" }); // warm-up (JIT, sockets)

  // Serving: 1,000 schemas of each type registered through the API (ids 1-1000 Avro, then Protobuf, then JSON).
  const topic = `_schemas_bench_${stamp}`;
  topics.push(topic, `${topic}_leader`);
  const reg = await startRegistry({
    adminToken: TEST_ADMIN_TOKEN,
    brokers,
    ...(sasl ? { sasl } : {}),
    port: 0,
    topic,
    logger,
  });
  for (const { format, prefix } of FORMATS) {
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) =>
          fetch(`${reg.url}/subjects/${prefix}-${i + j}-value/versions`, {
            method: "POST",
            headers: { ...authHeaders(), "content-type": "application/json" },
            body: JSON.stringify(schemaBody(format, i + j)),
          }).then((r) => r.arrayBuffer()),
        ),
      );
    }
  }
  const jobOf = (f: number) => ({
    ...job,
    format: FORMATS[f]!.format,
    subjectPrefix: FORMATS[f]!.prefix,
    idBase: 1 + f * 1000,
  });
  await load({ ...job, seconds: 3, base: reg.url, kind: "by-id" }); // warm-up
  // The machine may be shared: ceiling and lookups are measured in alternating rounds, and each median kept.
  const rounds = {
    ceiling: [] as LoadResult[],
    hooked: [] as LoadResult[],
    byId: FORMATS.map(() => [] as LoadResult[]),
    latest: FORMATS.map(() => [] as LoadResult[]),
  };
  for (let r = 0; r < 3; r++) {
    rounds.ceiling.push(await measured({ ...job, base: ceilingUrl, kind: "ping" }));
    rounds.hooked.push(await measured({ ...job, base: reg.url, kind: "root" }));
    for (let f = 0; f < FORMATS.length; f++) {
      rounds.byId[f]!.push(await measured({ ...jobOf(f), base: reg.url, kind: "by-id" }));
      rounds.latest[f]!.push(await measured({ ...jobOf(f), base: reg.url, kind: "latest" }));
    }
  }
  const median = (l: LoadResult[]) => [...l].sort((a, b) => a.rps - b.rps)[Math.floor(l.length / 2)]!;
  const ceiling = median(rounds.ceiling);
  const hooked = median(rounds.hooked);
  const byId = rounds.byId.map(median);
  const latest = rounds.latest.map(median);
  // Registrations: 3 rounds too, formats interleaved, each round new subjects and new schemas.
  const registerRounds = FORMATS.map(() => [] as LoadResult[]);
  for (let r = 0; r < 3; r++)
    for (let f = 0; f < FORMATS.length; f++)
      registerRounds[f]!.push(
        await measured({ ...jobOf(f), base: reg.url, kind: "register", registerBase: r * 1_000_000 }),
      );
  const registrations = registerRounds.map(median);
  const rateSpread = (l: LoadResult[]) => {
    const s = l.map((x) => x.rps).sort((a, b) => a - b);
    return `rounds ${s.join(", ")}/s`;
  };
  await reg.stop();

  // Start-up: replay a topic holding 10,000 schemas (written directly in `_schemas` record shapes).
  const bigTopic = `_schemas_bench10k_${stamp}`;
  topics.push(bigTopic, `${bigTopic}_leader`);
  await admin.ensureTopics([{ topic: bigTopic, partitions: 1, compact: true }]);
  const producer = kafka.producer();
  for (let b = 0; b < 10; b++) {
    const messages = Array.from({ length: 1000 }, (_, j) => {
      const i = b * 1000 + j;
      const r: LogRecord = {
        keytype: "SCHEMA",
        subject: `s${i}-value`,
        version: 1,
        value: { subject: `s${i}-value`, version: 1, id: i + 1, schema: schemaText(i), deleted: false },
      };
      return { topic: bigTopic, key: encodeKey(r), value: encodeValue(r) };
    });
    await producer.send(messages);
  }
  const t0 = performance.now();
  const big = await startRegistry({
    adminToken: TEST_ADMIN_TOKEN,
    ...kafkaAt,
    port: 0,
    topic: bigTopic,
    logger,
  });
  const startupMs = Math.round(performance.now() - t0);
  const replayed = big.core.state.schemas.size;
  await big.stop();
  await ceilingApp.close();
  await admin.deleteTopics(topics).catch(() => undefined);
  await kafka.close();

  const pct = (l: LoadResult) =>
    `${Math.round((100 * l.rps) / ceiling.rps)}% of ceiling, ${Math.round((100 * l.rps) / hooked.rps)}% of GET /`;
  const cpuOf = (l: LoadResult) => `cpu ${Math.round(cpu.get(l) ?? 0)} µs/req`;
  const row = (name: string, l: LoadResult) =>
    `${name.padEnd(34)} ${String(l.rps).padStart(7)}/s  p99 ${l.p99Ms} ms  errors ${l.errors}  ${cpuOf(l)}  (${pct(l)})`;
  const lines = [
    `registry benchmark (${connections} keep-alive connections, ${seconds} s per run, lookups and registrations: median of 3 rounds (lookups alternating with the ceiling); autocannon in a child process; cpu: this process's CPU per request)`,
    row("trivial fastify route (ceiling)", ceiling),
    row("registry GET / (trivial, every hook)", hooked),
    ...FORMATS.flatMap(({ format }, f) => [
      row(`${format} GET /schemas/ids/{id}`, byId[f]!),
      row(`${format} GET /subjects/{s}/versions/latest`, latest[f]!),
      `${row(`${format} POST /subjects/{s}/versions (new)`, registrations[f]!)}  ${rateSpread(registerRounds[f]!)}`,
    ]),
    `start-up with 10k schemas in _schemas   ${startupMs} ms (replayed ${replayed} schemas, incl. leader election)`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

if (import.meta.main) await run();
