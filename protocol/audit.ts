// Owns `_mesh_audit`: the append-only log of every control-plane change and every denied access, written by
// every server (lib/http/audit.ts says which answers become entries; audit-writer.ts writes them) and read
// by `GET /v1/audit` (api/audit/). The topic is never compacted (cleanup.policy=delete) and keeps entries for
// a long time; all entries go to partition 0, so its offsets are the log's one order. Records are JSON (any
// Kafka tool can read them): key null, value one AuditRecord. Pure.
import type { AuditedRequest } from "../lib/http/audit.ts";
import type { TopicSpec } from "../lib/kafka/admin.ts";

export const AUDIT_TOPIC = "_mesh_audit";
/** The one partition every entry is written to. */
export const AUDIT_PARTITION = 0;
/** Default retention: 400 days (a year of audits, with a margin). */
export const AUDIT_RETENTION_MS = 400 * 24 * 60 * 60 * 1000;

/** The audit topic beside a catalog topic: `_mesh_catalog` → `_mesh_audit`, `x` → `x_audit` (tests). */
export function auditTopicOf(catalogTopic: string): string {
  return catalogTopic === "_mesh_catalog" ? AUDIT_TOPIC : `${catalogTopic}_audit`;
}

export function auditTopicSpec(topic: string, retentionMs = AUDIT_RETENTION_MS): TopicSpec {
  return {
    topic,
    partitions: 1,
    compact: false,
    configs: { "cleanup.policy": "delete", "retention.ms": String(retentionMs) },
  };
}

/** success: answered below 400; failure: any other error; denied: 401 or 403. */
export type AuditOutcome = "success" | "failure" | "denied";
export const AUDIT_OUTCOMES: readonly AuditOutcome[] = ["success", "failure", "denied"];

/** Who: `anonymous` when the request carried no valid token. */
export type PrincipalKind = "admin" | "internal" | "service" | "anonymous";

export const AUDIT_RECORD_VERSION = 1;

/** One entry of `_mesh_audit` (the value, as JSON). */
export interface AuditRecord {
  v: typeof AUDIT_RECORD_VERSION;
  /** ISO-8601, when the answer was sent. */
  at: string;
  /** The server that answered: api, registry, materializer. */
  server: string;
  /** The principal's id (a service token's id, `admin`, `internal:<role>`); null: anonymous. Never a token. */
  principal: string | null;
  kind: PrincipalKind;
  service: string | null;
  ip: string | null;
  method: string;
  /** The route template, `unmatched` for a path no route serves. */
  route: string;
  resource: string | null;
  action: string;
  status: number;
  code: string | null;
  outcome: AuditOutcome;
  /** A denial's missing scope, refusing policy, reason. */
  scope: string | null;
  policy: string | null;
  reason: string | null;
  requestId: string;
}

export function outcomeOf(status: number): AuditOutcome {
  if (status === 401 || status === 403) return "denied";
  return status >= 400 ? "failure" : "success";
}

export function auditRecord(entry: AuditedRequest): AuditRecord {
  const p = entry.principal;
  const kind: PrincipalKind = !p ? "anonymous" : p.admin ? "admin" : p.internal ? "internal" : "service";
  return {
    v: AUDIT_RECORD_VERSION,
    at: new Date(entry.at).toISOString(),
    server: entry.server,
    principal: p?.id ?? null,
    kind,
    service: p?.service ?? null,
    ip: entry.ip,
    method: entry.method,
    route: entry.route,
    resource: entry.resource,
    action: entry.action,
    status: entry.status,
    code: entry.code,
    outcome: outcomeOf(entry.status),
    scope: entry.scope,
    policy: entry.policy,
    reason: entry.reason,
    requestId: entry.requestId,
  };
}

export function encodeAuditRecord(record: AuditRecord): Buffer {
  return Buffer.from(JSON.stringify(record), "utf8");
}

/** The record in a value; null for a value that is not one (a newer version is read as far as it fits). */
export function decodeAuditRecord(value: Buffer | null): AuditRecord | null {
  if (!value) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString("utf8"));
  } catch {
    return null;
  }
  const r = parsed as Partial<AuditRecord> | null;
  if (
    !r ||
    typeof r.at !== "string" ||
    typeof r.method !== "string" ||
    typeof r.route !== "string" ||
    typeof r.action !== "string" ||
    typeof r.status !== "number" ||
    typeof r.requestId !== "string"
  )
    return null;
  return r as AuditRecord;
}

/** What GET /v1/audit filters on; every given field must match. */
export interface AuditFilter {
  server?: string;
  principal?: string;
  service?: string;
  outcome?: AuditOutcome;
  /** The action itself, or a prefix of whole parts: `sources` matches `sources.create` and `sources.pause`. */
  action?: string;
  resource?: string;
  /** ms since the epoch, inclusive. */
  since?: number;
  /** ms since the epoch, exclusive. */
  until?: number;
}

export function matchesAudit(record: AuditRecord, filter: AuditFilter): boolean {
  if (filter.server !== undefined && record.server !== filter.server) return false;
  if (filter.principal !== undefined && record.principal !== filter.principal) return false;
  if (filter.service !== undefined && record.service !== filter.service) return false;
  if (filter.outcome !== undefined && record.outcome !== filter.outcome) return false;
  if (filter.resource !== undefined && record.resource !== filter.resource) return false;
  if (
    filter.action !== undefined &&
    record.action !== filter.action &&
    !record.action.startsWith(`${filter.action}.`)
  )
    return false;
  const at = Date.parse(record.at);
  if (filter.since !== undefined && !(at >= filter.since)) return false;
  if (filter.until !== undefined && !(at < filter.until)) return false;
  return true;
}
