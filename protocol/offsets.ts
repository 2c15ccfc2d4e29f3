// Owns the keys and values of `_mesh_offsets` (docs/contracts.md "Offsets"): connector state that must
// survive a restart and is not the source's own offset. Compacted, 1 partition, JSON values.
//
//   <source>/<kind>               {snapshotDone: boolean}          the initial snapshot finished
//   <source>/<kind>-incremental   {tables: [...], lastKey: [...]}  a re-snapshot's progress ({tables: []}: done)
//
// `<kind>` is the connector kind (`postgres`, `mysql`). Source names hold no "/" (topics.ts
// `checkSourceName`), so the first "/" splits a key. Pure.

export interface OffsetsKey {
  source: string;
  /** `<kind>` or `<kind>-incremental`. */
  purpose: string;
}

export function offsetsKey(source: string, purpose: string): string {
  return `${source}/${purpose}`;
}

/** `<source>/<kind>`: the connector's snapshot state. */
export function snapshotStateKey(source: string, kind: string): string {
  return offsetsKey(source, kind);
}

/** `<source>/<kind>-incremental`: the progress of an incremental re-snapshot. */
export function incrementalKey(source: string, kind: string): string {
  return offsetsKey(source, `${kind}-incremental`);
}

export function parseOffsetsKey(key: string): OffsetsKey | null {
  const slash = key.indexOf("/");
  if (slash <= 0 || slash === key.length - 1) return null;
  return { source: key.slice(0, slash), purpose: key.slice(slash + 1) };
}

/** The source whose re-snapshot progress a key holds, or null for any other key. */
export function incrementalSource(key: string): string | null {
  const parsed = parseOffsetsKey(key);
  return parsed && /^[a-z]+-incremental$/.test(parsed.purpose) ? parsed.source : null;
}

export interface SnapshotState {
  snapshotDone?: boolean;
}

/** The API reads `tables` to show a re-snapshot's progress (GET /v1/sources/{name}, `status.resnapshot`). */
export interface IncrementalState {
  /** Tables still to do, the first being the current one. */
  tables: string[];
  /** Text values of the last key emitted in the current table. */
  lastKey: (string | null)[] | null;
}
