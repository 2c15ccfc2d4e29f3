// Owns keeping a TokenTable equal to the catalog topic's token records in the roles that do not hold the
// catalog (the registry, `mesh materialize`, `mesh connect`): the topic (`_mesh_catalog`, compacted, one
// partition) is replayed from its start and tailed with lib/kafka's CompactedTable (no group, nothing
// committed), and every `token/<id>` record is put into the table in log order, so a token the API revokes
// stops working here as soon as the record arrives (the tail's fetch parks at most 500 ms). Other records
// are skipped. The topic is created as the API creates it when this process comes first.
import { withinTime } from "../time-limit.ts";
import { MeshError } from "../errors.ts";
import type { CompactedTable, InRecord, KafkaClient } from "../kafka/index.ts";
import type { Logger } from "../logger.ts";
import { readStoredToken, TOKEN_KEY_PREFIX, type TokenTable } from "./auth-tokens.ts";

export interface TokenFollowerOptions {
  kafka: KafkaClient;
  logger: Logger;
  /** The catalog topic (protocol/topics.ts CATALOG_TOPIC unless the deployment names another). */
  topic: string;
  table: TokenTable;
  /** How long start() waits for the replay (default 60 s). */
  startTimeoutMs?: number;
}

export class TokenFollower {
  readonly #options: TokenFollowerOptions;
  #table: CompactedTable | null = null;
  #stopped = false;

  constructor(options: TokenFollowerOptions) {
    this.#options = options;
  }

  /** Resolves once the records present at start are in the table; the tail goes on until stop(). */
  async start(): Promise<void> {
    const { kafka, topic, startTimeoutMs = 60_000 } = this.#options;
    const opening = (async () => {
      try {
        await kafka
          .admin()
          .ensureTopics([{ topic, partitions: 1, compact: true, configs: { "min.insync.replicas": "1" } }]);
      } catch (err) {
        throw new MeshError(
          "MESH_KAFKA_UNAVAILABLE",
          `cannot read the catalog topic ${topic}: ${(err as Error).message}`,
          {},
          { cause: err },
        );
      }
      if (this.#stopped) return;
      const table = kafka.compactedTable({ topic, onRecord: (r) => this.#handle(r) });
      this.#table = table;
      await table.start();
    })();
    try {
      await withinTime(
        opening,
        startTimeoutMs,
        () =>
          new MeshError(
            "MESH_KAFKA_UNAVAILABLE",
            `the catalog's tokens did not replay within ${startTimeoutMs} ms`,
          ),
      );
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const table = this.#table;
    this.#table = null;
    await table?.stop().catch(() => undefined);
  }

  #handle(record: InRecord): void {
    const key = record.key?.toString("utf8");
    if (key === undefined || !key.startsWith(TOKEN_KEY_PREFIX)) return;
    const id = key.slice(TOKEN_KEY_PREFIX.length);
    if (!record.value) {
      this.#options.table.apply(id, null);
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(record.value.toString("utf8"));
    } catch (err) {
      this.#options.logger.error({ err, key }, "unreadable token record skipped");
      return;
    }
    const stored = readStoredToken(id, value);
    if (stored) this.#options.table.apply(id, stored);
    else this.#options.logger.warn({ key }, "token record not understood; skipped");
  }
}
