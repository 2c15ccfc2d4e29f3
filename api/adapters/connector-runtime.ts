// SourceRuntime on the real connectors (connectors/core/change-source.ts): one connector per registered
// source in this process, started, paused, resumed and replaced to match the catalog.
import {
  checkSourcePrerequisites,
  createConnector,
  teardownSource,
  type Connector,
  type ParkedResolution,
  type Problem,
  type SourceDefinition,
} from "../../connectors/core/change-source.ts";
import { kafkaOffsetStore, type OffsetStore } from "../../connectors/core/offset-store.ts";
import type { SchemaRegistrar } from "../../connectors/core/schema-registrar.ts";
import { isMeshError, MeshError } from "../../lib/errors.ts";
import type { KafkaClient } from "../../lib/kafka/index.ts";
import type { Logger } from "../../lib/logger.ts";
import type { SourceRecord } from "../../protocol/catalog.ts";
import { incrementalSource } from "../../protocol/offsets.ts";
import type { PlacedSourceStatus, SourceProblem, SourceRuntime } from "../runtime.ts";

export interface ConnectorRuntimeOptions {
  /** The process's client: each connector makes its own pipeline from it; the offsets table lives on it. */
  kafka: KafkaClient;
  /** Where connectors register their schemas (lib/registry-client.ts). */
  registry: SchemaRegistrar;
  logger: Logger;
  /** Passed to every connector (tests shorten them). */
  heartbeatIntervalMs?: number;
  retryDelayMs?: number;
}

export function toDefinition(record: SourceRecord): SourceDefinition {
  return {
    name: record.name,
    owner: record.owner,
    kind: record.kind,
    url: record.url,
    tables: record.tables,
    snapshot: record.snapshot,
    partitions: record.partitions,
    ...(record.delivery ? { delivery: record.delivery } : {}),
    ...(record.outbox
      ? {
          outbox: {
            tables: record.outbox.tables,
            ...(record.outbox.messagePrefix ? { messagePrefix: record.outbox.messagePrefix } : {}),
            untyped: record.outbox.untyped,
          },
        }
      : {}),
  };
}

/** How long stop() waits for one connector (below `mesh up --stop-timeout`, so the source is named first). */
const CONNECTOR_STOP_MS = 15_000;

const tableProblems = new Set(["schema_missing", "table_missing", "no_primary_key"]);

export function toSourceProblem(problem: Problem): SourceProblem {
  const kind =
    problem.code === "unreachable"
      ? "unreachable"
      : problem.code === "auth"
        ? "auth"
        : tableProblems.has(problem.code)
          ? "table"
          : "prerequisite";
  return { kind, message: problem.message, fix: problem.fix };
}

export class ConnectorRuntime implements SourceRuntime {
  readonly #options: ConnectorRuntimeOptions;
  readonly #running = new Map<string, { record: SourceRecord; connector: Connector }>();
  readonly #registry: SchemaRegistrar;
  #offsets: OffsetStore | null = null;
  /** Re-snapshot tables still to do per source, as the connector last saved them (see observeResnapshots). */
  readonly #resnapshots = new Map<string, string[]>();

  constructor(options: ConnectorRuntimeOptions) {
    this.#options = options;
    this.#registry = options.registry;
  }

  async check(def: SourceRecord): Promise<SourceProblem[]> {
    return (await checkSourcePrerequisites(toDefinition(def))).map(toSourceProblem);
  }

  async ensure(record: SourceRecord): Promise<void> {
    const current = this.#running.get(record.name);
    if (current && current.record.id === record.id) {
      if (current.record.paused !== record.paused) {
        current.record = record;
        if (record.paused) await current.connector.pause();
        else await current.connector.resume();
      }
      return;
    }
    if (current) {
      // Re-registered under the same name: the old connector must stop before the new one takes the slot.
      this.#running.delete(record.name);
      this.#resnapshots.delete(record.name);
      await current.connector.stop();
    }
    const connector = createConnector(toDefinition(record), {
      kafka: this.#options.kafka,
      registry: this.#registry,
      offsets: this.#offsetStore(),
      logger: this.#options.logger.child({ source: record.name }),
      ...(this.#options.heartbeatIntervalMs !== undefined
        ? { heartbeatIntervalMs: this.#options.heartbeatIntervalMs }
        : {}),
      ...(this.#options.retryDelayMs !== undefined ? { retryDelayMs: this.#options.retryDelayMs } : {}),
    });
    this.#running.set(record.name, { record, connector });
    await connector.start();
    if (record.paused) await connector.pause();
  }

  async remove(record: SourceRecord, options: { dropSlot: boolean }): Promise<void> {
    const current = this.#running.get(record.name);
    this.#running.delete(record.name);
    this.#resnapshots.delete(record.name);
    await current?.connector.stop();
    if (options.dropSlot) await dropSourceSlot(record, this.#offsetStore());
  }

  async snapshot(name: string, tables: string[]): Promise<void> {
    const current = this.#running.get(name);
    if (!current)
      throw new MeshError(
        "MESH_CONFLICT",
        `source ${name} is not running in this process; retry in a moment`,
        {
          source: name,
        },
      );
    // Resolves once the request is saved (and observed below), so the 202 already shows it pending.
    await current.connector.resnapshot(tables);
  }

  /** Retries or skips an aggregate's parked domain events on the source's connector (running here). */
  async resolveParked(
    name: string,
    target: { topic: string; key: string },
    action: "retry" | "skip",
  ): Promise<ParkedResolution> {
    const current = this.#running.get(name);
    if (!current)
      throw new MeshError(
        "MESH_CONFLICT",
        `source ${name} is not running in this process; retry in a moment`,
        {
          source: name,
        },
      );
    return current.connector.resolveParked(target.topic, target.key, action);
  }

  status(name: string): PlacedSourceStatus | undefined {
    const status = this.#running.get(name)?.connector.status();
    if (!status) return undefined;
    const pending = this.#resnapshots.get(name) ?? [];
    if (pending.length === 0) return { ...status, resnapshot: null };
    // The connector reports progress only after its first chunk is acknowledged; until then say which
    // table it is on, so a client polling right after the request does not take "no progress" for "done".
    const progress = status.progress ?? {
      phase: "incremental" as const,
      rowsDone: 0,
      rowsEstimated: 0,
      table: pending[0] ?? null,
    };
    return { ...status, progress, resnapshot: { pending } };
  }

  async stop(): Promise<void> {
    const all = [...this.#running.entries()];
    this.#running.clear();
    // A connector that does not stop (its database hangs) is named and left behind: shutdown must end.
    await Promise.allSettled(
      all.map(async ([name, r]) => {
        let timer: NodeJS.Timeout | undefined;
        const hung = await Promise.race([
          r.connector.stop().then(() => false),
          new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), CONNECTOR_STOP_MS))),
        ]);
        clearTimeout(timer);
        if (hung)
          this.#options.logger.error(
            { source: name },
            `the connector of source ${name} did not stop within ${CONNECTOR_STOP_MS / 1000} s; left behind`,
          );
      }),
    );
  }

  /** One store for every connector of this process (its table of `_mesh_offsets` stops with the client). */
  #offsetStore(): OffsetStore {
    this.#offsets ??= observeResnapshots(kafkaOffsetStore(this.#options.kafka), (n, t) => {
      if (t.length > 0) this.#resnapshots.set(n, t);
      else this.#resnapshots.delete(n);
    });
    return this.#offsets;
  }
}

/**
 * The connector saves its re-snapshot state (`<source>/<kind>-incremental`, docs/contracts.md "Offsets") when
 * a request arrives and after every chunk Kafka acknowledged; watching those saves tells which tables are
 * still to do, and an empty list means every re-snapshot row is in Kafka. The connector status has no such
 * field (its progress appears only after the first chunk and clears at the end), so the API keeps it here.
 */
export function observeResnapshots(
  store: OffsetStore,
  onPending: (source: string, tables: string[]) => void,
): OffsetStore {
  return {
    load: (key) => store.load(key),
    async save(key, value) {
      await store.save(key, value);
      const source = incrementalSource(key);
      if (source === null) return;
      const tables = (value as { tables?: unknown } | null)?.tables;
      onPending(
        source,
        Array.isArray(tables) ? tables.filter((t): t is string => typeof t === "string") : [],
      );
    },
  };
}

/**
 * DELETE ?dropSlot=true, from the process that took the request (also one running no connectors): removes
 * what the source holds on its server through its backend (Postgres: slot and publication), and its stored
 * state when `offsets` is given. When it cannot, the error says the source is deleted all the same and
 * names what is left with the SQL to remove it by hand (the backend's message, code and details).
 */
export async function dropSourceSlot(record: SourceRecord, offsets?: OffsetStore): Promise<void> {
  await teardownSource(toDefinition(record), offsets).catch((err: unknown) => {
    const reason = err instanceof Error ? err.message : String(err);
    throw new MeshError(
      isMeshError(err) ? err.code : "MESH_SOURCE_UNREACHABLE",
      `source ${record.name} is deleted, but ${reason}`,
      { ...(isMeshError(err) ? err.details : {}), source: record.name, deleted: true },
      { cause: err },
    );
  });
}
