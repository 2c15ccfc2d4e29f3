// Bounded maps that outlive one batch: the apply engine keeps the input rows (T) and the index scans (J) it
// recently read or wrote, so a hot row that many others join to (a customer of many orders) costs no
// LevelDB read, decode or iterator in the next batch, and the view rows (R) of views keyed by their driving
// key, so a row updated or deleted soon after it was written costs no stored-row read either. Driving rows
// have a budget of their own (inserts would otherwise evict the hot joined rows); inserts above every stored
// key never look them up (key-ceiling.ts). The caches are exact because one ViewState is the only
// writer of its view's keys: an entry is a LevelDB read (the committed state) or a value a batch wrote, set
// once that batch committed (a failed batch sets nothing). null records a known-absent key. Memory: roughly
// 200-300 bytes per row, so a few tens of MB per view at the default budget.

/** Entries kept per view and per kind (input rows, index scans) unless the caller says otherwise. */
export const WARM_ROWS = 100_000;

export class WarmCache<V> {
  // Two generations instead of a strict LRU (a Map delete + set per hit was a visible cost): entries go to
  // `young`; when it holds half the budget it becomes `old` and the previous `old` is dropped. A hit in
  // `old` is not copied (another Map write per hit): a hot entry is read again at most once per rotation.
  private young = new Map<string, V>();
  private old = new Map<string, V>();
  private readonly half: number;

  constructor(max = WARM_ROWS) {
    this.half = Math.floor(max / 2);
  }

  get enabled(): boolean {
    return this.half > 0;
  }

  /** The value (null: known absent), or undefined when not held. */
  get(id: string): V | undefined {
    const v = this.young.get(id);
    if (v !== undefined) return v;
    return this.old.get(id);
  }

  set(id: string, value: V): void {
    if (this.half <= 0) return;
    this.young.set(id, value);
    if (this.young.size >= this.half) {
      this.old = this.young;
      this.young = new Map();
    }
  }

  delete(id: string): void {
    this.young.delete(id);
    this.old.delete(id);
  }

  clear(): void {
    this.young.clear();
    this.old.clear();
  }
}

/** Join-index scans with more entries than this are not kept (each change to them would copy-scan the list). */
const MAX_SCAN_ENTRIES = 256;

/**
 * The input keys each recent index scan found (layout J, by Reader.scanId), kept equal to LevelDB's entries
 * by applying every committed batch's index puts and deletes (update); a scan not held is read again. Each
 * scan's keys are held by their latin1 form, so an update costs one lookup, not a walk of the list.
 */
export class WarmScans {
  private readonly cache: WarmCache<Map<string, Buffer>>;

  constructor(max = WARM_ROWS) {
    this.cache = new WarmCache<Map<string, Buffer>>(max);
  }

  /** A copy of the held keys (the held set changes as batches commit), or undefined. */
  get(id: string): Buffer[] | undefined {
    const pks = this.cache.get(id);
    return pks ? [...pks.values()] : undefined;
  }

  /** Records a scan read from LevelDB (before this batch's writes, which update() applies once committed). */
  set(id: string, pks: readonly Buffer[]): void {
    if (pks.length > MAX_SCAN_ENTRIES || !this.cache.enabled) return;
    const held = new Map<string, Buffer>();
    for (const pk of pks) held.set(pk.toString("latin1"), pk);
    this.cache.set(id, held);
  }

  /** A committed index put (add) or delete of `pk` under the scan `id`. */
  update(id: string, pk: Buffer, add: boolean): void {
    const pks = this.cache.get(id);
    if (!pks) return;
    const key = pk.toString("latin1");
    if (!add) pks.delete(key);
    else if (!pks.has(key)) {
      if (pks.size >= MAX_SCAN_ENTRIES) this.cache.delete(id);
      else pks.set(key, pk);
    }
  }
}
