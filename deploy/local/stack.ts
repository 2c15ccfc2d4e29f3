// The local stack: Kafka, Postgres and MariaDB as real processes under `.mesh/`, brought up together.
import { KafkaService } from "./kafka.ts";
import { stackEnv, stackLayout, type StackEnv, type StackLayout } from "./layout.ts";
import { MariaDbService } from "./mariadb.ts";
import { PostgresService } from "./postgres.ts";
import type { LocalService, ServiceStatus } from "./service.ts";

export interface UpResult {
  service: string;
  result: "already-up" | "started";
  ms: number;
}

export class LocalStack {
  readonly layout: StackLayout;
  readonly services: LocalService[];

  constructor(workDir = process.cwd(), options: { portBase?: number } = {}) {
    this.layout = stackLayout(workDir, options.portBase);
    this.services = [
      new KafkaService(this.layout.kafka),
      new PostgresService(this.layout.postgres),
      new MariaDbService(this.layout.mysql),
    ];
  }

  /** Checks every prerequisite first, so a missing binary is reported before anything starts. */
  async up(): Promise<UpResult[]> {
    for (const service of this.services) service.checkPrerequisites();
    const results = await Promise.allSettled(
      this.services.map(async (service) => {
        const started = Date.now();
        const result = await service.up();
        return { service: service.name, result, ms: Date.now() - started };
      }),
    );
    const failed = results.flatMap((r, i) =>
      r.status === "rejected" ? [`${this.services[i]?.name}: ${(r.reason as Error).message}`] : [],
    );
    if (failed.length > 0) throw new Error(`the local stack did not come up:\n${failed.join("\n")}`);
    return results.map((r) => (r as PromiseFulfilledResult<UpResult>).value);
  }

  async down(): Promise<{ service: string; stopped: boolean }[]> {
    const out = [];
    // Kafka first: it is the one that depends on nothing else stopping cleanly.
    for (const service of this.services) out.push({ service: service.name, stopped: await service.down() });
    return out;
  }

  status(): Promise<ServiceStatus[]> {
    return Promise.all(this.services.map((s) => s.status()));
  }

  env(): StackEnv {
    return stackEnv(this.layout);
  }

  service(name: string): LocalService {
    const found = this.services.find((s) => s.name === name);
    if (!found) throw new Error(`no local service named ${name}`);
    return found;
  }
}
