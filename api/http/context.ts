// What every route gets: the catalog, the reconciler and the runtimes (passed in, never imported).
import type { AuditSink } from "../../lib/http/audit.ts";
import type { LocalAnswers } from "../../lib/http/member-answers.ts";
import type { AuditLogReader } from "../audit/audit-log.ts";
import type { Catalog } from "../catalog/catalog.ts";
import type { Access } from "../governance/access.ts";
import type { KafkaLogins } from "./routes/kafka-credentials.ts";
import type { EventRuntime } from "../events/event-runtime.ts";
import type { Reconciler } from "../control/reconciler.ts";
import type { ObserveRuntime } from "../lineage/observe.ts";
import type { ReaderBoard } from "../lineage/readers.ts";
import type { HealthRuntime, SourceRuntime, TopicRuntime, ViewRuntime } from "../runtime.ts";

export interface ApiContext {
  catalog: Catalog;
  reconciler: Reconciler;
  sources: SourceRuntime;
  views: ViewRuntime;
  topics: TopicRuntime;
  health: HealthRuntime;
  /** Where each role listens, for GET /v1/status (and `mesh status --json`). */
  status: () => Record<string, unknown>;
  /**
   * An embedded view engine in a split view's group (`mesh up --materializer-group`): this process answers
   * the other members' forwarded row queries from its own partitions (lib/http member-answers.ts).
   */
  localAnswers?: LocalAnswers;
  /**
   * Kafka and the registry for lineage (consumer groups), trace, the view SQL check and schema versions
   * (api/lineage/observe.ts); without it those routes answer 503 and lineage has no consumer groups.
   */
  observe?: ObserveRuntime;
  /** Who reads what through this process (default: a new board). */
  readers?: ReaderBoard;
  /** Domain-event topics, their event types and parked events (/v1/events; without it those routes are absent). */
  events?: EventRuntime;
  /**
   * Who may read what (api/governance/access.ts): every data path decides through it. Default: one over the
   * catalog without view plans (a masked grant then makes every view over its topic unreadable).
   */
  access?: Access;
  /**
   * Kafka logins of services and the policy → ACL reconciliation (api/governance/kafka-acls.ts); without it
   * POST /v1/tokens/{id}/kafka-credentials is absent and no ACL is kept.
   */
  kafkaLogins?: KafkaLogins;
  /**
   * The audit log: `sink` takes an entry per change and per denial of this server (lib/http/audit.ts), `log`
   * answers GET /v1/audit (without it that route is absent and nothing is audited).
   */
  audit?: { sink: AuditSink; log: AuditLogReader };
}
