// Readiness checks of the API process's dependencies: Kafka (the cluster answers) and the registry.
import type { KafkaClient } from "../../lib/kafka/index.ts";
import type { DependencyCheck, HealthRuntime } from "../runtime.ts";
import type { RegistryClient } from "../../lib/registry-client.ts";

export class DependencyHealth implements HealthRuntime {
  readonly #kafka: KafkaClient;
  readonly #registry: RegistryClient;
  readonly #extra: (() => Promise<DependencyCheck | DependencyCheck[]>)[];

  constructor(
    kafka: KafkaClient,
    registry: RegistryClient,
    extra: (() => Promise<DependencyCheck | DependencyCheck[]>)[] = [],
  ) {
    this.#kafka = kafka;
    this.#registry = registry;
    this.#extra = extra;
  }

  async checks(): Promise<DependencyCheck[]> {
    const all = await Promise.all([
      this.#checkKafka(),
      this.#checkRegistry(),
      ...this.#extra.map((c) => c()),
    ]);
    return all.flat();
  }

  async #checkKafka(): Promise<DependencyCheck> {
    try {
      // The client's shared admin: one metadata round trip on its kept connection.
      await withTimeout(this.#kafka.admin().ping(), 5_000);
      return { name: "kafka", ok: true };
    } catch (err) {
      return { name: "kafka", ok: false, error: (err as Error).message };
    }
  }

  async #checkRegistry(): Promise<DependencyCheck> {
    try {
      await this.#registry.ping();
      return { name: "registry", ok: true };
    } catch (err) {
      return { name: "registry", ok: false, error: (err as Error).message };
    }
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>(
        (_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)),
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
