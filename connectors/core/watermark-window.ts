// The part of an incremental re-snapshot the change writer drives, in stream order (DBLog's watermarks):
// streamed changes are remembered by key with their transaction; a chunk is set before its low watermark is
// written and filled once read; at its high watermark its rows are emitted, minus those a streamed change
// supersedes. So a snapshot row never overwrites a newer change.
//
// Which streamed change supersedes a chunk row:
// - exact, when the backend knows the chunk read's visibility (`visible`, Postgres `pg_current_snapshot()`):
//   a change whose transaction is invisible to the read, wherever it came in the stream before the high
//   watermark (a transaction already streamed can still be invisible: Postgres decodes a commit record
//   before the commit becomes visible). A visible one is already in the row the read returned.
// - otherwise the window rule: a change streamed after the chunk was set, or up to `marginMs` before.
// Changes are remembered for `horizonMs` once more than `rememberAtMost` keys are held (a transaction whose
// commit was streamed longer ago than that and is still invisible would be missed), and changes whose
// transaction a chunk read found visible are forgotten after that chunk, since every later read sees them.
import type { Row, SourceTable } from "./backend.ts";
import { keyText } from "./events.ts";

export interface Chunk {
  id: string;
  /** The table version read; null until the chunk is read. */
  table: SourceTable | null;
  /** Rows by key text; filled once read. */
  rows: Map<string, Row>;
  visible: ((txId: bigint) => boolean) | null;
  /** Clock ms when set. */
  setAt: number;
  /** Called when the chunk's high watermark has been handled. */
  done: () => void;
}

/**
 * How a key is remembered: a one-column key by its value (numbers, bigints and strings compare by value in
 * a Map), any other by its stable text. Streamed keys and chunk rows go through the same function. (The
 * text of every key, a JSON.stringify per change, was 5% of the CPU of a large transaction.)
 */
function windowKey(fields: readonly string[], row: Row | null): unknown {
  if (row && fields.length === 1) {
    const v = row[fields[0] as string];
    const t = typeof v;
    if (t === "number" || t === "bigint" || t === "string") return v;
  }
  return keyText(row);
}

/** `windowKey` of a key object (its fields are the key's), without listing them into an array. */
function streamedKey(key: Row | null): unknown {
  if (key === null) return keyText(null);
  let only: string | null = null;
  for (const f in key) {
    if (only !== null) return keyText(key);
    only = f;
  }
  return only === null ? keyText(key) : windowKey([only], key);
}

/** The key under which a truncate supersedes every row of its table. */
const TRUNCATED = Symbol("truncated");

/** Streamed changes in stream order: entry i is `keys[i]` of `topics[i]`, seen as `seen[i]`. */
interface Generation {
  topics: string[];
  keys: unknown[];
  seen: Seen[];
}

const emptyGeneration = (): Generation => ({ topics: [], keys: [], seen: [] });

interface Seen {
  at: number;
  txId: bigint | null;
}

export interface WindowOptions {
  now?: () => number;
  marginMs?: number;
  horizonMs?: number;
  rememberAtMost?: number;
}

export class WatermarkWindow {
  #chunk: Chunk | null = null;
  /**
   * Streamed changes (a truncate under the key TRUNCATED), in generations of half the horizon (newest
   * first); the oldest is dropped whole once it is past the horizon. Remembering a change is three array
   * pushes: a chunk is looked up against them only at its high watermark, which is rare, while every
   * streamed change is remembered (a Map entry and an object per change were 6% of the CPU of a 500k-row
   * transaction; pruning one Map from its front, 40% before that).
   */
  #generations: Generation[] = [emptyGeneration(), emptyGeneration(), emptyGeneration()];
  /** The last Seen made: the changes of a transaction within one clock tick share it. */
  #lastSeen: Seen = { at: Number.NaN, txId: null };
  #generationSince = Number.NEGATIVE_INFINITY;
  /** Changes remembered in the newest generation (counting a key again: a bound, cheap to keep). */
  #newestSize = 0;
  readonly #now: () => number;
  readonly #marginMs: number;
  readonly #horizonMs: number;
  readonly #cap: number;

  constructor(o: WindowOptions = {}) {
    this.#now = o.now ?? Date.now;
    this.#marginMs = o.marginMs ?? 5000;
    this.#horizonMs = o.horizonMs ?? 10_000;
    this.#cap = o.rememberAtMost ?? 50_000;
  }

  set(chunk: Chunk): void {
    chunk.setAt = this.#now();
    this.#chunk = chunk;
  }

  /** Forgets the chunk `id` if it is the current one (it was skipped: no high watermark will come). */
  cancel(id: string): void {
    if (this.#chunk?.id === id) this.#chunk = null;
  }

  /** A streamed change to `topic` with this key, in transaction `txId`. */
  observe(topic: string, key: Row | null, txId: bigint | null): void {
    this.#remember(topic, streamedKey(key), txId);
  }

  /** A streamed truncate: it supersedes every chunk row of the table. */
  truncate(topic: string, txId: bigint | null): void {
    this.#remember(topic, TRUNCATED, txId);
  }

  /** How many changes are remembered (tests of the memory bound). */
  get remembered(): number {
    let n = 0;
    for (const g of this.#generations) n += g.keys.length;
    return n;
  }

  /** A watermark read back from the stream; the rows to emit when it is the current chunk's high one. */
  watermark(id: string, edge: "low" | "high"): { table: SourceTable; rows: Row[] } | null {
    const c = this.#chunk;
    if (!c || id !== c.id || edge === "low") return null;
    this.#chunk = null;
    c.done();
    if (!c.table) return null;
    const topic = c.table.shape.topic;
    const supersedes = this.#rule(c);
    const rows: Row[] = [];
    const fields = c.table.shape.key;
    const keyed = [...c.rows.values()].map((row) => [windowKey(fields, row), row] as const);
    const last = this.#lastSeenOf(topic, new Set(keyed.map(([k]) => k)));
    if (!supersedes(last.get(TRUNCATED)))
      for (const [k, row] of keyed) if (!supersedes(last.get(k))) rows.push(row);
    if (c.visible) this.#forgetVisible(c.visible);
    return { table: c.table, rows };
  }

  #rule(c: Chunk): (seen: Seen | undefined) => boolean {
    const visible = c.visible;
    if (visible) return (seen) => seen !== undefined && seen.txId !== null && !visible(seen.txId);
    const since = c.setAt - this.#marginMs;
    return (seen) => seen !== undefined && seen.at >= since;
  }

  /** The last change streamed to each of `keys` (and a truncate) of `topic`. */
  #lastSeenOf(topic: string, keys: ReadonlySet<unknown>): Map<unknown, Seen> {
    const last = new Map<unknown, Seen>();
    for (let g = this.#generations.length - 1; g >= 0; g--) {
      const gen = this.#generations[g] as Generation;
      for (let i = 0; i < gen.keys.length; i++) {
        const k = gen.keys[i];
        if (gen.topics[i] === topic && (k === TRUNCATED || keys.has(k))) last.set(k, gen.seen[i] as Seen);
      }
    }
    return last;
  }

  #remember(topic: string, k: unknown, txId: bigint | null): void {
    const now = this.#now();
    this.#rotate(now);
    const newest = this.#generations[0] as Generation;
    let seen = this.#lastSeen;
    if (seen.at !== now || seen.txId !== txId) this.#lastSeen = seen = { at: now, txId };
    newest.topics.push(topic);
    newest.keys.push(k);
    newest.seen.push(seen);
    this.#newestSize++;
  }

  /**
   * A new generation every half horizon (or sooner past `rememberAtMost`, once the newest spans the
   * margin): the oldest, then all older than the horizon, is dropped whole, as pruning one by one would.
   */
  #rotate(now: number): void {
    const half = Math.max(this.#horizonMs, 2 * this.#marginMs) / 2;
    const due =
      now - this.#generationSince >= half ||
      (this.#newestSize > this.#cap && now - this.#generationSince >= this.#marginMs);
    if (!due) return;
    this.#generations = [
      emptyGeneration(),
      this.#generations[0] as Generation,
      this.#generations[1] as Generation,
    ];
    this.#generationSince = now;
    this.#newestSize = 0;
  }

  /**
   * Keeps, of each key, only its last change and only if its transaction is still invisible (a key whose
   * last change is visible is in every later read).
   */
  #forgetVisible(visible: (txId: bigint) => boolean): void {
    const lastOf = new Map<string, Set<unknown>>();
    for (const gen of this.#generations) {
      const kept = emptyGeneration();
      for (let i = gen.keys.length - 1; i >= 0; i--) {
        const topic = gen.topics[i] as string;
        const k = gen.keys[i];
        let done = lastOf.get(topic);
        if (!done) lastOf.set(topic, (done = new Set()));
        if (done.has(k)) continue;
        done.add(k);
        const seen = gen.seen[i] as Seen;
        if (seen.txId !== null && visible(seen.txId)) continue;
        kept.topics.push(topic);
        kept.keys.push(k);
        kept.seen.push(seen);
      }
      gen.topics = kept.topics.reverse();
      gen.keys = kept.keys.reverse();
      gen.seen = kept.seen.reverse();
    }
  }
}
