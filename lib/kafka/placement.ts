// Where each outgoing message goes, decided here rather than by the Kafka client: keyed messages by Java's
// default partitioner (partitioner.ts; the client's own default differs), keyless ones round robin per topic,
// explicit partitions checked against the topic. Also the conversion of OutMessage to the client's shape.
import type { MessageToProduce, Producer as ClientProducer } from "@platformatic/kafka";
import { MeshError } from "../errors.ts";
import { kafkaError } from "./errors.ts";
import type { OutMessage } from "./messages.ts";
import { partitionFor } from "./partitioner.ts";

export type ClientMessage = MessageToProduce<Buffer, Buffer | null, Buffer, Buffer>;
export type AnyClientProducer = ClientProducer<Buffer, Buffer | null, Buffer, Buffer>;

/** Approximate bytes a message takes in a produce request (record overhead included). */
export function messageBytes(m: OutMessage): number {
  let bytes = m.topic.length + 64 + byteLength(m.key) + byteLength(m.value);
  if (m.headers) for (const [k, v] of Object.entries(m.headers)) bytes += k.length + byteLength(v) + 8;
  return bytes;
}

function byteLength(v: Buffer | string | null): number {
  if (v === null) return 0;
  return typeof v === "string" ? Buffer.byteLength(v) : v.length;
}

function toBuffer(v: Buffer | string): Buffer {
  return typeof v === "string" ? Buffer.from(v) : v;
}

export function toClientMessage(m: OutMessage, partition: number): ClientMessage {
  const out: ClientMessage = {
    topic: m.topic,
    partition,
    value: m.value === null ? null : toBuffer(m.value),
  };
  if (m.key !== null) out.key = toBuffer(m.key);
  if (m.timestamp !== undefined) out.timestamp = BigInt(Math.trunc(m.timestamp));
  if (m.headers) out.headers = clientHeaders(m.headers);
  return out;
}

/**
 * Headers in the client's shape, converted once per headers object: writers pass one object for every
 * message with the same headers (the markers' protocol version), and the client only reads them.
 */
const convertedHeaders = new WeakMap<object, Map<Buffer, Buffer>>();

function clientHeaders(h: Record<string, string | Buffer>): Map<Buffer, Buffer> {
  const known = convertedHeaders.get(h);
  if (known) return known;
  const headers = new Map<Buffer, Buffer>();
  for (const [k, v] of Object.entries(h)) headers.set(Buffer.from(k), toBuffer(v));
  // Only frozen objects are cached: a writer that changes its headers object between messages gets fresh ones.
  if (Object.isFrozen(h)) convertedHeaders.set(h, headers);
  return headers;
}

/** Partition counts per topic (refreshed after `maxAgeMs`), and the partition of each message. */
export class PartitionPlacer {
  readonly #maxAgeMs: number;
  readonly #counts = new Map<string, { partitions: number; at: number; reads: number }>();
  readonly #roundRobin = new Map<string, number>();

  constructor(maxAgeMs = 30_000) {
    this.#maxAgeMs = maxAgeMs;
  }

  /**
   * The cached partition count, or undefined when `counts()` must be awaited first: never fetched, or found
   * older than the maximum age (the clock is read every 256th call: once per message is measurable).
   */
  cached(topic: string): number | undefined {
    const entry = this.#counts.get(topic);
    if (!entry) return undefined;
    if ((++entry.reads & 255) === 0 && Date.now() - entry.at >= this.#maxAgeMs) return undefined;
    return entry.partitions;
  }

  /** Partition counts of `topics` from the client's metadata; MESH_KAFKA_TOPIC_MISSING for a topic that is not there. */
  async counts(client: AnyClientProducer, topics: string[]): Promise<void> {
    const now = Date.now();
    const stale = topics.filter((t) => {
      const entry = this.#counts.get(t);
      return !entry || now - entry.at >= this.#maxAgeMs;
    });
    if (stale.length === 0) return;
    let metadata;
    try {
      metadata = await client.metadata({ topics: stale });
    } catch (err) {
      // The client reports a topic the metadata does not know as a PLT_KFK_USER error (after retrying
      // UNKNOWN_TOPIC_OR_PARTITION); nothing else we send can be a user error of a metadata request.
      if ((err as { code?: unknown }).code === "PLT_KFK_USER") {
        throw new MeshError(
          "MESH_KAFKA_TOPIC_MISSING",
          `Kafka: a topic of ${stale.join(", ")} does not exist`,
          {
            topics: stale,
          },
        );
      }
      throw kafkaError(err, `reading the metadata of ${stale.join(", ")}`);
    }
    for (const topic of stale) {
      const partitions = metadata.topics.get(topic)?.partitionsCount ?? 0;
      if (partitions < 1)
        throw new MeshError("MESH_KAFKA_TOPIC_MISSING", `Kafka: topic ${topic} does not exist`, { topic });
      this.#counts.set(topic, { partitions, at: now, reads: 0 });
    }
  }

  /** The partition of `m`; the topic's count must be cached (await `counts()` first). */
  place(m: OutMessage): number {
    const partitions = this.#counts.get(m.topic)?.partitions;
    if (partitions === undefined)
      throw new Error(`lib/kafka: no partition count for ${m.topic} (counts() first)`);
    if (m.partition !== undefined) {
      if (!Number.isInteger(m.partition) || m.partition < 0 || m.partition >= partitions) {
        throw new MeshError(
          "MESH_KAFKA_TOPIC_MISCONFIGURED",
          `Kafka: partition ${m.partition} of topic ${m.topic} does not exist (it has ${partitions})`,
          { topic: m.topic, partition: m.partition, partitions },
        );
      }
      return m.partition;
    }
    if (m.key !== null)
      return partitionFor(typeof m.key === "string" ? Buffer.from(m.key) : m.key, partitions);
    const next = this.#roundRobin.get(m.topic) ?? 0;
    this.#roundRobin.set(m.topic, next + 1);
    return next % partitions;
  }
}
