// KafkaClient: the one handle a process role holds. Cheap to construct; it creates the underlying clients
// when first asked (one shared admin, one shared producer per transactional id) and close() closes every
// client, pipeline, reader, group member and table it handed out.
import { MeshError } from "../errors.ts";
import type { KafkaAccess } from "./access.ts";
import { createAdmin, type KafkaAdmin, type PlatformaticAdmin } from "./admin.ts";
import { createCompactedTable, type CompactedTable, type CompactedTableOptions } from "./compacted-table.ts";
import type { KafkaConfig } from "./config.ts";
import { createGroupMember, type GroupMember, type GroupMemberOptions } from "./group.ts";
import {
  createOrderedProducer,
  type OrderedProducer,
  type OrderedProducerOptions,
} from "./ordered-producer.ts";
import { createProducer, type Producer, type ProducerOptions } from "./producer.ts";
import { createReader, type PartitionReader, type ReaderOptions } from "./reader.ts";
import {
  createTransactionalPipeline,
  type TransactionalPipeline,
  type TransactionalPipelineOptions,
} from "./transactional-pipeline.ts";

export class KafkaClient {
  readonly config: KafkaConfig;
  #admin: PlatformaticAdmin | null = null;
  /** Shared producers by transactional id ("" for the plain one). */
  readonly #producers = new Map<string, Producer>();
  /** What close() stops besides the admin and the producers. */
  readonly #owned = new Set<() => Promise<void>>();
  #closed = false;

  constructor(config: KafkaConfig) {
    this.config = config;
  }

  #open(): void {
    if (this.#closed) throw new MeshError("MESH_KAFKA_CLOSED", "Kafka: the client is closed");
  }

  /**
   * Holds `item` for close() until its user ends it through `method` itself: then the client lets go of it,
   * so a process that opens a reader per request (SSE streams) does not accumulate closed ones.
   */
  #own<K extends "close" | "stop", T extends Record<K, () => Promise<void>>>(item: T, method: K): T {
    const end = item[method];
    const stop = (): Promise<void> => end.call(item);
    this.#owned.add(stop);
    // An own property over the prototype's method; `end` still runs with the item as `this`.
    Object.defineProperty(item, method, {
      configurable: true,
      writable: true,
      value: (): Promise<void> => {
        this.#owned.delete(stop);
        return end.call(item);
      },
    });
    return item;
  }

  /** Readers, pipelines, group members and tables handed out and not yet closed or stopped. */
  get handedOut(): number {
    return this.#owned.size;
  }

  /** One shared admin, connected on first use. Closed by close(), not by its users. */
  admin(): KafkaAdmin {
    this.#open();
    this.#admin ??= createAdmin(this.config);
    return this.#admin;
  }

  /** SCRAM users and ACLs (access.ts), on the shared admin's connections; needs a super user's credentials. */
  access(): KafkaAccess {
    this.#open();
    this.#admin ??= createAdmin(this.config);
    return this.#admin.access();
  }

  /**
   * The shared idempotent (acks=all) producer, or the one of `transactionalId`. Its close() closes it for
   * every user of this client; the next call makes a new one.
   */
  producer(options: ProducerOptions = {}): Producer {
    this.#open();
    const key = options.transactionalId ?? "";
    const existing = this.#producers.get(key);
    if (existing) return existing;
    const inner = createProducer(this.config, options);
    const shared: Producer = {
      send: (messages) => inner.send(messages),
      transaction: (work) => inner.transaction(work),
      close: async () => {
        if (this.#producers.get(key) === shared) this.#producers.delete(key);
        await inner.close();
      },
    };
    this.#producers.set(key, shared);
    return shared;
  }

  /** A new ordered pipeline (its own client producers). */
  orderedProducer(options: OrderedProducerOptions = {}): OrderedProducer {
    this.#open();
    return this.#own(createOrderedProducer(this.config, options), "close");
  }

  /** A new exactly-once pipeline (Kafka transactions ending at boundaries; its own transactional producer). */
  transactionalPipeline(options: TransactionalPipelineOptions): TransactionalPipeline {
    this.#open();
    return this.#own(createTransactionalPipeline(this.config, options), "close");
  }

  /** A new reader of explicit partitions from explicit offsets. */
  reader(options: ReaderOptions = {}): PartitionReader {
    this.#open();
    return this.#own(createReader(this.config, options), "close");
  }

  /** A new consumer-group member (membership only; data is read with a reader). */
  groupMember(options: GroupMemberOptions): GroupMember {
    this.#open();
    return this.#own(createGroupMember(this.config, options), "stop");
  }

  /** A new replay-then-tail reader of a compacted topic. */
  compactedTable(options: CompactedTableOptions): CompactedTable {
    this.#open();
    return this.#own(createCompactedTable(this.config, options), "stop");
  }

  /** Stops everything this client handed out, then the shared producers and the admin. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const logger = this.config.logger;
    const settle = async (what: string, work: Promise<unknown>[]): Promise<void> => {
      for (const r of await Promise.allSettled(work)) {
        if (r.status === "rejected") logger?.warn({ err: r.reason }, `closing Kafka ${what} failed`);
      }
    };
    await settle(
      "readers, members and pipelines",
      [...this.#owned].map((stop) => stop()),
    );
    this.#owned.clear();
    await settle(
      "producers",
      [...this.#producers.values()].map((p) => p.close()),
    );
    this.#producers.clear();
    await this.#admin?.close();
    this.#admin = null;
  }
}
