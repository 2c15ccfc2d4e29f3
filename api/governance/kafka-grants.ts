// Owns what Kafka access the catalog's grants imply (docs/governance.md "Kafka credentials and ACLs"): each
// service has one Kafka principal, `User:<KAFKA_USER_PREFIX><service>`, with READ on exactly the raw topics it
// may read in full: the topics its own sources and outboxes write (their table topics, their transaction
// markers, its domain-event topics), and those another owner granted it by a policy without masks. A masked
// grant gives no ACL on the raw topic (the reader uses SSE, where the masks apply). Pure: the reconciliation
// (kafka-acls.ts) turns the difference between this and what Kafka holds into grants and revocations.
import type { CatalogState } from "../../protocol/catalog.ts";
import { masksColumns } from "../../protocol/policies.ts";
import { qualifiedTableTopic, transactionsTopic } from "../../protocol/topics.ts";
import type { Grants } from "./decide.ts";

/** Kafka user names of services: `svc-<service>` (a service name never holds a dot, so never a role's). */
export const KAFKA_USER_PREFIX = "svc-";

export function kafkaUser(service: string): string {
  return `${KAFKA_USER_PREFIX}${service}`;
}

/** The service of a Kafka user name this module made; null for any other principal. */
export function serviceOfKafkaUser(user: string): string | null {
  return user.startsWith(KAFKA_USER_PREFIX) ? user.slice(KAFKA_USER_PREFIX.length) : null;
}

/** service → the topics its Kafka principal reads (sorted), for every service that owns or is granted one. */
export function kafkaReadGrants(
  state: Pick<CatalogState, "sources" | "events" | "policies">,
  grants: Grants,
): Map<string, string[]> {
  const out = new Map<string, Set<string>>();
  const add = (service: string, topic: string): void => {
    let topics = out.get(service);
    if (!topics) out.set(service, (topics = new Set()));
    topics.add(topic);
  };
  for (const s of state.sources.values()) {
    for (const t of s.tables) add(s.owner, qualifiedTableTopic(s.name, t));
    add(s.owner, transactionsTopic(s.name));
  }
  for (const e of state.events.values()) add(e.owner, e.topic);
  for (const p of state.policies.values()) {
    // Only a grant of the topic's current owner counts, and only one without masks reaches the raw topic.
    if (masksColumns(p) || grants.ownerOf(p.topic) !== p.owner) continue;
    add(p.reader, p.topic);
  }
  return new Map([...out].map(([service, topics]) => [service, [...topics].sort()]));
}
