// Readiness checks of the API process's dependencies: Kafka (the cluster answers) and the registry.
import type { Kafka } from "kafkajs";
import type { DependencyCheck, HealthRuntime } from "../runtime.ts";
import type { RegistryClient } from "../../lib/registry-client.ts";

export class DependencyHealth implements HealthRuntime {
  readonly #kafka: Kafka;
  readonly #registry: RegistryClient;
  readonly #extra: (() => Promise<DependencyCheck | DependencyCheck[]>)[];

  constructor(
    kafka: Kafka,
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
    const admin = this.#kafka.admin();
    try {
      await withTimeout(
        (async () => {
          await admin.connect();
          await admin.describeCluster();
        })(),
        5_000,
      );
      return { name: "kafka", ok: true };
    } catch (err) {
      return { name: "kafka", ok: false, error: (err as Error).message };
    } finally {
      await admin.disconnect().catch(() => undefined);
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
