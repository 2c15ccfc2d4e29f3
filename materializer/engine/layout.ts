// The LevelDB key layout of one view. Every key starts with the view's prefix (so dropping a view is one
// range delete) and a one-byte section tag; the rest is order-preserving (keys/encoding.ts):
//   T rel pk                  → input row (only the columns the view needs) and the partition it came from
//   J rel set joinvals pk     → ""  secondary index of an input relation on join columns
//   R viewkey                 → view row {k: key values, v: output record}
//   X index values viewkey    → ""  declared secondary index on view columns
//   O topic partition         → next offset to consume (written in the same batch as the state)
//   M source                  → next offset of `<source>.transactions`
//   M source "end"            → offset after the last END marker applied (consistent split reads)
//   C seq                     → change-feed entry
//   P topic partition offset  → parked record (undecodable or unexpected), with the reason
//   S                         → meta {seq, rows}
//   G groupkey                → an aggregate view's group state (count and each aggregate's, aggregate-state.ts)
//   N groupkey slot value row → ""-like: one entry per input row of a MIN/MAX argument (its value), the
//                               per-group ordered multiset MIN and MAX are read from when an extreme goes
//   @ stage                   → a stage compiled into the view (plan.ts stages): its own sections, nested
// A view's stages live under its prefix, so dropping the view drops them.
import { encodeKey } from "../keys/encoding.ts";
import { decodeValue, encodeValue } from "./codec.ts";

export const TAG = {
  T: 0x54,
  J: 0x4a,
  R: 0x52,
  X: 0x58,
  O: 0x4f,
  M: 0x4d,
  C: 0x43,
  P: 0x50,
  S: 0x53,
  G: 0x47,
  N: 0x4e,
  STAGE: 0x40,
} as const;

export class Layout {
  readonly prefix: Buffer;

  /** `within`: the layout of the view a stage belongs to (the stage's keys nest under its prefix). */
  constructor(viewName: string, within?: Layout) {
    // A view namespace: "v" + the encoded name; the catalog of views lives under "c".
    this.prefix = within
      ? Buffer.concat([within.prefix, Buffer.from([TAG.STAGE]), encodeKey([viewName])])
      : Buffer.concat([Buffer.from("v"), encodeKey([viewName])]);
  }

  section(tag: number, ...parts: (Buffer | number)[]): Buffer {
    const bytes = parts.map((p) => (typeof p === "number" ? Buffer.from([p]) : p));
    return Buffer.concat([this.prefix, Buffer.from([tag]), ...bytes]);
  }

  // Hot paths (one call per row and per lookup) concatenate onto precomputed prefixes.
  private readonly tablePrefixes: Buffer[] = [];
  private viewPrefix: Buffer | null = null;

  tableRow(rel: number, pk: Buffer): Buffer {
    const prefix = (this.tablePrefixes[rel] ??= this.section(TAG.T, rel));
    return Buffer.concat([prefix, pk], prefix.length + pk.length);
  }

  private readonly joinPrefixes = new Map<number, Buffer>();
  private readonly indexPrefixes: Buffer[] = [];
  private changePrefix: Buffer | null = null;

  joinIndex(rel: number, set: number, vals: Buffer, pk?: Buffer): Buffer {
    const id = rel * 256 + set;
    let prefix = this.joinPrefixes.get(id);
    if (!prefix) this.joinPrefixes.set(id, (prefix = this.section(TAG.J, rel, set)));
    return join3(prefix, vals, pk);
  }

  viewRow(viewKey: Buffer): Buffer {
    const prefix = (this.viewPrefix ??= this.section(TAG.R));
    return Buffer.concat([prefix, viewKey], prefix.length + viewKey.length);
  }

  viewIndex(index: number, vals: Buffer, viewKey?: Buffer): Buffer {
    return join3((this.indexPrefixes[index] ??= this.section(TAG.X, index)), vals, viewKey);
  }

  offset(topic: string, partition: number): Buffer {
    return this.section(TAG.O, encodeKey([topic, partition]));
  }

  markerOffset(source: string): Buffer {
    return this.section(TAG.M, encodeKey([source]));
  }

  /** Offset after the last END marker of `source` applied: the view's position in its commit order. */
  markerEnd(source: string): Buffer {
    return this.section(TAG.M, encodeKey([source, "end"]));
  }

  change(seq: number): Buffer {
    // One allocation per feed entry (seq is a safe integer: high and low 32-bit halves, big-endian).
    const prefix = (this.changePrefix ??= this.section(TAG.C));
    const b = Buffer.allocUnsafe(prefix.length + 8);
    prefix.copy(b, 0);
    b.writeUInt32BE(Math.floor(seq / 0x100000000), prefix.length);
    b.writeUInt32BE(seq >>> 0, prefix.length + 4);
    return b;
  }

  parked(topic: string, partition: number, offset: string): Buffer {
    return this.section(TAG.P, encodeKey([topic, partition, BigInt(offset)]));
  }

  meta(): Buffer {
    return this.section(TAG.S);
  }

  groupState(groupKey: Buffer): Buffer {
    return this.section(TAG.G, groupKey);
  }

  /** A MIN/MAX multiset entry; without `value`, the prefix of a group's slot (its range). */
  extreme(groupKey: Buffer, slot: number, value?: Buffer, rowKey?: Buffer): Buffer {
    return this.section(TAG.N, groupKey, slot, ...(value ? [value] : []), ...(rowKey ? [rowKey] : []));
  }

  /** [gte, lt) bounds of everything under a key prefix. */
  static range(prefix: Buffer): { gte: Buffer; lt: Buffer } {
    return { gte: prefix, lt: Buffer.concat([prefix, Buffer.from([0xff, 0xff, 0xff])]) };
  }
}

/** prefix + a + b (b optional) in one allocation: index keys are built per row and per lookup. */
function join3(prefix: Buffer, a: Buffer, b?: Buffer): Buffer {
  const out = Buffer.allocUnsafe(prefix.length + a.length + (b ? b.length : 0));
  prefix.copy(out, 0);
  a.copy(out, prefix.length);
  if (b) b.copy(out, prefix.length + a.length);
  return out;
}

/** Values use engine/codec.ts: bigint, Buffer, null and nested records survive exactly. */
export function pack(value: unknown): Buffer {
  return encodeValue(value);
}

export function unpack<T>(buf: Buffer | Uint8Array): T {
  return decodeValue(buf) as T;
}
