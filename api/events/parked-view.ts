// Every source's parked domain events, as the API shows them: `_mesh_parked_events` replayed and followed
// (written by the connectors, connectors/core/outbox-parked.ts), so any API process lists them wherever the
// connector runs. `MemoryParkedView` holds records given to it (route tests).
import type { CompactedTable, KafkaClient } from "../../lib/kafka/index.ts";
import type { Logger } from "../../lib/logger.ts";
import {
  decodeParked,
  ensureParkedTopic,
  ParkedEvents,
  type ParkedEvent,
} from "../../connectors/core/outbox-parked.ts";
import { PARKED_EVENTS_TOPIC } from "../../protocol/topics.ts";

export interface ParkedView {
  readonly events: ParkedEvents;
  /** Resolves once everything written to the topic so far is in `events` (after a retry or skip). */
  caughtUp(): Promise<void>;
}

export class MemoryParkedView implements ParkedView {
  readonly events: ParkedEvents;

  constructor(initial: ParkedEvent[] = []) {
    this.events = new ParkedEvents(initial);
  }

  caughtUp(): Promise<void> {
    return Promise.resolve();
  }
}

export class KafkaParkedView implements ParkedView {
  readonly events = new ParkedEvents();
  readonly #kafka: KafkaClient;
  readonly #logger: Logger;
  #table: CompactedTable | null = null;

  constructor(kafka: KafkaClient, logger: Logger) {
    this.#kafka = kafka;
    this.#logger = logger;
  }

  async start(): Promise<void> {
    await ensureParkedTopic(this.#kafka);
    const table = this.#kafka.compactedTable({
      topic: PARKED_EVENTS_TOPIC,
      onRecord: (r) => {
        const id = r.key?.toString("utf8");
        if (id === undefined) return;
        const parked = decodeParked(r.value);
        // A re-park with a new reason replaces the record in its place (same id).
        if (parked) this.events.add(parked);
        else this.events.delete(id);
      },
    });
    await table.start();
    this.#table = table;
  }

  async caughtUp(): Promise<void> {
    await this.#table?.caughtUp(10_000).catch((err: unknown) => {
      this.#logger.warn({ err }, "the parked events view is behind");
    });
  }

  async stop(): Promise<void> {
    await this.#table?.stop();
    this.#table = null;
  }
}
