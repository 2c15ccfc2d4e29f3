// Ad-hoc re-snapshot while streaming (Netflix DBLog; Debezium's incremental snapshots): per chunk, a low
// watermark is written into the log, the chunk is read by key through the backend, a high watermark is
// written; the change writer emits the chunk's rows (op r, snapshot "incremental") at the high watermark's
// place in the stream, minus the rows a streamed change supersedes (watermark-window.ts). Progress (the
// tables left and the cursor of the last acknowledged chunk) is saved in `_mesh_offsets`, so a restart
// resumes at that chunk; the API reads the saved `tables` to show what is left.
import type { IncrementalState } from "../../protocol/offsets.ts";
import type { BackendSession, SourceTable } from "./backend.ts";
import { keyOf, keyText } from "./events.ts";
import type { OffsetStore } from "./offset-store.ts";
import type { Chunk, WatermarkWindow } from "./watermark-window.ts";

export interface ResnapshotOptions {
  session: Pick<BackendSession<unknown>, "readChunk" | "writeWatermark">;
  window: WatermarkWindow;
  offsets: OffsetStore;
  stateKey: string;
  chunkRows: number;
  /** Registers the table's current schema; false when the table is stopped (it is skipped). */
  useTable: (table: SourceTable) => Promise<boolean>;
  /** Resolves once everything written so far is acknowledged by Kafka. */
  flush: () => Promise<void>;
  onProgress: (table: string | null, rowsDone: number) => void;
  signal: AbortSignal;
}

export async function loadResnapshotState(
  offsets: OffsetStore,
  key: string,
): Promise<IncrementalState | null> {
  const s = (await offsets.load(key)) as IncrementalState | null;
  return s && Array.isArray(s.tables) && s.tables.length > 0 ? s : null;
}

let chunkSeq = 0;

/** Runs chunks until every requested table is done (or the signal aborts). */
export async function runResnapshot(o: ResnapshotOptions, state: IncrementalState): Promise<void> {
  let rowsDone = 0;
  while (state.tables.length > 0 && !o.signal.aborted) {
    const qualified = state.tables[0] as string;
    let done!: () => void;
    const emitted = new Promise<void>((r) => (done = r));
    const id = `${Date.now().toString(36)}-${chunkSeq++}`;
    const chunk: Chunk = { id, table: null, rows: new Map(), visible: null, setAt: 0, done };
    // Set before the low watermark: every change streamed from there on is judged against this chunk.
    o.window.set(chunk);
    await o.session.writeWatermark(id, "low");
    const read = await o.session.readChunk(qualified, state.lastKey, o.chunkRows);
    if (read.table.shape.key.length === 0 || !(await o.useTable(read.table))) {
      // A keyless table cannot be chunked, a stopped one gets nothing: skip it (the status says why).
      o.window.cancel(id);
      state.tables.shift();
      state.lastKey = null;
      await o.offsets.save(o.stateKey, state);
      continue;
    }
    chunk.table = read.table;
    chunk.visible = read.visible ?? null;
    for (const row of read.rows) chunk.rows.set(keyText(keyOf(read.table, row)), row);
    await o.session.writeWatermark(id, "high");
    await Promise.race([
      emitted,
      new Promise<void>((r) => o.signal.addEventListener("abort", () => r(), { once: true })),
    ]);
    if (o.signal.aborted) return;
    await o.flush();
    rowsDone += read.rows.length;
    if (read.next === null) {
      state.tables.shift();
      state.lastKey = null;
    } else state.lastKey = read.next;
    await o.offsets.save(o.stateKey, state);
    o.onProgress(state.tables[0] ?? null, rowsDone);
  }
}

/**
 * A session's re-snapshots: the tables saved by an earlier session (resumed at their next chunk) and those
 * requested since, run one after the other until none is left or the session ends.
 */
export class ResnapshotRunner {
  readonly #options: ResnapshotOptions;
  readonly #onFailure: (err: Error) => void;
  #state: IncrementalState | null;
  #running: Promise<void> | null = null;

  constructor(options: ResnapshotOptions, saved: IncrementalState | null, onFailure: (err: Error) => void) {
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
    this.#running = runResnapshot(this.#options, state).then(
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
