// Reads input relations as of before a batch (S0: LevelDB alone) or after it (S1: LevelDB overlaid with
// the batch's pending rows), so the engine can find view rows a change touches in both states without
// writing anything until the whole batch is decided. Gets are cached for the batch's lifetime.
import type { ClassicLevel } from "classic-level";
import { encodeKey } from "../keys/encoding.ts";
import { Layout } from "./layout.ts";
import type { RowFormat, StoredRow } from "./row-format.ts";
import type { JoinShape, Lookup, Row } from "./shape.ts";
import type { WarmCache, WarmScans } from "./warm-cache.ts";

export type Db = ClassicLevel<Buffer, Buffer>;

/**
 * How the materializer opens its LevelDB (main.ts; the views benchmark uses the same). Every change writes
 * several keys (input row, join index, view row, feed entry), so the default 4 MB write buffer flushes and
 * compacts constantly; 32 MB memtables and a 64 MB block cache measured ~1.3-1.5× faster joins and backfill
 * in `npm run bench -- views`, for ~130 MB of memory at most.
 */
export const DB_OPTIONS = {
  keyEncoding: "buffer",
  valueEncoding: "buffer",
  writeBufferSize: 32 * 1024 * 1024,
  cacheSize: 64 * 1024 * 1024,
} as const;

export type { StoredRow };

export interface PendingRow {
  rel: number;
  pk: Buffer;
  /** pk as a latin1 string, and Pending.id: built once per row per batch (map keys of the batch's lookups). */
  key: string;
  id: string;
  row: StoredRow | null;
  /** The new image's join index entries (Pending.indexRows), encoded once for the overlay and the batch. */
  joins?: JoinEntry[];
}

/** One join index set's encoded values for a row, and the id of the index scan that finds it (Reader.scanId). */
export interface JoinEntry {
  set: number;
  vals: Buffer;
  id: string;
}

/** The batch's changed rows (final image per relation and key) and index entries of their new images. */
export class Pending {
  readonly rows = new Map<string, PendingRow>();
  private readonly index = new Map<string, Map<string, Buffer>>();

  static id(rel: number, pk: Buffer): string {
    return `${rel}:${pk.toString("latin1")}`;
  }

  /** Pending.id from the key's latin1 form (PendingRow.key). */
  static idOfKey(rel: number, key: string): string {
    return `${rel}:${key}`;
  }

  /** Whether an id (Pending.id) is of a driving row (relation 0). */
  static isDriving(id: string): boolean {
    return id.startsWith("0:");
  }

  set(rel: number, pk: Buffer, row: StoredRow | null): void {
    const key = pk.toString("latin1");
    const id = `${rel}:${key}`;
    this.rows.set(id, { rel, pk, key, id, row });
  }

  get(rel: number, pk: Buffer): PendingRow | undefined {
    return this.rows.get(Pending.id(rel, pk));
  }

  /** get() by a precomputed Pending.id (readers build the id once for the overlay and the cache). */
  byId(id: string): PendingRow | undefined {
    return this.rows.get(id);
  }

  /** Builds the index of new images; call once all changes are in. */
  indexRows(shape: JoinShape): void {
    for (const p of this.rows.values()) {
      if (!p.row) continue;
      p.joins = joinEntries(shape, p.rel, p.row.r);
      for (const j of p.joins) {
        let m = this.index.get(j.id);
        if (!m) this.index.set(j.id, (m = new Map()));
        m.set(p.key, p.pk);
      }
    }
  }

  indexed(rel: number, set: number, vals: Buffer): Buffer[] {
    return [...(this.index.get(Reader.scanId(rel, set, vals))?.values() ?? [])];
  }
}

/** A row's join index entries: one per index set of `rel` whose columns are all non-NULL. */
export function joinEntries(shape: JoinShape, rel: number, row: Row): JoinEntry[] {
  const out: JoinEntry[] = [];
  const sets = shape.sets[rel] ?? [];
  for (let s = 0; s < sets.length; s++) {
    const set = sets[s] as JoinShape["sets"][number][number];
    const vals = shape.values(rel, row, set.cols);
    if (!vals) continue;
    const encoded = encodeKey(vals, set.kinds);
    out.push({ set: s, vals: encoded, id: Reader.scanId(rel, s, encoded) });
  }
  return out;
}

/** Rows read from LevelDB during one batch: shared by the S0 and S1 readers (the overlay is checked first). */
export type RowCache = Map<string, Row | null>;
/** Index scans' LevelDB results during one batch, shared like RowCache. */
export type ScanCache = Map<string, Buffer[]>;

export class Reader {
  private readonly cache: RowCache;
  private readonly db: Db;
  private readonly layout: Layout;
  private readonly pending: Pending | null;
  private readonly format: RowFormat;
  private readonly scans: ScanCache;
  /** Warm input rows: the joined relations' and the driving relation's (budgets of their own). */
  private readonly warm: WarmCache<Row | null> | null;
  private readonly warmDriving: WarmCache<Row | null> | null;
  private readonly warmScans: WarmScans | null;
  private readonly used: RowCache;

  constructor(
    db: Db,
    layout: Layout,
    format: RowFormat,
    pending: Pending | null,
    cache: RowCache = new Map(),
    scans: ScanCache = new Map(),
    warm: {
      rows: WarmCache<Row | null>;
      driving: WarmCache<Row | null>;
      scans: WarmScans;
      /** The warm rows this batch used (shared by S0 and S1 like `cache`). */
      used: RowCache;
    } | null = null,
  ) {
    this.warm = warm?.rows ?? null;
    this.warmDriving = warm?.driving ?? null;
    this.warmScans = warm?.scans ?? null;
    this.used = warm?.used ?? new Map();
    this.scans = scans;
    this.db = db;
    this.layout = layout;
    this.format = format;
    this.pending = pending;
    this.cache = cache;
  }

  /**
   * Loads many rows of one relation with a single getMany (each get is a thread-pool round trip). `ids`:
   * their Pending.ids when the caller has them (in `pks` order).
   */
  async prefetch(rel: number, pks: Iterable<Buffer>, ids?: readonly string[]): Promise<void> {
    const wanted = new Map<string, Buffer>();
    let i = 0;
    for (const pk of pks) {
      const id = ids?.[i++] ?? Pending.id(rel, pk);
      if (this.cache.has(id) || this.pending?.byId(id)) continue;
      if (this.fromWarm(rel, id) === undefined) wanted.set(id, pk);
    }
    if (wanted.size === 0) return;
    const wantedIds = [...wanted.keys()];
    const values = await this.db.getMany([...wanted.values()].map((pk) => this.layout.tableRow(rel, pk)));
    values.forEach((buf, i) =>
      this.cache.set(wantedIds[i] as string, buf ? this.format.unpackTable(rel, buf).r : null),
    );
  }

  /** The encoded key a pk lookup would get (for prefetching). */
  static lookupPk(
    lookup: Lookup,
    vals: unknown[],
    fromKinds: Parameters<typeof encodeKey>[1],
  ): Buffer | null {
    if (lookup.by !== "pk") return null;
    return encodeKey(
      lookup.order.map((i) => vals[i]),
      lookup.order.map((i) => fromKinds?.[i] ?? "any"),
    );
  }

  /**
   * A row from the cross-batch warm caches (undefined when not held), copied into the batch's `used` map:
   * later lookups of it in this batch hit that small map instead of the large warm ones. `used` is kept
   * apart from `cache` (LevelDB reads), which alone becomes warm after the batch: a warm row is not set
   * again (a set into a large map cost more than the lookup it saves). The warm caches change only once a
   * batch committed (view-state.ts), so S0 and S1 see the same row for the whole batch.
   */
  private fromWarm(rel: number, id: string): Row | null | undefined {
    const held = this.used.get(id);
    if (held !== undefined) return held;
    const hit = (rel === 0 ? this.warmDriving : this.warm)?.get(id);
    if (hit !== undefined) this.used.set(id, hit);
    return hit;
  }

  /** The row if the overlay or the cache already has it (null: known absent), undefined otherwise. */
  peek(rel: number, pk: Buffer, id = Pending.id(rel, pk)): Row | null | undefined {
    const p = this.pending?.byId(id);
    if (p) return p.row?.r ?? null;
    const hit = this.cache.get(id);
    return hit !== undefined ? hit : this.fromWarm(rel, id);
  }

  async get(rel: number, pk: Buffer, id = Pending.id(rel, pk)): Promise<Row | null> {
    const p = this.pending?.byId(id);
    if (p) return p.row?.r ?? null;
    const hit = this.cache.get(id);
    if (hit !== undefined) return hit;
    const warm = this.fromWarm(rel, id);
    if (warm !== undefined) return warm;
    const buf = await this.db.get(this.layout.tableRow(rel, pk));
    const row = buf ? this.format.unpackTable(rel, buf).r : null;
    this.cache.set(id, row);
    return row;
  }

  /** The id of the index scan of relation `rel`, index set `set`, for encoded join values `vals`. */
  static scanId(rel: number, set: number, vals: Buffer): string {
    return `${rel}:${set}:${vals.toString("latin1")}`;
  }

  private async scan(rel: number, set: number, vals: Buffer): Promise<Buffer[]> {
    const prefix = this.layout.joinIndex(rel, set, vals);
    // The LevelDB part of a scan is the same in S0 and S1 (the overlay is applied after): share it.
    const id = Reader.scanId(rel, set, vals);
    let stored = this.scans.get(id);
    if (!stored) {
      stored = this.warmScans?.get(id);
      if (stored) this.scans.set(id, stored);
    }
    if (!stored) {
      const found: Buffer[] = [];
      for (const [key, value] of await this.db.iterator(Layout.range(prefix)).all()) {
        const pk = Buffer.from(key.subarray(prefix.length));
        found.push(pk);
        // The entry holds the row (view-state.ts indexRow): cache it as LevelDB's state, sparing a get.
        const rowId = Pending.id(rel, pk);
        if (value.length > 0 && !this.cache.has(rowId))
          this.cache.set(rowId, this.format.unpackTable(rel, value).r);
      }
      this.scans.set(id, (stored = found));
      this.warmScans?.set(id, found);
    }
    const pks = this.pending ? stored.filter((pk) => !this.pending?.get(rel, pk)) : [...stored];
    if (this.pending) pks.push(...this.pending.indexed(rel, set, vals));
    return pks;
  }

  /** Index lookups for many value tuples: the scans run concurrently, then one getMany loads every row. */
  async findMany(
    lookup: Lookup & { by: "index" },
    valsList: (unknown[] | null)[],
    fromKinds: Parameters<typeof encodeKey>[1],
  ): Promise<{ pk: Buffer; row: Row }[][]> {
    const pkLists = await Promise.all(
      valsList.map((vals) =>
        vals ? this.scan(lookup.rel, lookup.set, encodeKey(vals, fromKinds)) : Promise.resolve([]),
      ),
    );
    const flat = pkLists.flat();
    const ids = flat.map((pk) => Pending.id(lookup.rel, pk));
    await this.prefetch(lookup.rel, flat, ids);
    // Every row is held now (prefetched, pending or warm): a get is only the fallback.
    const lists: { pk: Buffer; row: Row }[][] = [];
    let at = 0;
    for (const pks of pkLists) {
      const out: { pk: Buffer; row: Row }[] = [];
      for (const pk of pks) {
        const id = ids[at++] as string;
        const hit = this.peek(lookup.rel, pk, id);
        const row = hit !== undefined ? hit : await this.get(lookup.rel, pk, id);
        if (row) out.push({ pk, row });
      }
      lists.push(out);
    }
    return lists;
  }

  /** Rows of `lookup.rel` whose lookup columns equal `vals` (values from the other side, with their kinds). */
  async find(
    lookup: Lookup,
    vals: unknown[],
    fromKinds: Parameters<typeof encodeKey>[1],
  ): Promise<{ pk: Buffer; row: Row }[]> {
    if (lookup.by === "pk") {
      const pk = encodeKey(
        lookup.order.map((i) => vals[i]),
        lookup.order.map((i) => fromKinds?.[i] ?? "any"),
      );
      const hit = this.peek(lookup.rel, pk);
      const row = hit !== undefined ? hit : await this.get(lookup.rel, pk);
      return row ? [{ pk, row }] : [];
    }
    const encoded = encodeKey(vals, fromKinds);
    const out: { pk: Buffer; row: Row }[] = [];
    for (const pk of await this.scan(lookup.rel, lookup.set, encoded)) {
      const row = await this.get(lookup.rel, pk);
      if (row) out.push({ pk, row });
    }
    return out;
  }
}
