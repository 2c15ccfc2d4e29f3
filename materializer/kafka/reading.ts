// One pass of reading a view's inputs, from a set of stored positions: which topic partitions are read, from
// where, up to where the view counts as caught up, and the assembler that holds what was read but not yet
// applied. A view runner replaces its Reading whenever the set of partitions it owns changes (a rebalance
// of a split view), so nothing here ever has to be unwound.
//
// Stored positions (layout O, one per topic partition, in the same LevelDB batch as the state): the value is
// "<next offset>/<marker floor>" (the floor: docs/views.md "Split views"); values written before floors
// existed are "<next offset>" and take the source's stored marker position (layout M) as their floor.
//
// Targets are last stable offsets: inputs are read read_committed, which never reads past them.
import type { KafkaAdmin } from "../../lib/kafka/index.ts";
import type { Db } from "../engine/reader.ts";
import { Layout, TAG } from "../engine/layout.ts";
import { sourceOfTopic, transactionsTopic } from "../../protocol/topics.ts";
import { Assembler, tpKey } from "./assembler.ts";

export interface Stored {
  offset: bigint;
  floor: bigint;
}

export function formatStored(s: Stored): Buffer {
  return Buffer.from(`${s.offset}/${s.floor}`);
}

export function parseStored(buf: Buffer, legacyFloor: bigint): Stored {
  const [offset = "0", floor] = buf.toString().split("/");
  return { offset: BigInt(offset), floor: floor === undefined ? legacyFloor : BigInt(floor) };
}

export class Reading {
  readonly assembler: Assembler;
  /** Topic partitions read (tpKey → [topic, partition]), data and marker topics. */
  readonly tps = new Map<string, [string, number]>();
  /** Next offset to read per topic partition (records below it were pushed or applied). */
  readonly position = new Map<string, bigint>();
  readonly start0 = new Map<string, bigint>();
  readonly target = new Map<string, bigint>();
  /** Data topic partitions' stored positions as of the last apply. */
  readonly stored = new Map<string, Stored>();
  /** Marker topic partitions (tpKey): the offset after the last marker read, in this Reading. */
  readonly markersEnd = new Map<string, bigint>();
  /** The driving topic's partitions read (null: all, the view is not split). */
  readonly owned: number[] | null;
  readonly drivingTopic: string;
  readonly drivingPartitions: number;

  private constructor(
    assembler: Assembler,
    owned: number[] | null,
    drivingTopic: string,
    partitions: number,
  ) {
    this.assembler = assembler;
    this.owned = owned;
    this.drivingTopic = drivingTopic;
    this.drivingPartitions = partitions;
  }

  /**
   * Plans a reading of `dataTopics` (and their sources' marker topics) with the driving topic restricted to
   * `owned` partitions (null: all).
   */
  static async plan(
    admin: KafkaAdmin,
    db: Db,
    layout: Layout,
    dataTopics: string[],
    owned: number[] | null,
  ): Promise<Reading> {
    const drivingTopic = dataTopics[0] as string;
    const existing = new Set(await admin.listTopics());
    const markerTopics = [...new Set(dataTopics.map((t) => transactionsTopic(sourceOfTopic(t))))].filter(
      (t) => existing.has(t),
    );
    const partitions = new Map<string, number>();
    const reads = new Map<string, number[]>();
    const floors = new Map<string, bigint>();
    const legacy = new Map<string, bigint>();
    for (const topic of markerTopics) {
      const m = await db.get(layout.markerOffset(sourceOfTopic(topic)));
      legacy.set(sourceOfTopic(topic), m ? BigInt(m.toString()) : 0n);
    }
    // State written before floors existed: a partition without a stored position had no event in the
    // transactions already applied, so its floor is the source's marker position too. (Since floors exist,
    // every partition read gets a position with the first marker, so a missing one means never read: 0.)
    let floorsStored = false;
    for await (const v of db.values({ ...Layout.range(layout.section(TAG.O)), limit: 1000 }))
      if (v.includes(0x2f)) floorsStored = true;
    const found: [string, number, bigint, bigint][] = [];
    for (const topic of dataTopics) {
      const ends = await admin.offsets(topic, { isolation: "read_committed" });
      partitions.set(topic, ends.size);
      const read = [...ends.keys()]
        .filter((p) => topic !== drivingTopic || owned === null || owned.includes(p))
        .sort((a, b) => a - b);
      reads.set(topic, read);
      for (const partition of read) {
        const e = ends.get(partition)!;
        const buf = await db.get(layout.offset(topic, partition));
        const legacyFloor = legacy.get(sourceOfTopic(topic)) ?? 0n;
        const s = buf
          ? parseStored(buf, legacyFloor)
          : { offset: e.low, floor: floorsStored ? 0n : legacyFloor };
        floors.set(tpKey(topic, partition), s.floor);
        found.push([topic, partition, s.offset, e.high]);
      }
    }
    const assembler = new Assembler({
      partitions,
      markerSources: new Set(markerTopics.map(sourceOfTopic)),
      reads,
      floors,
    });
    const reading = new Reading(assembler, owned, drivingTopic, partitions.get(drivingTopic) ?? 0);
    for (const [topic, partition, from, high] of found) {
      reading.stored.set(tpKey(topic, partition), {
        offset: from,
        floor: floors.get(tpKey(topic, partition)) ?? 0n,
      });
      reading.add(topic, partition, from, high);
    }
    for (const topic of markerTopics) {
      const e = (await admin.offsets(topic, { isolation: "read_committed" })).get(0);
      const low = e?.low ?? 0n;
      const floor = assembler.markerStart(sourceOfTopic(topic)) ?? low;
      reading.add(topic, 0, floor > low ? floor : low, e?.high ?? 0n);
    }
    return reading;
  }

  private add(topic: string, partition: number, from: bigint, high: bigint): void {
    const k = tpKey(topic, partition);
    this.tps.set(k, [topic, partition]);
    this.start0.set(k, from);
    this.position.set(k, from);
    this.target.set(k, high);
  }

  /** Where a reader starts each topic partition read (the driving topic's owned ones only, when split). */
  starts(): { topic: string; partition: number; offset: bigint }[] {
    return [...this.tps].map(([k, [topic, partition]]) => ({
      topic,
      partition,
      offset: this.position.get(k) ?? 0n,
    }));
  }

  /**
   * Every record of a partition below `next` was pushed or is none of the view's (a transaction marker, an
   * aborted or compacted record): the position moves there, so reaching a target never waits for a record.
   */
  passed(k: string, next: bigint): void {
    if (next > (this.position.get(k) ?? 0n)) this.position.set(k, next);
  }

  reached(k: string): boolean {
    return (this.position.get(k) ?? 0n) >= (this.target.get(k) ?? 0n);
  }

  /** Every topic partition other than the split driving topic's is read up to its target. */
  globalCaughtUp(): boolean {
    for (const [k, [topic]] of this.tps)
      if ((this.owned === null || topic !== this.drivingTopic) && !this.reached(k)) return false;
    return true;
  }

  /**
   * A driving partition is caught up when it is read up to its target, the rest is too, and (with markers)
   * its marker floor has passed the marker topic's target: its state then matches the other partitions'.
   */
  partitionCaughtUp(partition: number): boolean {
    const k = tpKey(this.drivingTopic, partition);
    if (!this.tps.has(k) || !this.reached(k) || !this.globalCaughtUp()) return false;
    const markers = tpKey(transactionsTopic(sourceOfTopic(this.drivingTopic)), 0);
    const target = this.target.get(markers);
    if (target === undefined) return true;
    const floor = this.assembler.floor(this.drivingTopic, partition);
    if (floor >= target) return true;
    // An exactly-once source's marker topic ends in a commit marker (a control record): no floor moves past
    // it, so the target is out of reach until the next marker. Once every record below the target is read
    // (globalCaughtUp), a floor past the last marker read has every marker that counts the partition
    // applied; with no marker read at all, none below the target counted it.
    const end = this.markersEnd.get(markers);
    return end === undefined || floor >= end;
  }

  /** A marker at `offset` of marker topic partition `k` was pushed into the assembler. */
  markerRead(k: string, offset: bigint): void {
    this.markersEnd.set(k, offset + 1n);
  }
}
