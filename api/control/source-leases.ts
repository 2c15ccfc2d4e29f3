// Owns which API process runs each source's connector: one lease per source, held through the registry's
// Kafka leader election (lib/kafka's LeaderElection) in a consumer group of its own on the one-partition
// topic `<catalog topic>_leases`. Kafka's group coordinator decides who holds it; when the holder leaves or
// stops heartbeating (session timeout 6 s), the group rebalances and another member gets it. The holder
// advertises its API URL, so other processes can forward requests that need the running connector.
import { LeaderElection, type KafkaClient } from "../../lib/kafka/index.ts";
import type { Logger } from "../../lib/logger.ts";

const PROTOCOL = "datamesh-source-lease";

export interface SourceLeasesOptions {
  kafka: KafkaClient;
  logger: Logger;
  /** The one-partition coordination topic (created if missing). */
  topic: string;
  /** Prefix of the per-source group ids (processes sharing a catalog must share it). */
  groupPrefix: string;
  /** This process's API URL, advertised to the others (read when a group is joined). */
  url: () => string;
}

/** true: this process holds the lease; false: another does; undefined: the group is rebalancing. */
export type LeaseChange = (held: boolean | undefined) => void;

export class SourceLeases {
  readonly #options: SourceLeasesOptions;
  readonly #elections = new Map<string, LeaderElection>();

  constructor(options: SourceLeasesOptions) {
    this.#options = options;
  }

  has(name: string): boolean {
    return this.#elections.has(name);
  }

  /** Joins the source's lease group; `onChange` follows every settlement. */
  async join(name: string, onChange: LeaseChange): Promise<void> {
    if (this.#elections.has(name)) return;
    const { kafka, logger, topic, groupPrefix, url } = this.#options;
    const election = new LeaderElection({
      config: kafka.config,
      topic,
      groupId: `${groupPrefix}${name}`,
      url: url(),
      protocol: PROTOCOL,
      logger: logger.child({ source: name, lease: true }),
      onChange,
    });
    this.#elections.set(name, election);
    try {
      await election.start();
    } catch (err) {
      this.#elections.delete(name);
      await election.stop().catch(() => undefined);
      throw err;
    }
  }

  holds(name: string): boolean {
    return this.#elections.get(name)?.isLeader() ?? false;
  }

  /** The holder's API URL, undefined while nobody holds the lease (or this process does not take part). */
  async holderUrl(name: string): Promise<string | undefined> {
    return this.#elections.get(name)?.leaderUrl();
  }

  /** Leaves the source's group, so another member takes the lease at once (no session timeout to wait). */
  async leave(name: string): Promise<void> {
    const election = this.#elections.get(name);
    this.#elections.delete(name);
    await election?.stop();
  }

  async stop(): Promise<void> {
    const all = [...this.#elections.keys()];
    await Promise.allSettled(all.map((n) => this.leave(n)));
  }
}
