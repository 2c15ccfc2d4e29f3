// Owns keeping Kafka's ACLs in line with the catalog (docs/governance.md "Ownership and policies", Kafka): a
// service with a live token (not revoked, not expired) has a Kafka principal `svc-<service>` with READ on
// exactly the topics kafka-grants.ts derives (its own, and those granted in full); a service whose last token
// is revoked or expired loses its user and every ACL. Runs once at start over every service it can name, then
// after every catalog change that can move a grant, one run at a time (a change during a run triggers another);
// `settled()` resolves once the changes so far are applied, which is what POST/DELETE /v1/policies wait for.
// Every API process runs one: the operations are idempotent, and they all converge on the same catalog.
import type { Logger } from "../../lib/logger.ts";
import type { Catalog } from "../catalog/catalog.ts";
import type { Grants } from "./decide.ts";
import { kafkaReadGrants, kafkaUser, serviceOfKafkaUser } from "./kafka-grants.ts";

/** What this needs of lib/kafka's KafkaAccess (lib/kafka/access.ts). */
export interface KafkaAclAccess {
  ensureUser(user: string, password: string): Promise<void>;
  deleteUser(user: string): Promise<void>;
  grantTopicRead(user: string, topic: string): Promise<void>;
  revokeTopicRead(user: string, topic: string): Promise<void>;
  aclsOf(
    user: string,
  ): Promise<{ resourceType: string; resourceName: string; patternType: string; operation: string }[]>;
}

/** kafka-grants.ts over the catalog as it is now: service → the topics its principal reads. */
export function catalogKafkaReads(
  catalog: Pick<Catalog, "sources" | "eventTopics" | "policies">,
  grants: Grants,
): Map<string, string[]> {
  return kafkaReadGrants(
    {
      sources: new Map(catalog.sources().map((s) => [s.name, s])),
      events: new Map(catalog.eventTopics().map((e) => [e.topic, e])),
      policies: new Map(catalog.policies().map((p) => [p.id, p])),
    },
    grants,
  );
}

/** The services with a live token now. */
export function liveServices(catalog: Pick<Catalog, "tokens">, now: number): Set<string> {
  const out = new Set<string>();
  for (const t of catalog.tokens()) {
    if (t.revokedAt !== null) continue;
    if (t.expiresAt !== null && Date.parse(t.expiresAt) <= now) continue;
    out.add(t.service);
  }
  return out;
}

export class KafkaAclReconciler {
  readonly #catalog: Catalog;
  readonly #grants: Grants;
  readonly #access: KafkaAclAccess;
  readonly #logger: Logger;
  readonly #now: () => number;
  /** service → topics as last applied (absent: not known; read back from Kafka before changing it). */
  readonly #applied = new Map<string, Set<string>>();
  /** Services that had a live token at the last run: their users are deleted when they have none. */
  #live = new Set<string>();
  #running: Promise<void> | null = null;
  #again = false;
  #stopped = false;
  #off: (() => void) | null = null;
  #retry: NodeJS.Timeout | null = null;
  #tick: NodeJS.Timeout | null = null;
  #first = true;
  readonly #eventTopics: () => { topic: string; owner: string }[];

  constructor(options: {
    catalog: Catalog;
    grants: Grants;
    access: KafkaAclAccess;
    logger: Logger;
    now?: () => number;
    /**
     * Domain-event topics the catalog does not list (an outbox's untyped topics, seen published): each to its
     * owner. Looked at on every run (the minute's included).
     */
    eventTopics?: () => { topic: string; owner: string }[];
  }) {
    this.#catalog = options.catalog;
    this.#grants = options.grants;
    this.#access = options.access;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#eventTopics = options.eventTopics ?? (() => []);
  }

  /** service → the topics its principal should read now (sorted). */
  desired(): Map<string, string[]> {
    const out = catalogKafkaReads(this.#catalog, this.#grants);
    for (const { topic, owner } of this.#eventTopics()) {
      const topics = new Set(out.get(owner) ?? []);
      topics.add(topic);
      out.set(owner, [...topics].sort());
    }
    return out;
  }

  /** Applies the catalog as it is now, then follows its changes. */
  async start(): Promise<void> {
    this.#off = this.#catalog.onChange((change) => {
      if (change.type !== "view") void this.settled().catch(() => undefined);
    });
    // A token's expiry changes no record: looked at once a minute.
    this.#tick = setInterval(() => void this.settled(), 60_000);
    this.#tick.unref();
    await this.settled();
  }

  stop(): void {
    this.#stopped = true;
    this.#off?.();
    if (this.#retry) clearTimeout(this.#retry);
    if (this.#tick) clearInterval(this.#tick);
  }

  /**
   * Resolves once every catalog change seen so far is applied on Kafka, or the attempt failed: a failure is
   * logged and retried (every 5 s) rather than failing the request that changed the catalog, whose record
   * stands.
   */
  settled(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    const run = async (): Promise<void> => {
      try {
        do {
          this.#again = false;
          await this.#reconcile();
        } while (this.#again && !this.#stopped);
      } catch (err) {
        this.#logger.error({ err }, "applying the policies to Kafka's ACLs failed; retrying in 5 s");
        this.#retry ??= setTimeout(() => {
          this.#retry = null;
          void this.settled();
        }, 5000);
        this.#retry.unref();
      } finally {
        this.#running = null;
      }
    };
    this.#running = run();
    return this.#running;
  }

  async #reconcile(): Promise<void> {
    if (this.#stopped) return;
    const live = liveServices(this.#catalog, this.#now());
    // The first run also clears the users of services whose tokens were all revoked before it started.
    if (this.#first) this.#live = new Set(this.#catalog.tokens().map((t) => t.service));
    this.#first = false;
    const desired = this.desired();
    for (const service of this.#live) {
      if (live.has(service)) continue;
      // Its last token is gone: no login, no ACL left behind.
      await this.#access.deleteUser(kafkaUser(service));
      this.#applied.set(service, new Set());
      this.#logger.info({ service }, "kafka principal removed: the service has no live token");
    }
    this.#live = live;
    for (const service of live) {
      const want = new Set(desired.get(service) ?? []);
      const user = kafkaUser(service);
      const have = this.#applied.get(service) ?? (await this.#topicsOf(user));
      for (const topic of want) if (!have.has(topic)) await this.#access.grantTopicRead(user, topic);
      for (const topic of have) if (!want.has(topic)) await this.#access.revokeTopicRead(user, topic);
      this.#applied.set(service, want);
    }
  }

  /** The topics a user reads now, as Kafka describes its ACLs. */
  async #topicsOf(user: string): Promise<Set<string>> {
    if (serviceOfKafkaUser(user) === null) return new Set();
    const acls = await this.#access.aclsOf(user);
    return new Set(
      acls
        .filter((a) => a.resourceType === "TOPIC" && a.patternType === "LITERAL" && a.operation === "READ")
        .map((a) => a.resourceName),
    );
  }
}
