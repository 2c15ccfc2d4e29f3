// Owns the policy records of the control-plane catalog (`policy/<id>` in `_mesh_catalog`, docs/governance.md
// "Ownership and policies"): the owner of a topic grants one reader service access to it, optionally with
// columns masked. One policy per (topic, reader): a second one for the same pair is refused in log order, so
// every process replaying the catalog agrees on which grant holds. A policy binds the owner that granted it:
// it stops counting when its topic changes owner (a source deleted and its names claimed by another
// service), so a grant can never outlive the ownership it was given under. Pure.

/** What a policy does to one column: `hash` (HMAC-SHA256 under the policy's key), `redact` (null), `drop` (absent). */
export type MaskMode = "hash" | "redact" | "drop";

export const MASK_MODES: readonly MaskMode[] = ["hash", "redact", "drop"];

export interface PolicyRecord {
  type: "policy";
  id: string;
  /** The granted topic: a table's `<source>.<schema>.<table>`, or a domain-event topic `<owner>.<aggregate>`. */
  topic: string;
  /** The service that granted it: the topic's owner when it was written. */
  owner: string;
  /** The service granted. */
  reader: string;
  /** Masked columns (top-level fields of a domain event); absent columns are read in clear. */
  columns: Record<string, MaskMode>;
  /**
   * The policy's HMAC key (base64 of 32 bytes) for `hash`: stable for the policy's life, so hashed values of
   * one policy agree on every path and join with each other. Sealed on the topic (api/catalog/sealed-records.ts).
   */
  key: string;
  /** Who wrote it (a service, or `admin`). */
  createdBy: string;
  createdAt: string;
}

export function policyKey(id: string): string {
  return `policy/${id}`;
}

/** Whether the policy masks any column (a grant "in full" masks none: only those get a Kafka ACL). */
export function masksColumns(policy: Pick<PolicyRecord, "columns">): boolean {
  return Object.keys(policy.columns).length > 0;
}

export interface PolicyRejection {
  code: "MESH_CONFLICT";
  message: string;
  details: Record<string, unknown>;
}

/** A policy conflicts with another for the same topic and reader (delete that one first). */
export function policyConflict(
  policies: ReadonlyMap<string, PolicyRecord>,
  record: PolicyRecord,
): PolicyRejection | null {
  for (const p of policies.values()) {
    if (p.id !== record.id && p.topic === record.topic && p.reader === record.reader)
      return {
        code: "MESH_CONFLICT",
        message: `service "${record.reader}" has a policy on ${record.topic} already (${p.id}); delete it first (DELETE /v1/policies/${p.id})`,
        details: { policy: p.id, topic: record.topic, reader: record.reader },
      };
  }
  return null;
}
