// Owns what lineage, trace, the view check and the console's schema page ask of Kafka and the registry
// (`ObserveRuntime`), and its implementation over the process's KafkaClient and RegistryClient: consumer
// groups by topic (consumers.ts), a key's latest event (api/topics/key-search.ts, keys and values decoded to
// lossless JSON), a view's SQL compiled against the registry's tables (the same compiler the engine runs, so
// the check answers what POST /v1/views would), and a topic's schema versions.
import { toJsonValue } from "../../lib/avro.ts";
import { isMeshError } from "../../lib/errors.ts";
import type { KafkaClient } from "../../lib/kafka/index.ts";
import type { RegistryClient } from "../../lib/registry-client.ts";
import { compileStatements } from "../../materializer/sql/compile.ts";
import type { ViewPlan } from "../../materializer/sql/plan.ts";
import { registryTables } from "../../materializer/sql/registry-tables.ts";
import { decode } from "../../protocol/wire.ts";
import { valueSubject } from "../../protocol/topics.ts";
import { searchKey } from "../topics/key-search.ts";
import { KafkaConsumerGroups, type ConsumerGroups } from "./consumers.ts";

export interface FoundEvent {
  partition: number;
  offset: string;
  /** The record's Kafka timestamp. */
  timestamp: string;
  key: unknown;
  /** The decoded envelope (op, before, after, source, transaction...). */
  value: Record<string, unknown> | null;
  /** A tombstone followed it (the row was deleted). */
  tombstone: boolean;
}

export interface KeyLookup {
  event: FoundEvent | null;
  scanned: number;
  complete: boolean;
}

export interface SchemaVersion {
  version: number;
  id: number;
  schema: unknown;
}

export type CompiledView =
  | { ok: true; plan: ViewPlan }
  | { ok: false; code: string; message: string; details: Record<string, unknown> };

export interface ObserveRuntime {
  consumers: ConsumerGroups;
  /** The latest event whose decoded key `matches`. */
  latestEvent(topic: string, matches: (key: unknown) => boolean): Promise<KeyLookup>;
  /** Compiles view SQL against the registry's tables (nothing is created). */
  compile(sql: string): Promise<CompiledView>;
  /** The value subject's versions of a topic, oldest first. */
  schemas(topic: string): Promise<SchemaVersion[]>;
}

export class KafkaObserve implements ObserveRuntime {
  readonly consumers: ConsumerGroups;
  readonly #kafka: KafkaClient;
  readonly #registry: RegistryClient;

  constructor(options: { kafka: KafkaClient; registry: RegistryClient }) {
    this.#kafka = options.kafka;
    this.#registry = options.registry;
    this.consumers = new KafkaConsumerGroups(options.kafka);
  }

  async #json(buf: Buffer | null): Promise<unknown> {
    if (!buf) return null;
    const { type, value } = await decode((id) => this.#registry.typeById(id), buf);
    return toJsonValue(type, value);
  }

  async latestEvent(topic: string, matches: (key: unknown) => boolean): Promise<KeyLookup> {
    const found = await searchKey({
      kafka: this.#kafka,
      topic,
      matches: async (record) => record.key !== null && matches(await this.#json(record.key)),
    });
    // The newest record with a value is the event; a later tombstone marks the delete it follows.
    const last = found.records.at(-1);
    const withValue = found.records.filter((r) => r.value !== null).at(-1);
    if (!withValue) return { event: null, scanned: found.scanned, complete: found.complete };
    return {
      event: {
        partition: withValue.partition,
        offset: String(withValue.offset),
        timestamp: new Date(withValue.timestamp).toISOString(),
        key: await this.#json(withValue.key),
        value: (await this.#json(withValue.value)) as Record<string, unknown>,
        tombstone: last !== undefined && last.value === null,
      },
      scanned: found.scanned,
      complete: found.complete,
    };
  }

  async compile(sql: string): Promise<CompiledView> {
    try {
      const { view } = compileStatements(sql, { tables: await registryTables(this.#registry) });
      if (!view) return { ok: false, code: "MESH_BAD_SQL", message: "the SQL creates no view", details: {} };
      return { ok: true, plan: view };
    } catch (err) {
      if (!isMeshError(err)) throw err;
      return { ok: false, code: err.code, message: err.message, details: err.details };
    }
  }

  async schemas(topic: string): Promise<SchemaVersion[]> {
    const subject = valueSubject(topic);
    const versions = await this.#registry.versions(subject);
    const out: SchemaVersion[] = [];
    for (const version of versions) {
      const v = await this.#registry.subjectVersion(subject, version);
      if (v) out.push({ version: v.version, id: v.id, schema: JSON.parse(v.schema) as unknown });
    }
    return out;
  }
}
