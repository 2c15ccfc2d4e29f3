// A view's change feed in LevelDB (layout section C, one entry per view-row change, numbered by `seq` and
// stamped with its apply time; written by ViewState.apply in the same batch as the rows): reading it from a
// sequence number on, where a stream from a time starts, the newest entry, and trimming to a retention.
import type { EventEmitter } from "node:events";
import { once } from "node:events";
import type { ViewChangeEvent } from "../contract.ts";
import { Layout } from "./layout.ts";
import type { Db } from "./reader.ts";
import type { ViewChange, ViewState } from "./view-state.ts";

const FEED = 0x43;

const feedEnd = (state: ViewState): Buffer => Layout.range(state.layout.section(FEED)).lt;

/**
 * The feed after `from` (0: everything retained; -1: only changes from now on), then every change as it is
 * applied (`feed` emits "changes" after each applied batch), until the signal aborts. `keep` leaves entries out.
 */
export async function* readChanges(
  db: Db,
  state: ViewState,
  feed: EventEmitter,
  from: number,
  keep: (c: ViewChangeEvent) => Promise<boolean>,
  signal?: AbortSignal,
): AsyncIterable<ViewChangeEvent> {
  let after = from < 0 ? await headSeq(db, state) : from;
  while (!signal?.aborted) {
    // Register before reading so a batch applied between the read and the wait is not missed.
    const next = once(feed, "changes", signal ? { signal } : {}).catch(() => undefined);
    let got = false;
    for await (const value of db.values({ gt: state.layout.change(after), lt: feedEnd(state) })) {
      const c: ViewChangeEvent = state.format.unpackChange(value);
      after = c.seq;
      got = true;
      if (!(await keep(c))) continue;
      yield c;
      if (signal?.aborted) return;
    }
    if (!got) await next;
  }
}

/**
 * Where a stream starting at `time` (ms) begins: `after` is the change before the first one applied at or
 * after it (a binary search over seq: apply times never go down within a view). `trimmed` is set when
 * the time is older than the oldest change kept and older changes were trimmed: the stream then starts at
 * the oldest kept one and may miss changes applied between `time` and it.
 */
export async function changeStart(
  db: Db,
  state: ViewState,
  time: number,
): Promise<{ after: number; trimmed: { oldest: number; oldestAt: number | null } | null }> {
  const head = await headSeq(db, state);
  const oldest = await entryFrom(db, state, 0);
  if (!oldest) return { after: head, trimmed: null };
  if ((oldest.at ?? 0) >= time) {
    const trimmed = oldest.seq > 1 ? { oldest: oldest.seq, oldestAt: oldest.at ?? null } : null;
    return { after: oldest.seq - 1, trimmed };
  }
  // Invariant: the entry at lo was applied before `time`; the first at or after it is in (lo, hi].
  let lo = oldest.seq;
  let hi = head + 1;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const e = await entryFrom(db, state, mid);
    if (!e || e.seq >= hi) hi = mid;
    else if ((e.at ?? 0) < time) lo = e.seq;
    else hi = e.seq;
  }
  return { after: hi - 1, trimmed: null };
}

/** The first retained feed entry at or after `seq` (entries are contiguous unless a trim is running). */
async function entryFrom(
  db: Db,
  state: ViewState,
  seq: number,
): Promise<{ seq: number; at?: number } | null> {
  for await (const value of db.values({ gte: state.layout.change(seq), lt: feedEnd(state), limit: 1 })) {
    const c = state.format.unpackChange(value);
    return c.at === undefined ? { seq: c.seq } : { seq: c.seq, at: c.at };
  }
  return null;
}

/** The sequence number of the newest retained change (0 when the feed is empty). */
export async function headSeq(db: Db, state: ViewState): Promise<number> {
  for await (const value of db.values({
    gt: state.layout.change(0),
    lt: feedEnd(state),
    reverse: true,
    limit: 1,
  })) {
    return state.format.unpackChange(value).seq;
  }
  return 0;
}

/**
 * After a batch of `changes`: now and then (once per 1000 changes) deletes the entries older than the newest
 * `retention`. Not in the apply batch: losing a trim to a crash is harmless, the next one covers it.
 */
export function trimFeed(db: Db, state: ViewState, changes: ViewChange[], retention: number): void {
  const last = changes[changes.length - 1]?.seq ?? 0;
  if (last > retention && last % 1000 < changes.length) {
    void db.clear({ gte: state.layout.change(0), lt: state.layout.change(last - retention) });
  }
}
