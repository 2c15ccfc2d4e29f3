// Keeps a standalone materializer's views equal to the control-plane catalog (`_mesh_catalog`,
// docs/contracts.md "Control-plane catalog"): replays it whole at start with the catalog's own reducer
// (protocol/catalog.ts, so a record every API process rejects is rejected here too), then follows it: a
// `view/<name>` record creates the view (or recreates it when its SQL changed), a tombstone drops it. Views
// the catalog does not name (given with `--view`, or created before) are left alone: only a tombstone in
// the log drops a view. The topic is only read here (the API writes it); source records stay sealed.
import { isMeshError, MeshError } from "../lib/errors.ts";
import type { CompactedTable, InRecord, KafkaClient } from "../lib/kafka/index.ts";
import type { Logger } from "../lib/logger.ts";
import {
  applyRecord,
  emptyState,
  sourceTopics,
  type CatalogRecord,
  type ViewRecord,
} from "../protocol/catalog.ts";
import { CATALOG_TOPIC } from "../protocol/topics.ts";
import type { MaterializerEngine } from "./engine.ts";

export interface CatalogViewsOptions {
  kafka: KafkaClient;
  logger: Logger;
  engine: MaterializerEngine;
  /** Default `_mesh_catalog` (protocol/topics.ts). */
  topic?: string;
  /** How long start() waits for the replay (default 60 s). */
  startTimeoutMs?: number;
}

export class CatalogViews {
  private readonly options: CatalogViewsOptions;
  private readonly topic: string;
  private readonly state = emptyState();
  private table: CompactedTable | null = null;
  private stopped = false;
  /** Changes are applied one at a time, in log order. */
  private queue: Promise<void> = Promise.resolve();

  constructor(options: CatalogViewsOptions) {
    this.options = options;
    this.topic = options.topic ?? CATALOG_TOPIC;
  }

  /** Resolves once the catalog is replayed and this process's views match it. */
  async start(): Promise<void> {
    await this.tail((key, value) => {
      const result = applyRecord(this.state, key, value);
      if (!result.accepted || result.change?.type !== "view") return;
      const { name, after } = result.change;
      this.enqueue(() => this.reconcile(name, after));
    });
    await this.queue;
  }

  /** Waits for the changes received so far to be applied (tests). */
  settled(): Promise<void> {
    return this.queue;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.table?.stop().catch(() => undefined);
    this.table = null;
    await this.queue;
  }

  /**
   * Every record from the beginning (lib/kafka's CompactedTable: no consumer group, nothing committed: the
   * topic is the state), resolving once those below the end at start are handed over; the topic is created
   * as the API creates it when this process comes first.
   */
  private async tail(onRecord: (key: string, value: CatalogRecord | null) => void): Promise<void> {
    const { kafka, logger } = this.options;
    const handle = (record: InRecord): void => {
      const key = record.key?.toString("utf8");
      if (key === undefined) return;
      let value: CatalogRecord | null = null;
      try {
        value = record.value ? (JSON.parse(record.value.toString("utf8")) as CatalogRecord) : null;
      } catch (err) {
        // A record nobody can parse must not stop the catalog: skip it loudly.
        logger.error({ err, key, offset: String(record.offset) }, "unreadable catalog record skipped");
      }
      onRecord(key, value);
    };
    const open = async (): Promise<void> => {
      try {
        // As the API creates it (api/catalog/kafka-log.ts); nothing happens when it exists.
        await kafka
          .admin()
          .ensureTopics([
            { topic: this.topic, partitions: 1, compact: true, configs: { "min.insync.replicas": "1" } },
          ]);
      } catch (err) {
        throw new MeshError(
          "MESH_KAFKA_UNAVAILABLE",
          `cannot read the catalog topic ${this.topic}: ${(err as Error).message}`,
          {},
          { cause: err },
        );
      }
      if (this.stopped) return;
      const table = kafka.compactedTable({ topic: this.topic, onRecord: handle });
      this.table = table;
      await table.start();
    };
    const timeoutMs = this.options.startTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new MeshError("MESH_KAFKA_UNAVAILABLE", `the catalog did not replay within ${timeoutMs} ms`),
          ),
        timeoutMs,
      );
    });
    const opening = open();
    // Whichever loses the race below must not surface as an unhandled rejection.
    opening.catch(() => undefined);
    try {
      await Promise.race([opening, timeout]);
    } catch (err) {
      await this.stop();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private enqueue(step: () => Promise<void>): void {
    this.queue = this.queue.then(step).catch((err: unknown) => {
      // A view that cannot be created here (bad SQL, tables unknown) must not stop the others.
      this.options.logger.error(
        { err, code: isMeshError(err) ? err.code : undefined },
        "catalog view not applied",
      );
    });
  }

  private async reconcile(name: string, record: ViewRecord | null): Promise<void> {
    const engine = this.options.engine;
    const existing = engine.listViews().find((v) => v.name === name);
    if (existing && (!record || existing.sql.trim() !== record.sql.trim())) {
      await engine.dropView(name);
      this.options.logger.info({ view: name }, "view dropped (catalog)");
    }
    if (record && (!existing || existing.sql.trim() !== record.sql.trim())) {
      // The API accepted it: a table without a schema yet is a registered source's, so the view waits for it.
      await engine.createView(record.sql, { expected: sourceTopics(this.state.sources.values()) });
      this.options.logger.info({ view: name }, "view created (catalog)");
    }
  }
}
