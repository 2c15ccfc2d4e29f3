// Keeps a standalone materializer's views equal to the control-plane catalog (`_mesh_catalog`,
// docs/contracts.md "Control-plane catalog"): replays it whole at start with the API's own reducer (so a
// record every API process rejects is rejected here too), then follows it: a `view/<name>` record creates
// the view (or recreates it when its SQL changed), a tombstone drops it. Views the catalog does not name
// (given with `--view`, or created before) are left alone: only a tombstone in the log drops a view.
import type { Kafka } from "kafkajs";
import { KafkaCatalogLog } from "../api/catalog/kafka-log.ts";
import { applyRecord, emptyState, type ViewRecord } from "../protocol/catalog.ts";
import { isMeshError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import type { MaterializerEngine } from "./engine.ts";

export interface CatalogViewsOptions {
  kafka: Kafka;
  logger: Logger;
  engine: MaterializerEngine;
  topic?: string;
}

export class CatalogViews {
  private readonly options: CatalogViewsOptions;
  private readonly log: KafkaCatalogLog;
  private readonly state = emptyState();
  /** Changes are applied one at a time, in log order. */
  private queue: Promise<void> = Promise.resolve();

  constructor(options: CatalogViewsOptions) {
    this.options = options;
    this.log = new KafkaCatalogLog({
      kafka: options.kafka,
      logger: options.logger,
      ...(options.topic ? { topic: options.topic } : {}),
    });
  }

  /** Resolves once the catalog is replayed and this process's views match it. */
  async start(): Promise<void> {
    await this.log.start((_offset, key, value) => {
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
    await this.log.stop();
    await this.queue;
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
      await engine.createView(record.sql);
      this.options.logger.info({ view: name }, "view created (catalog)");
    }
  }
}
