// Plain sends and Kafka transactions. Every producer is idempotent with acks=all; keyed messages land where
// Java's default partitioner puts them (placement.ts). `send()` resolves with each message's offset once
// Kafka acknowledged all of them. Concurrent `send()` calls are not ordered against each other (use the
// OrderedProducer for a stream whose order matters). A transactional producer runs one transaction at a
// time; a newer producer with the same transactional id fences this one for good (MESH_KAFKA_FENCED).
import { type ProducerOptions as ClientProducerOptions } from "@platformatic/kafka";
import { MeshError } from "../errors.ts";
import { metrics } from "../metrics.ts";
import { clientOptions, type KafkaConfig } from "./config.ts";
import { kafkaError } from "./errors.ts";
import { FastProducer } from "./fast-producer.ts";
import type { Delivery, OutMessage } from "./messages.ts";
import { PartitionPlacer, toClientMessage, type AnyClientProducer, type ClientMessage } from "./placement.ts";

export interface ProducerOptions {
  /** Makes `transaction()` available; one live producer per id (a newer one fences the older). */
  transactionalId?: string;
}

export interface Transaction {
  send(messages: OutMessage[]): Promise<void>;
}

export interface Producer {
  /** Resolves once Kafka acknowledged (acks=all) every message; one Delivery per message, in order. */
  send(messages: OutMessage[]): Promise<Delivery[]>;
  /** The callback's sends commit together or not at all; the callback's error aborts and is rethrown. */
  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A client producer for lib/kafka: idempotent, acks=all, never auto-creating topics. */
export function createClientProducer(
  config: KafkaConfig,
  suffix: string,
  transactionalId?: string,
  overrides: Record<string, unknown> = {},
): AnyClientProducer {
  const options = {
    ...clientOptions(config, suffix),
    ...overrides,
    idempotent: true,
    autocreateTopics: false,
    // "No producer id yet". The client's default (0, 0) makes InitProducerId claim to be producer 0: once the
    // transactional id has state, Kafka answers PRODUCER_FENCED and a restarted role could never take over.
    producerId: -1n,
    producerEpoch: -1,
    ...(transactionalId ? { transactionalId } : {}),
  } as ClientProducerOptions<Buffer, Buffer | null, Buffer, Buffer>;
  return timed(new FastProducer<Buffer, Buffer | null, Buffer, Buffer>(options), config.clientId);
}

/** Every produce request of `producer` observed in mesh_kafka_produce_duration_seconds (lib/metrics.ts). */
function timed(producer: AnyClientProducer, client: string): AnyClientProducer {
  const send = producer.send.bind(producer) as (...args: unknown[]) => unknown;
  const timer = (): (() => void) => {
    const end = metrics.produceDuration.startTimer({ client });
    return () => void end();
  };
  Object.defineProperty(producer, "send", {
    configurable: true,
    writable: true,
    value: (...args: unknown[]) => {
      // The callback form (unused here) is passed through untimed.
      if (typeof args.at(-1) === "function") return send(...args);
      const done = timer();
      const sent = send(...args) as Promise<unknown>;
      sent.then(done, () => undefined);
      return sent;
    },
  });
  return producer;
}

/**
 * Offsets of `sent` from the per-partition base offsets of one produce call: the client writes the messages
 * of a partition as one record batch in the order given, so the i-th message of a partition sits at base + i.
 */
export function deliveries(
  sent: ClientMessage[],
  bases: { topic: string; partition: number; offset: bigint }[],
): Delivery[] {
  const next = new Map<string, bigint>();
  for (const b of bases) next.set(`${b.topic}\u0000${b.partition}`, b.offset);
  return sent.map((m) => {
    const partition = m.partition ?? 0;
    const key = `${m.topic}\u0000${partition}`;
    const offset = next.get(key);
    if (offset === undefined) throw new Error(`lib/kafka: no offset reported for ${m.topic}/${partition}`);
    next.set(key, offset + 1n);
    return { topic: m.topic, partition, offset };
  });
}

class KafkaProducer implements Producer {
  readonly #config: KafkaConfig;
  readonly #transactionalId: string | undefined;
  readonly #placer = new PartitionPlacer();
  #client: AnyClientProducer | null = null;
  #generation = 0;
  #fenced: MeshError | null = null;
  #closed = false;
  /** Transactions (and sends of a transactional producer) run one after the other. */
  #turn: Promise<unknown> = Promise.resolve();

  constructor(config: KafkaConfig, options: ProducerOptions) {
    this.#config = config;
    this.#transactionalId = options.transactionalId;
  }

  #usable(): AnyClientProducer {
    if (this.#closed) throw new MeshError("MESH_KAFKA_CLOSED", "Kafka: the producer is closed");
    if (this.#fenced) throw this.#fenced;
    this.#client ??= createClientProducer(
      this.#config,
      `producer-${++this.#generation}`,
      this.#transactionalId,
    );
    return this.#client;
  }

  async #prepare(client: AnyClientProducer, messages: OutMessage[]): Promise<ClientMessage[]> {
    await this.#placer.counts(client, [...new Set(messages.map((m) => m.topic))]);
    return messages.map((m) => toClientMessage(m, this.#placer.place(m)));
  }

  #failed(err: unknown, what: string): MeshError {
    const mesh = kafkaError(err, what);
    if (mesh.code === "MESH_KAFKA_FENCED") this.#fenced = mesh;
    return mesh;
  }

  send(messages: OutMessage[]): Promise<Delivery[]> {
    if (this.#transactionalId === undefined) return this.#send(messages);
    return this.#inTurn(() => this.#send(messages));
  }

  async #send(messages: OutMessage[]): Promise<Delivery[]> {
    if (messages.length === 0) return [];
    const client = this.#usable();
    const prepared = await this.#prepare(client, messages);
    try {
      const result = await client.send({ messages: prepared });
      return deliveries(prepared, result.offsets ?? []);
    } catch (err) {
      throw this.#failed(err, `producing to ${[...new Set(messages.map((m) => m.topic))].join(", ")}`);
    }
  }

  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    if (this.#transactionalId === undefined) {
      return Promise.reject(
        new Error("lib/kafka: transaction() needs a producer created with a transactionalId"),
      );
    }
    return this.#inTurn(() => this.#transaction(work));
  }

  async #transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    const client = this.#usable();
    let clientTx;
    try {
      clientTx = await client.beginTransaction();
    } catch (err) {
      throw this.#failed(err, `beginning a transaction (${this.#transactionalId})`);
    }
    const active = clientTx;
    const tx: Transaction = {
      send: async (messages) => {
        if (messages.length === 0) return;
        const prepared = await this.#prepare(client, messages);
        try {
          await active.send({ messages: prepared });
        } catch (err) {
          throw this.#failed(err, `producing in a transaction (${this.#transactionalId})`);
        }
      },
    };
    let result: T;
    try {
      result = await work(tx);
    } catch (err) {
      await this.#abandon(active);
      throw this.#fenced ?? err;
    }
    try {
      await active.commit();
    } catch (err) {
      const mesh = this.#failed(err, `committing a transaction (${this.#transactionalId})`);
      await this.#abandon(active);
      throw this.#fenced ?? mesh;
    }
    return result;
  }

  /** Aborts; if even that fails, drops the client so that the next transaction starts on a fresh producer id. */
  async #abandon(active: { abort(): Promise<void> }): Promise<void> {
    try {
      await active.abort();
    } catch (err) {
      this.#failed(err, `aborting a transaction (${this.#transactionalId})`);
      const client = this.#client;
      this.#client = null;
      await client?.close(true).catch(() => undefined);
    }
  }

  #inTurn<T>(run: () => Promise<T>): Promise<T> {
    const result = this.#turn.then(run, run);
    this.#turn = result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#turn;
    const client = this.#client;
    this.#client = null;
    await client?.close(true).catch(() => undefined);
  }
}

export function createProducer(config: KafkaConfig, options: ProducerOptions = {}): Producer {
  return new KafkaProducer(config, options);
}
