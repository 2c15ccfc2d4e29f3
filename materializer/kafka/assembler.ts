// Reassembles source transactions from Kafka: events arrive per topic partition, transaction markers on
// `<source>.transactions`. A transaction is released only when its END marker is in and, for every topic
// partition this view accounts for, all the events the marker counts there are at that partition's head.
// Transactions of a source are released in marker (commit) order, and a partition is only ever consumed from
// its head, so offsets advance without gaps and a released unit can carry them. Events without a transaction
// (snapshot reads, tombstones, sources without markers) are released as soon as they reach their
// partition's head. Pure: no Kafka, no clock.
//
// Per-partition accounting (docs/views.md "Split views"): the assembler accounts only for the topic
// partitions it is told it reads, and each has a marker floor, the `<source>.transactions` offset from which
// its events are not yet applied. A marker at offset x counts partition tp only if x >= floor(tp); applying
// (or passing) the marker moves the floors it counted to x + 1. So a member that gains a driving partition
// with an old floor replays that partition's transactions alone (each still whole) until its floor reaches
// the others'. END markers count events per partition; markers from older connectors count per topic only,
// which is enough only when every partition of the topic is counted.
import { sourceOfTopic } from "../../protocol/topics.ts";
import { checkProtocolVersion } from "../../protocol/version.ts";
import type { InEvent, Marker } from "./decode.ts";

export interface Unit {
  events: InEvent[];
  /** Next marker offset per source, when this unit consumed markers. */
  markers: Map<string, bigint>;
  /** New marker floors of the topic partitions (tpKey) the consumed markers counted. */
  floors: Map<string, bigint>;
  /**
   * Per source, the offset after the END marker this unit applies: the view's position in that source's
   * commit order (a BEGIN changes nothing, so units of BEGIN markers only have none). Consistent reads across
   * split-view members compare it (view-apply.ts).
   */
  ends: Map<string, bigint>;
}

export interface AssemblerOptions {
  /** Partition count of every data topic. */
  partitions: Map<string, number>;
  /** Sources whose `<source>.transactions` topic exists: their transactional events wait for markers. */
  markerSources: Set<string>;
  /** Partitions read per data topic (default: all of them). */
  reads?: Map<string, number[]>;
  /** Marker floor per topic partition (tpKey); default 0. */
  floors?: Map<string, bigint>;
}

export const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class Assembler {
  private readonly queues = new Map<string, InEvent[]>();
  private readonly markers = new Map<string, Marker[]>();
  private readonly options: AssemblerOptions;
  private readonly reads: Map<string, number[]>;
  private readonly floors: Map<string, bigint>;

  constructor(options: AssemblerOptions) {
    this.options = options;
    this.reads =
      options.reads ??
      new Map([...options.partitions].map(([t, n]) => [t, Array.from({ length: n }, (_, p) => p)]));
    this.floors = new Map(options.floors ?? []);
  }

  /** The marker floor of a topic partition (the next marker offset that counts it). */
  floor(topic: string, partition: number): bigint {
    return this.floors.get(tpKey(topic, partition)) ?? 0n;
  }

  /** Where to read a source's markers from: the lowest floor of the partitions accounted for. */
  markerStart(source: string): bigint | null {
    let min: bigint | null = null;
    for (const [topic, parts] of this.reads) {
      if (sourceOfTopic(topic) !== source) continue;
      for (const p of parts) {
        const f = this.floor(topic, p);
        if (min === null || f < min) min = f;
      }
    }
    return min;
  }

  pushEvent(e: InEvent): void {
    const k = tpKey(e.topic, e.partition);
    let q = this.queues.get(k);
    if (!q) this.queues.set(k, (q = []));
    q.push(e);
  }

  pushMarker(m: Marker): void {
    let q = this.markers.get(m.source);
    if (!q) this.markers.set(m.source, (q = []));
    q.push(m);
  }

  /** Events and markers received but not yet released. */
  get buffered(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    for (const q of this.markers.values()) n += q.length;
    return n;
  }

  /** The receive order's oldest buffered event (for lag). */
  oldestBuffered(): InEvent | null {
    let oldest: InEvent | null = null;
    for (const q of this.queues.values()) {
      const h = q[0];
      if (h && h.tsMs !== null && (!oldest || (oldest.tsMs ?? 0) > h.tsMs)) oldest = h;
    }
    return oldest;
  }

  private waitsForMarker(e: InEvent): boolean {
    return e.txId !== null && e.source !== null && this.options.markerSources.has(e.source);
  }

  /** Releases everything that can be released, in apply order. Throws MESH_CONNECTOR_OUTDATED (see top). */
  drain(): Unit[] {
    const units: Unit[] = [];
    for (let progress = true; progress;) {
      progress = false;
      const free = this.releaseFree();
      if (free.length > 0) {
        units.push({ events: free, markers: new Map(), floors: new Map(), ends: new Map() });
        progress = true;
      }
      for (const source of this.markers.keys()) {
        const unit = this.releaseTransaction(source);
        if (unit) {
          units.push(unit);
          progress = true;
        }
      }
    }
    return units;
  }

  /** Pops non-transactional events (and parked ones without a transaction) from every partition head. */
  private releaseFree(): InEvent[] {
    const out: InEvent[] = [];
    for (const q of this.queues.values()) {
      while (q.length > 0 && !this.waitsForMarker(q[0] as InEvent) && !this.heldForTransaction(q))
        out.push(q.shift() as InEvent);
    }
    return out;
  }

  /**
   * A head parked without a transaction id (its value could not be decoded) that a transaction's events
   * follow may be that transaction's first event: it waits, and head() folds it into the transaction.
   */
  private heldForTransaction(q: InEvent[]): boolean {
    if (!lostTransaction(q[0] as InEvent)) return false;
    const next = q.find((e) => !lostTransaction(e) && !isTombstone(e));
    return next !== undefined && this.waitsForMarker(next);
  }

  /** The partitions of `source`'s topics that a marker at `offset` counts (read, and at or above their floor). */
  private counted(source: string, offset: bigint): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const [topic, parts] of this.reads) {
      if (sourceOfTopic(topic) !== source) continue;
      out.set(
        topic,
        parts.filter((p) => offset >= this.floor(topic, p)),
      );
    }
    return out;
  }

  private releaseTransaction(source: string): Unit | null {
    const q = this.markers.get(source) ?? [];
    const consumed: Marker[] = [];
    const floors = new Map<string, bigint>();
    const pass = (m: Marker): void => {
      for (const [topic, parts] of this.counted(source, m.offset))
        for (const p of parts) floors.set(tpKey(topic, p), m.offset + 1n);
      consumed.push(m);
    };
    // BEGIN markers carry nothing we need: the END marker has the counts.
    while (q[0]?.status === "BEGIN") pass(q.shift() as Marker);
    const end = q[0];
    let events: InEvent[] = [];
    const ends = new Map<string, bigint>();
    if (end) {
      const taken = this.take(end, this.counted(source, end.offset));
      if (taken) {
        events = taken;
        ends.set(source, end.offset + 1n);
        pass(q.shift() as Marker);
      }
    }
    if (consumed.length === 0) return null;
    for (const [k, f] of floors) this.floors.set(k, f);
    const last = consumed[consumed.length - 1] as Marker;
    return { events, markers: new Map([[source, last.offset + 1n]]), floors, ends };
  }

  /** If all of the END marker's events in the counted partitions are at their heads, pops and returns them. */
  private take(end: Marker, counted: Map<string, number[]>): InEvent[] | null {
    const prefixes: [InEvent[], number][] = [];
    for (const [topic, expected] of end.counts ?? new Map<string, number>()) {
      const parts = counted.get(topic);
      if (!parts || parts.length === 0) continue; // a topic (or partitions) this view does not account for
      const total = this.options.partitions.get(topic) ?? 0;
      // Reading some partitions only: the marker must count per partition, as writers do since version 2.
      if (parts.length < total)
        checkProtocolVersion(end.version, {
          what: `transaction ${end.id} of source ${end.source}`,
          details: { source: end.source, topic, transaction: end.id },
          needs: {
            feature: "partitionCounts",
            because:
              `counts events of ${topic} per topic only, but this materializer accounts for ${parts.length} ` +
              `of its ${total} partitions`,
            otherwise: "run the view unsplit",
          },
        });
      const perPartition = end.partitionCounts?.get(topic);
      const heads = parts.map((p) => ({ p, ...this.head(topic, p, end.id) }));
      if (perPartition) {
        // Complete per partition: every counted event is here, or the partition has moved past the
        // transaction (an event the source counted could not be decoded and was parked without its id).
        for (const h of heads) if (h.orders.size < (perPartition.get(h.p) ?? 0) && !h.past) return null;
      } else {
        const orders = new Set<string>();
        const copies = new Map<string, number>();
        for (const h of heads) {
          for (const o of h.orders) orders.add(o);
          for (const o of h.truncates) copies.set(o, (copies.get(o) ?? 0) + 1);
        }
        // Copies of a truncate (one per partition) count once and must all be here.
        const truncatesWhole = [...copies.values()].every((c) => c === total);
        if (!((orders.size >= expected && truncatesWhole) || heads.every((h) => h.past))) return null;
      }
      for (const h of heads) prefixes.push([h.q, h.n]);
    }
    const out: InEvent[] = [];
    for (const [q, n] of prefixes) out.push(...q.splice(0, n));
    return out;
  }

  /** The transaction's events at the head of one partition, with the tombstones that follow its deletes. */
  private head(
    topic: string,
    p: number,
    id: string,
  ): { q: InEvent[]; n: number; orders: Set<string>; truncates: Set<string>; past: boolean } {
    const q = this.queues.get(tpKey(topic, p)) ?? [];
    const orders = new Set<string>();
    const truncates = new Set<string>();
    let n = 0;
    let scan = 0;
    while (scan < q.length) {
      const e = q[scan] as InEvent;
      if (isTombstone(e)) {
        scan++;
        continue;
      }
      if (e.txId !== id && !(lostTransaction(e) && this.continues(q, scan, id))) break;
      const order = String(e.txOrder ?? `${p}:${e.offset}`);
      orders.add(order);
      if (e.truncate) truncates.add(order);
      n = ++scan;
    }
    while (n < q.length && isTombstone(q[n] as InEvent)) n++;
    return { q, n, orders, truncates, past: n < q.length };
  }

  /**
   * Whether transaction `id` goes on after position `i` of a partition queue (past tombstones and other
   * events that lost their id): such events sit between two of its events, so they are its own and count.
   */
  private continues(q: InEvent[], i: number, id: string): boolean {
    for (let j = i + 1; j < q.length; j++) {
      const e = q[j] as InEvent;
      if (isTombstone(e) || lostTransaction(e)) continue;
      return e.txId === id;
    }
    return false;
  }
}

/** An event parked because its value could not be decoded: its transaction id is unknown. */
function lostTransaction(e: InEvent): boolean {
  return e.parked !== null && e.txId === null && e.raw.value !== null;
}

/** A delete's tombstone (null value): it carries no transaction, so it travels with the events around it. */
function isTombstone(e: InEvent): boolean {
  return e.raw.value === null && e.txId === null;
}
