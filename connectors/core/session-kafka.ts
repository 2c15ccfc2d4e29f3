// A session's Kafka side: the topics it writes (each captured table's, the transactions and heartbeat
// topics, outbox topics as they first appear), the pipeline that carries every event, and the EventWriter
// over it with the marker and heartbeat schemas registered. The pipeline acknowledges sequence numbers in
// order, so "acknowledged up to seq N" is one number: the checkpoint rule (checkpoints.ts) confirms a source
// position only once its seq is acknowledged. At-least-once: lib/kafka's OrderedProducer (several requests in
// flight). Exactly-once: its TransactionalPipeline, whose transactional id is the source's (a restarted
// session fences a zombie of the last one), acknowledging only at committed boundaries.
import { MeshError } from "../../lib/errors.ts";
import type { KafkaClient, OrderedProducer } from "../../lib/kafka/index.ts";
import type { DeliveryMode } from "./contract.ts";
import { EventWriter } from "../../protocol/event-writer.ts";
import type { SchemaRegistrar } from "../../protocol/wire.ts";
import { heartbeatTopic, REWRITTEN_STATE_TOPIC_CONFIGS, transactionsTopic } from "../../protocol/topics.ts";
import { offsetsTopicSpec } from "./offset-store.ts";

export interface SessionKafka {
  producer: OrderedProducer;
  writer: EventWriter;
  /** Creates a topic (an outbox topic) the first time an event goes to it. */
  ensureTopic(topic: string): Promise<void>;
  /** Called once if Kafka fails the producer for good (after the client's retries), with a retryable error. */
  onFailure(listener: (err: MeshError) => void): void;
  /** Stops sending and closes the producer (does not flush: drain flushes first). */
  close(): Promise<void>;
}

export interface SessionKafkaOptions {
  kafka: KafkaClient;
  registry: SchemaRegistrar;
  source: string;
  /** The captured tables' topics. */
  tableTopics: string[];
  /** Partitions of the topics this session creates (default 3). */
  partitions: number | undefined;
  delivery: DeliveryMode;
}

/** The transactional id of a source's exactly-once pipeline: one per source, stable across restarts. */
export function transactionalIdOf(source: string): string {
  return `mesh-source-${source}`;
}

export async function openSessionKafka(o: SessionKafkaOptions): Promise<SessionKafka> {
  const admin = o.kafka.admin();
  const partitionsOf = o.partitions ?? 3;
  const exactlyOnce = o.delivery === "exactly-once";
  const partitions = await admin.ensureTopics([
    ...o.tableTopics.map((topic) => ({ topic, partitions: partitionsOf })),
    { topic: transactionsTopic(o.source), partitions: 1 },
    { topic: heartbeatTopic(o.source), partitions: 1, compact: true, configs: REWRITTEN_STATE_TOPIC_CONFIGS },
    // Exactly-once writes the stored position in its transactions.
    ...(exactlyOnce ? [offsetsTopicSpec] : []),
  ]);
  const transactional = exactlyOnce
    ? o.kafka.transactionalPipeline({ transactionalId: transactionalIdOf(o.source) })
    : null;
  // One lane (one produce request in flight, carrying every partition's messages): a source transaction is
  // then one round trip. Lanes spread a transaction over several requests and it waits for the slowest:
  // `npm run bench -- pg` (c), commit -> ack p99 at 5k changes/s, 25-30 ms with one lane against 40-50 ms
  // with four (quiet, 2026-12-07), while (a), (b) and (d) moved within their noise (docs/connector-postgres.md).
  const producer: OrderedProducer = transactional ?? o.kafka.orderedProducer({ lanes: 1 });
  try {
    // Fences a zombie of the last session (its open transaction is aborted) before the position is read.
    await transactional?.init();
    const writer = new EventWriter({
      source: o.source,
      sink: producer,
      registry: o.registry,
      partitions: (t) => partitions.get(t) ?? 1,
    });
    await writer.prepareMarkers();
    return {
      producer,
      writer,
      ensureTopic: async (topic) => {
        if (partitions.has(topic)) return;
        const created = await admin.ensureTopics([{ topic, partitions: partitionsOf }]);
        for (const [t, n] of created) partitions.set(t, n);
      },
      onFailure: (listener) => {
        producer.onFailure((err) => listener(kafkaFailure(err)));
      },
      close: () => producer.close(),
    };
  } catch (err) {
    await producer.close();
    throw err;
  }
}

/**
 * Whatever Kafka's reason, the connector retries with a new session, which ensures the topics again (one
 * deleted behind its back comes back) and resends from the last confirmed position; a refusal that persists
 * shows in the status meanwhile. The producer's own code (MESH_KAFKA_*) stays in the details.
 */
function kafkaFailure(err: Error): MeshError {
  const code = (err as { code?: unknown }).code;
  return new MeshError(
    "MESH_KAFKA_UNAVAILABLE",
    `Kafka refused a batch: ${err.message}`,
    typeof code === "string" ? { causeCode: code } : {},
    { cause: err },
  );
}
