// Parked records of one view (layout P): records that could not be applied, per input key, in order. A key
// with a parked record parks every later record of it too, so its changes never apply out of order; the
// operator retries or skips them (ViewRunner.resolveParked).
import { Layout, pack, unpack } from "../engine/layout.ts";
import type { Db } from "../engine/reader.ts";
import type { BatchOp } from "../engine/view-state.ts";
import type { InEvent } from "./decode.ts";

export interface ParkedRecord {
  topic: string;
  partition: number;
  offset: string;
  keyId: string;
  reason: string;
  key: Buffer | null;
  value: Buffer | null;
}

const id = (topic: string, keyId: string): string => `${topic}\u0000${keyId}`;

export class ParkedKeys {
  private readonly byKey = new Map<string, ParkedRecord[]>();
  private readonly layout: Layout;

  constructor(layout: Layout) {
    this.layout = layout;
  }

  async load(db: Db): Promise<void> {
    this.byKey.clear();
    for await (const value of db.values(Layout.range(this.layout.section(0x50)))) this.add(unpack(value));
  }

  private add(rec: ParkedRecord): void {
    const list = this.byKey.get(id(rec.topic, rec.keyId)) ?? [];
    list.push(rec);
    this.byKey.set(id(rec.topic, rec.keyId), list);
  }

  /** Whether an earlier record of this event's key is parked (keyless events are never held back). */
  blocks(e: InEvent): boolean {
    return e.keyId !== "" && this.byKey.has(id(e.topic, e.keyId));
  }

  /** Parks the event's record: its put goes into `ops` (the same batch as the rest). */
  park(e: InEvent, reason: string, ops: BatchOp[]): ParkedRecord {
    const rec: ParkedRecord = {
      topic: e.topic,
      partition: e.partition,
      offset: e.offset.toString(),
      keyId: e.keyId,
      reason,
      key: e.raw.key,
      value: e.raw.value,
    };
    ops.push({ type: "put", key: this.layout.parked(e.topic, e.partition, rec.offset), value: pack(rec) });
    this.add(rec);
    return rec;
  }

  /** A key's parked records, oldest first (a copy). */
  of(topic: string, keyId: string): ParkedRecord[] {
    return [...(this.byKey.get(id(topic, keyId)) ?? [])].sort(
      (a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)),
    );
  }

  /**
   * Drops resolved records of a key. Only those: a record parked while the caller was deciding (it awaited
   * decoding) stays.
   */
  remove(topic: string, keyId: string, resolved: readonly ParkedRecord[]): void {
    const list = this.byKey.get(id(topic, keyId));
    if (!list) return;
    const gone = new Set(resolved.map((r) => `${r.partition}:${r.offset}`));
    const still = list.filter((r) => !gone.has(`${r.partition}:${r.offset}`));
    if (still.length === 0) this.byKey.delete(id(topic, keyId));
    else this.byKey.set(id(topic, keyId), still);
  }

  all(): ParkedRecord[] {
    return [...this.byKey.values()].flat();
  }
}
