// Reassembles source transactions from Kafka: events arrive per topic partition, transaction markers on
// `<source>.transactions`. A transaction is released only when its END marker is in and, for every topic
// this view reads, all the events the marker counts are at the heads of that topic's partitions (copies of
// a truncate, one per partition, count once and must all be there). Transactions of a source are released
// in marker (commit) order, and a partition is only ever consumed from its head, so offsets advance without
// gaps and a released unit can carry them. Events without a transaction (snapshot reads, tombstones, sources
// without markers) are released as soon as they reach their partition's head. Pure: no Kafka, no clock.
import type { InEvent, Marker } from "./decode.ts";

export interface Unit {
  events: InEvent[];
  /** Next marker offset per source, when this unit consumed markers. */
  markers: Map<string, bigint>;
}

export interface AssemblerOptions {
  /** Partition count of every data topic. */
  partitions: Map<string, number>;
  /** Sources whose `<source>.transactions` topic exists: their transactional events wait for markers. */
  markerSources: Set<string>;
}

const tp = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class Assembler {
  private readonly queues = new Map<string, InEvent[]>();
  private readonly markers = new Map<string, Marker[]>();
  private readonly options: AssemblerOptions;

  constructor(options: AssemblerOptions) {
    this.options = options;
  }

  pushEvent(e: InEvent): void {
    const k = tp(e.topic, e.partition);
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

  /** Releases everything that can be released, in apply order. */
  drain(): Unit[] {
    const units: Unit[] = [];
    for (let progress = true; progress;) {
      progress = false;
      const free = this.releaseFree();
      if (free.length > 0) {
        units.push({ events: free, markers: new Map() });
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
      while (q.length > 0 && !this.waitsForMarker(q[0] as InEvent)) out.push(q.shift() as InEvent);
    }
    return out;
  }

  private releaseTransaction(source: string): Unit | null {
    const q = this.markers.get(source) ?? [];
    const consumed: Marker[] = [];
    // BEGIN markers carry nothing we need: the END marker has the counts.
    while (q[0]?.status === "BEGIN") consumed.push(q.shift() as Marker);
    const end = q[0];
    let events: InEvent[] = [];
    if (end) {
      const taken = this.take(end);
      if (taken) {
        events = taken;
        consumed.push(q.shift() as Marker);
      }
    }
    if (consumed.length === 0) return null;
    const last = consumed[consumed.length - 1] as Marker;
    return { events, markers: new Map([[source, last.offset + 1n]]) };
  }

  /** If all of the END marker's events for our topics are at partition heads, pops and returns them. */
  private take(end: Marker): InEvent[] | null {
    const prefixes: [InEvent[], number][] = [];
    for (const [topic, expected] of end.counts ?? new Map<string, number>()) {
      const partitions = this.options.partitions.get(topic);
      if (partitions === undefined) continue; // a topic this view does not read
      const orders = new Set<string>();
      const truncateCopies = new Map<string, number>();
      let past = 0;
      for (let p = 0; p < partitions; p++) {
        const q = this.queues.get(tp(topic, p)) ?? [];
        // The transaction's events at the head, with the tombstones that follow its deletes.
        let n = 0;
        let scan = 0;
        while (scan < q.length) {
          const e = q[scan] as InEvent;
          if (isTombstone(e)) {
            scan++;
            continue;
          }
          if (e.txId !== end.id) break;
          const order = String(e.txOrder ?? `${p}:${e.offset}`);
          orders.add(order);
          if (e.truncate) truncateCopies.set(order, (truncateCopies.get(order) ?? 0) + 1);
          n = ++scan;
        }
        while (n < q.length && isTombstone(q[n] as InEvent)) n++;
        if (n < q.length) past++;
        prefixes.push([q, n]);
      }
      const truncatesWhole = [...truncateCopies.values()].every((c) => c === partitions);
      // Complete when the counted events are all here, or when every partition has moved past the
      // transaction (an event the source counted could not be decoded and was parked without its id).
      if (!((orders.size >= expected && truncatesWhole) || past === partitions)) return null;
    }
    const out: InEvent[] = [];
    for (const [q, n] of prefixes) out.push(...q.splice(0, n));
    return out;
  }
}

/** A delete's tombstone (null value): it carries no transaction, so it travels with the events around it. */
function isTombstone(e: InEvent): boolean {
  return e.raw.value === null && e.txId === null;
}
