// Helpers shared by every backend's connector tests, the conformance suite and the benchmarks (not a test
// file itself): a registry on a private schemas topic, connectors wired to it and to Kafka, and a topic
// reader that decodes the Confluent wire format through the registry.
import { decodeWire, wireSchemaId } from "../../../lib/avro.ts";
import { KafkaClient, type KafkaSasl } from "../../../lib/kafka/index.ts";
import { silentLogger } from "../../../lib/logger.ts";
import { startRegistry } from "../../../registry/server.ts";
import {
  createConnector,
  type Connector,
  type ConnectorDeps,
  type SourceDefinition,
} from "../change-source.ts";
import { registerBuiltInBackends } from "../../backends.ts";
import { kafkaOffsetStore } from "../offset-store.ts";
import { RegistryClient } from "../../../lib/registry-client.ts";

/** Unique lowercase names for topics, slots and sources: the test suite's own helper. */
import { uniqueName as shortId } from "../../../test/support/names.ts";
import { TEST_ADMIN_TOKEN } from "../../../test/support/auth.ts";

export { shortId };

// Connector tests create connectors without an entry point: register the backends as one would.
registerBuiltInBackends();

export interface Harness {
  kafka: KafkaClient;
  registryUrl: string;
  deps: (extra?: Partial<ConnectorDeps>) => ConnectorDeps;
  stop: () => Promise<void>;
}

/** `kafka`: the stack's brokers and SASL login (test/support/stack.ts `kafkaConnection()`). */
export async function startHarness(kafkaAt: { brokers: string[]; sasl?: KafkaSasl }): Promise<Harness> {
  const registry = await startRegistry({
    adminToken: TEST_ADMIN_TOKEN,
    ...kafkaAt,
    port: 0,
    topic: shortId("_schemas"),
    logger: silentLogger(),
  });
  const kafka = new KafkaClient({ ...kafkaAt, clientId: shortId("pgtest") });
  const offsets = kafkaOffsetStore(kafka);
  return {
    kafka,
    registryUrl: registry.url,
    deps: (extra = {}) => ({
      kafka,
      registry: new RegistryClient({ token: TEST_ADMIN_TOKEN, url: registry.url }),
      offsets,
      logger: silentLogger(),
      heartbeatIntervalMs: 1000,
      retryDelayMs: 200,
      ...extra,
    }),
    stop: async () => {
      await kafka.close();
      await registry.stop();
    },
  };
}

export function sourceDef(
  name: string,
  url: string,
  tables: string[],
  extra: Partial<SourceDefinition> = {},
): SourceDefinition {
  return { name, owner: "svc", kind: "postgres", url, tables, snapshot: "initial", ...extra };
}

export interface ReadMessage {
  topic: string;
  partition: number;
  offset: string;
  key: unknown;
  value: unknown;
  rawKey: Buffer | null;
  rawValue: Buffer | null;
  headers: Record<string, string>;
}

/** Decodes keys and values written in the Confluent wire format, fetching schemas by id. */
export class WireDecoder {
  private readonly registry: RegistryClient;
  constructor(registryUrl: string) {
    this.registry = new RegistryClient({ token: TEST_ADMIN_TOKEN, url: registryUrl });
  }
  async decode(buf: Buffer | null): Promise<unknown> {
    if (!buf) return null;
    let id: number;
    try {
      id = wireSchemaId(buf);
    } catch {
      return buf.toString("utf8");
    }
    return decodeWire(await this.registry.typeById(id), buf);
  }
}

/**
 * Reads topics from the beginning until `done(messages)` holds or nothing new arrives for `idleMs`.
 * Returns messages in per-partition order (topics and partitions interleaved as received).
 */
export async function readTopics(
  kafka: KafkaClient,
  registryUrl: string,
  topics: string[],
  done: (messages: ReadMessage[]) => boolean,
  { idleMs = 5000, timeoutMs = 60_000 }: { idleMs?: number; timeoutMs?: number } = {},
): Promise<ReadMessage[]> {
  const decoder = new WireDecoder(registryUrl);
  const counts = await kafka.admin().partitionCounts(topics);
  const missing = topics.filter((t) => !counts.has(t));
  if (missing.length > 0) throw new Error(`readTopics: no such topic: ${missing.join(", ")}`);
  const reader = kafka.reader({ maxWaitMs: 200 });
  const out: ReadMessage[] = [];
  const stop = new AbortController();
  let last = Date.now();
  const started = Date.now();
  // The iterator waits in the broker while nothing arrives: a timer decides when reading is over.
  const check = setInterval(() => {
    if (done(out) || Date.now() - last > idleMs || Date.now() - started > timeoutMs) stop.abort();
  }, 100);
  try {
    await reader.assign(
      [...counts].flatMap(([topic, n]) =>
        Array.from({ length: n }, (_, partition) => ({ topic, partition, offset: "earliest" as const })),
      ),
    );
    for await (const batch of reader.batches(stop.signal)) {
      for (const r of batch.records) {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(r.headers)) headers[k] = v.toString();
        out.push({
          topic: batch.topic,
          partition: batch.partition,
          offset: String(r.offset),
          key: await decoder.decode(r.key),
          value: await decoder.decode(r.value),
          rawKey: r.key,
          rawValue: r.value,
          headers,
        });
      }
      if (batch.records.length > 0) last = Date.now();
    }
  } finally {
    clearInterval(check);
    await reader.close();
  }
  return out;
}

/** The one polling helper (test/support/wait.ts), here for the connector tests that import it from here. */
export { waitFor } from "../../../test/support/wait.ts";

export type { Connector };
export { createConnector };
