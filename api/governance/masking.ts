// Owns what a mask does to a value (docs/governance.md "Ownership and policies"): `hash` is HMAC-SHA256 under
// the policy's key, hex, over the value's text (a string as it is, anything else its JSON), so equal values
// hash equally on every path a policy serves (rows, lookups, changes, SSE) and join with each other; `redact`
// is null; `drop` removes the field. A null value stays null under `hash` (the column's nullness is not
// hidden; `redact` or `drop` hide it). Pure.
import { createHmac } from "node:crypto";
import type { MaskMode } from "../../protocol/policies.ts";

/** What happens to one column: `hash` carries its policy's HMAC key (raw bytes). */
export type Mask = { mode: "hash"; key: Buffer } | { mode: Exclude<MaskMode, "hash"> };

/** How the columns of one object are masked, by column name (absent: served as they are). */
export type ColumnMasks = ReadonlyMap<string, Mask>;

export const NO_MASKS: ColumnMasks = new Map();

/** A policy's masks: every column under its mode, hashed with the policy's key. */
export function policyMasks(policy: { columns: Record<string, MaskMode>; key: string }): ColumnMasks {
  const key = Buffer.from(policy.key, "base64");
  return new Map(
    Object.entries(policy.columns).map(([column, mode]): [string, Mask] => [
      column,
      mode === "hash" ? { mode, key } : { mode },
    ]),
  );
}

export function hashValue(key: Buffer, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return createHmac("sha256", key).update(text, "utf8").digest("hex");
}

/** The object with its masked fields hashed, nulled or removed (a new object; the input is not changed). */
export function maskObject(
  masks: ColumnMasks,
  row: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  if (masks.size === 0) return { ...row };
  const out: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) {
    const mask = masks.get(column);
    if (mask === undefined) out[column] = value;
    else if (mask.mode === "hash") out[column] = hashValue(mask.key, value);
    else if (mask.mode === "redact") out[column] = null;
  }
  return out;
}

/** maskObject for a value that may be an object (a row, a key record, an event payload) or anything else. */
export function maskIfObject(masks: ColumnMasks, value: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  return maskObject(masks, value as Record<string, unknown>);
}

/**
 * A change topic's decoded record under masks: the key record's and the envelope's `before`/`after` rows
 * masked; a domain event's payload (no `before`/`after`) masked as one object.
 */
export function maskTopicValue(masks: ColumnMasks, value: unknown): unknown {
  if (masks.size === 0 || value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const v = value as Record<string, unknown>;
  if (!("before" in v) && !("after" in v)) return maskObject(masks, v);
  return { ...v, before: maskIfObject(masks, v.before), after: maskIfObject(masks, v.after) };
}
