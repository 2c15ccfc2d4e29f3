// Ad-hoc re-snapshot while streaming, with DBLog's watermarks (Netflix DBLog; Debezium's incremental
// snapshots): per chunk, a low watermark (a non-transactional logical message) is written, the chunk is
// selected by primary key, a high watermark is written. Streamed changes between the two watermarks win:
// their keys are dropped from the chunk, and what is left is emitted (op r, snapshot "incremental") exactly
// at the high watermark's place in the stream. So a snapshot row never overwrites a newer change.
// Progress (table and last key of the last acknowledged chunk) is saved, so a crash resumes at that chunk.
import type pg from "pg";
import type { IncrementalState } from "../../protocol/offsets.ts";
import type { OffsetStore } from "../core/offset-store.ts";
import { qualifiedIdent, quoteIdent, relationFromCatalog, splitQualified } from "./catalog.ts";
import type { Relation } from "./pgoutput.ts";
import { keyOf, textRowToRow, type TableMapping } from "./row-mapping.ts";

export const WATERMARK_PREFIX = "datamesh.watermark";

/** Saved under `<source>/postgres-incremental` (protocol/offsets.ts); the API reads its `tables`. */
export type { IncrementalState };

interface Chunk {
  id: string;
  mapping: TableMapping;
  rows: Map<string, Record<string, unknown>>;
  open: boolean;
  setAt: number;
  done: () => void;
}

/** A stable text of a key object (bigint and Buffer aware), to match streamed keys against chunk keys. */
export function keyText(key: Record<string, unknown> | null): string {
  return JSON.stringify(key, (_k, v: unknown) =>
    typeof v === "bigint" ? `${v}n` : Buffer.isBuffer(v) ? v.toString("hex") : v,
  );
}

/** The part the stream processor calls, in stream order. */
export class WatermarkWindow {
  private chunk: Chunk | null = null;
  /**
   * `topic|key` (or `topic|*` for a truncate) → when the stream last changed it (clock ms), in two
   * generations of `marginMs` each: a lookup reads both, and a generation older than anything a chunk can
   * still ask about is dropped whole. (One Map pruned from its front was quadratic: V8 iterates over the
   * deleted slots at its head until it rehashes, and a 500k-row transaction spent most of its CPU there.)
   */
  private current = new Map<string, number>();
  private previous = new Map<string, number>();
  private currentSince: number;
  private readonly now: () => number;
  private readonly marginMs: number;

  /**
   * A change supersedes a chunk row when it was streamed after the chunk was set up, and also when it was
   * streamed shortly before (`marginMs`): Postgres makes a commit visible only after writing its commit
   * record, so a transaction already decoded and streamed can still be invisible to the chunk's SELECT if
   * its backend was descheduled in between. Dropping a key is always safe: its streamed event carries the
   * newer row.
   */
  constructor(now: () => number = Date.now, marginMs = 5000) {
    this.now = now;
    this.marginMs = marginMs;
    this.currentSince = now();
  }

  set(chunk: Chunk): void {
    chunk.open = true;
    chunk.setAt = this.now();
    this.chunk = chunk;
    this.rotate(chunk.setAt);
  }

  /**
   * Starts a new generation once the current one spans `marginMs`; the one before is dropped, unless the open
   * chunk may still ask about its changes (those since `setAt - marginMs`). Keeps memory bounded by what
   * streamed in the last two margins, with O(1) work per change.
   */
  private rotate(now: number): void {
    if (now - this.currentSince < this.marginMs) return;
    const oldestNeeded = this.chunk ? this.chunk.setAt - this.marginMs : now - this.marginMs;
    // Everything in `previous` is older than currentSince: drop it only if nothing there can still matter.
    if (this.currentSince > oldestNeeded) return;
    this.previous = this.current;
    this.current = new Map();
    this.currentSince = now;
  }

  private lastChanged(k: string): number | undefined {
    return this.current.get(k) ?? this.previous.get(k);
  }

  /** A streamed change to `topic` with this key. */
  observe(topic: string, key: Record<string, unknown> | null): void {
    const now = this.now();
    this.rotate(now);
    this.current.set(`${topic}|${keyText(key)}`, now);
  }

  /** A streamed truncate: every chunk row of that table is superseded. */
  truncate(topic: string): void {
    const now = this.now();
    this.rotate(now);
    this.current.set(`${topic}|*`, now);
  }

  /** How many recent changes are remembered (for tests of the memory bound). */
  get remembered(): number {
    return this.current.size + this.previous.size;
  }

  /** A watermark message; returns the rows to emit when it is the current chunk's high watermark. */
  watermark(content: string): { mapping: TableMapping; rows: Record<string, unknown>[] } | null {
    const c = this.chunk;
    const [id, kind] = content.split("|");
    if (!c || id !== c.id || kind === "low") return null;
    this.chunk = null;
    c.done();
    const topic = c.mapping.shape.topic;
    const since = c.setAt - this.marginMs;
    if ((this.lastChanged(`${topic}|*`) ?? -Infinity) >= since) return { mapping: c.mapping, rows: [] };
    const rows: Record<string, unknown>[] = [];
    for (const [k, row] of c.rows)
      if ((this.lastChanged(`${topic}|${k}`) ?? -Infinity) < since) rows.push(row);
    return { mapping: c.mapping, rows };
  }
}

export interface IncrementalDriverOptions {
  client: pg.Client;
  window: WatermarkWindow;
  offsets: OffsetStore;
  stateKey: string;
  chunkRows: number;
  mapRelation: (relation: Relation) => Promise<TableMapping | null>;
  /** Resolves once everything written so far is acknowledged by Kafka. */
  flush: () => Promise<void>;
  onProgress: (table: string | null, rowsDone: number) => void;
  signal: AbortSignal;
}

export async function loadIncrementalState(
  offsets: OffsetStore,
  key: string,
): Promise<IncrementalState | null> {
  const s = (await offsets.load(key)) as IncrementalState | null;
  return s && Array.isArray(s.tables) && s.tables.length > 0 ? s : null;
}

/** Runs chunks until every requested table is done (or the signal aborts). */
export async function runIncrementalSnapshot(
  o: IncrementalDriverOptions,
  state: IncrementalState,
): Promise<void> {
  let rowsDone = 0;
  let seq = 0;
  while (state.tables.length > 0 && !o.signal.aborted) {
    const qualified = state.tables[0] as string;
    const [schema = "", table = ""] = splitQualified(qualified);
    const mapping = await o.mapRelation(await relationFromCatalog(o.client, schema, table));
    if (!mapping || mapping.keyIndexes.length === 0) {
      // A failed table or one without a primary key cannot be chunked: skip it (status shows why).
      state.tables.shift();
      state.lastKey = null;
      continue;
    }
    const keyCols = mapping.keyIndexes.map((i) => quoteIdent(mapping.columnNames[i] as string));
    const after = state.lastKey
      ? ` WHERE (${keyCols.join(", ")}) > (${keyCols.map((_, i) => `$${i + 1}`).join(", ")})`
      : "";
    const id = `${Date.now().toString(36)}-${seq++}`;
    let done!: () => void;
    const emitted = new Promise<void>((r) => (done = r));
    const chunk: Chunk = { id, mapping, rows: new Map(), open: false, setAt: 0, done };
    o.window.set(chunk);
    await o.client.query("SELECT pg_logical_emit_message(false, $1, $2)", [WATERMARK_PREFIX, `${id}|low`]);
    const res = await o.client.query<(string | null)[]>({
      text: `SELECT ${mapping.columnNames.map(quoteIdent).join(", ")} FROM ${qualifiedIdent(schema, table)}${after} ORDER BY ${keyCols.join(", ")} LIMIT ${o.chunkRows}`,
      values: state.lastKey ?? [],
      rowMode: "array",
    });
    for (const values of res.rows) {
      const row = textRowToRow(mapping, values);
      chunk.rows.set(keyText(keyOf(mapping, row)), row);
    }
    await o.client.query("SELECT pg_logical_emit_message(false, $1, $2)", [WATERMARK_PREFIX, `${id}|high`]);
    await Promise.race([
      emitted,
      new Promise<void>((r) => o.signal.addEventListener("abort", () => r(), { once: true })),
    ]);
    if (o.signal.aborted) return;
    await o.flush();
    rowsDone += res.rows.length;
    const last = res.rows[res.rows.length - 1];
    if (res.rows.length < o.chunkRows || !last) {
      state.tables.shift();
      state.lastKey = null;
    } else state.lastKey = mapping.keyIndexes.map((i) => last[i] ?? null);
    await o.offsets.save(o.stateKey, state);
    o.onProgress(state.tables[0] ?? null, rowsDone);
  }
}

/**
 * A session's re-snapshots: the tables saved by an earlier session (resumed at their next chunk) and those
 * requested since, run one after the other until none is left or the session ends.
 */
export class IncrementalRunner {
  readonly #options: IncrementalDriverOptions;
  readonly #onFailure: (err: Error) => void;
  #state: IncrementalState | null;
  #running: Promise<void> | null = null;

  constructor(
    options: IncrementalDriverOptions,
    saved: IncrementalState | null,
    onFailure: (err: Error) => void,
  ) {
    this.#options = options;
    this.#state = saved;
    this.#onFailure = onFailure;
  }

  /** Adds tables to do (saved before it resolves, so a restart resumes them) and runs them. */
  async request(tables: string[]): Promise<void> {
    this.#state ??= { tables: [], lastKey: null };
    for (const t of tables) if (!this.#state.tables.includes(t)) this.#state.tables.push(t);
    await this.#options.offsets.save(this.#options.stateKey, this.#state);
    this.run();
  }

  /** Runs what is left to do, unless it runs already. */
  run(): void {
    const signal = this.#options.signal;
    // Once aborted (stop, pause, failure) the driver returns at once: re-running it would spin forever.
    if (this.#running || !this.#state || signal.aborted) return;
    const state = this.#state;
    this.#running = runIncrementalSnapshot(this.#options, state).then(
      () => {
        this.#running = null;
        if (state.tables.length === 0 && this.#state === state) this.#state = null;
        this.run();
      },
      (err: unknown) => {
        this.#running = null;
        if (!signal.aborted) this.#onFailure(err instanceof Error ? err : new Error(String(err)));
      },
    );
  }
}
