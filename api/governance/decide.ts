// Owns the one access decision every data path applies (docs/governance.md "Ownership and policies"): may
// this principal read this topic, or this view, and with which columns masked. Topics: the admin and internal
// principals read everything in clear, a topic's owner reads it in clear, another service reads it only under
// a policy its owner granted (with that policy's masks), and nobody else. Views: readable by a service only if
// it may read every base topic the view reads (at every stage of views over views), the owners' masks applied
// to the view's columns traced back to them (lineage.ts): a column shown as it is keeps its mask (`hash` with
// that policy's key, `redact`), a column computed from a masked one is redacted (a hash of an expression the
// view's author chose would leak what the expression tests), and a dropped column shown, or any masked column
// the view filters, joins, keys or groups by, makes the view unreadable. Without a lineage (the view's plan not
// known here), a masked grant on any base topic makes the view unreadable. Pure.
import type { PolicyRecord } from "../../protocol/policies.ts";
import type { BaseColumn, ViewLineage } from "./lineage.ts";
import { NO_MASKS, policyMasks, type ColumnMasks, type Mask } from "./masking.ts";

/** The parts of lib/http's Principal a decision reads. */
export interface Reader {
  service: string | null;
  admin: boolean;
  internal: boolean;
}

/** What the catalog knows about ownership and grants. */
export interface Grants {
  /** The service owning a topic; null when no source or event topic of the catalog has it. */
  ownerOf(topic: string): string | null;
  /** The reader's policy on a topic, granted by its current owner (a grant of a former owner does not count). */
  policyFor(topic: string, reader: string): PolicyRecord | undefined;
}

export interface Denial {
  allowed: false;
  message: string;
  /** MESH_FORBIDDEN's details: `policy` (the policy refusing, or null: none grants), `reason`, and what. */
  details: { policy: string | null; reason: string } & Record<string, unknown>;
}

export type TopicDecision =
  | { allowed: true; via: "admin" | "owner" | "policy"; policy: PolicyRecord | null; masks: ColumnMasks }
  | Denial;

export type ViewDecision = { allowed: true; masks: ColumnMasks } | Denial;

function who(reader: Reader): string {
  return reader.service ?? "(no service)";
}

export function decideTopic(reader: Reader, topic: string, grants: Grants): TopicDecision {
  if (reader.admin || reader.internal) return { allowed: true, via: "admin", policy: null, masks: NO_MASKS };
  const owner = grants.ownerOf(topic);
  if (owner !== null && reader.service === owner)
    return { allowed: true, via: "owner", policy: null, masks: NO_MASKS };
  const policy = reader.service === null ? undefined : grants.policyFor(topic, reader.service);
  if (owner !== null && policy) return { allowed: true, via: "policy", policy, masks: policyMasks(policy) };
  return {
    allowed: false,
    message:
      owner === null
        ? `topic ${topic} has no owner in the catalog; only the admin reads it`
        : `service "${who(reader)}" has no policy on ${topic}; its owner "${owner}" grants one with POST /v1/policies`,
    details: {
      policy: null,
      reason: owner === null ? "no owner" : "no policy",
      topic,
      owner,
      service: reader.service,
    },
  };
}

function strictest(masks: Mask[]): Mask | undefined {
  return masks.find((m) => m.mode === "drop") ?? masks.find((m) => m.mode === "redact") ?? masks[0];
}

export function decideView(
  reader: Reader,
  view: string,
  input: { lineage: ViewLineage } | { topics: readonly string[] },
  grants: Grants,
): ViewDecision {
  if (reader.admin || reader.internal) return { allowed: true, masks: NO_MASKS };
  const lineage = "lineage" in input ? input.lineage : null;
  const topics = "lineage" in input ? input.lineage.topics : input.topics;
  const byTopic = new Map<string, { masks: ColumnMasks; policy: string | null }>();
  for (const topic of topics) {
    const d = decideTopic(reader, topic, grants);
    if (!d.allowed)
      return {
        allowed: false,
        message: `view ${view} reads ${topic}: ${d.message}`,
        details: { ...d.details, view },
      };
    byTopic.set(topic, { masks: d.masks, policy: d.policy?.id ?? null });
  }
  const denied = (reason: string, message: string, at: BaseColumn, mask: Mask): Denial => ({
    allowed: false,
    message: `view ${view}: ${message}`,
    details: {
      policy: byTopic.get(at.topic)?.policy ?? null,
      reason,
      view,
      topic: at.topic,
      column: at.column,
      mode: mask.mode,
      service: reader.service,
    },
  });
  if (!lineage) {
    for (const [topic, { masks }] of byTopic) {
      const [column, mask] = [...masks][0] ?? [];
      if (column !== undefined && mask)
        return denied(
          "masked column not traced",
          `service "${who(reader)}" reads ${topic} with masked columns, and the view's columns cannot be traced to them here; ask the owner for a grant without masks`,
          { topic, column },
          mask,
        );
    }
    return { allowed: true, masks: NO_MASKS };
  }
  const maskOf = (c: BaseColumn): Mask | undefined => byTopic.get(c.topic)?.masks.get(c.column);
  for (const c of lineage.constraining) {
    const mask = maskOf(c);
    if (mask)
      return denied(
        "masked column constrains the view",
        `${c.topic} column ${c.column} is masked (${mask.mode}) for service "${who(reader)}", and the view filters, joins, keys or groups by it`,
        c,
        mask,
      );
  }
  const out = new Map<string, Mask>();
  for (const [name, origin] of lineage.outputs) {
    const found = origin.columns.flatMap((c) => {
      const m = maskOf(c);
      return m ? [{ c, m }] : [];
    });
    const mask = strictest(found.map((f) => f.m));
    if (!mask) continue;
    const at = found.find((f) => f.m === mask)?.c ?? { topic: "", column: name };
    if (mask.mode === "drop")
      return denied(
        "dropped column shown",
        `its column ${name} comes from ${at.topic} column ${at.column}, which the owner's policy drops for service "${who(reader)}"`,
        at,
        mask,
      );
    out.set(name, origin.computed ? { mode: "redact" } : mask);
  }
  return { allowed: true, masks: out };
}
