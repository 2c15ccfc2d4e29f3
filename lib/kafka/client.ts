// KafkaClient: the one handle a process role holds. Cheap to construct; it creates the underlying clients
// when first asked (one shared admin, one shared producer per transactional id) and close() closes every
// client, pipeline, reader, group member and table it handed out.
import { MeshError } from "../errors.ts";
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

  #own<T>(item: T, stop: (item: T) => Promise<void>): T {
    this.#owned.add(() => stop(item));
    return item;
  }

  /** One shared admin, connected on first use. Closed by close(), not by its users. */
  admin(): KafkaAdmin {
    this.#open();
    this.#admin ??= createAdmin(this.config);
    return this.#admin;
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
    return this.#own(createOrderedProducer(this.config, options), (p) => p.close());
  }

  /** A new reader of explicit partitions from explicit offsets. */
  reader(options: ReaderOptions = {}): PartitionReader {
    this.#open();
    return this.#own(createReader(this.config, options), (r) => r.close());
  }

  /** A new consumer-group member (membership only; data is read with a reader). */
  groupMember(options: GroupMemberOptions): GroupMember {
    this.#open();
    return this.#own(createGroupMember(this.config, options), (m) => m.stop());
  }

  /** A new replay-then-tail reader of a compacted topic. */
  compactedTable(options: CompactedTableOptions): CompactedTable {
    this.#open();
    return this.#own(createCompactedTable(this.config, options), (t) => t.stop());
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
