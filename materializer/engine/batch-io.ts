// The LevelDB reads and the write of one apply batch (view-state.ts): stored view rows, a single-table
// view's truncate, and the atomic commit.
import { Layout } from "./layout.ts";
import type { Db } from "./reader.ts";
import type { RowFormat } from "./row-format.ts";
import type { Row } from "./shape.ts";
import type { BatchOp } from "./view-state.ts";
import type { WarmCache } from "./warm-cache.ts";

/** A stored view row, still encoded (decoded only when it changes). */
export interface StoredBytes {
  key: Buffer;
  buf: Buffer;
}

/** The final image of one key of a single-table view within a batch (null: deleted). */
export interface ReplicaImage {
  pk: Buffer;
  row: Row | null;
  p: number;
}

/** Stored view rows by view key (null: none), with one getMany. */
export async function viewRows(db: Db, layout: Layout, viewKeys: Buffer[]): Promise<(Buffer | null)[]> {
  if (viewKeys.length === 0) return [];
  const values = await db.getMany(viewKeys.map((k) => layout.viewRow(k)));
  return values.map((v) => v ?? null);
}

/**
 * The view rows currently stored for each driving key (a driving key is a prefix of its view rows' keys).
 * `ids`: the driving keys' latin1 forms when the caller has them (in `drivingPks` order).
 */
export async function storedRows(
  db: Db,
  layout: Layout,
  single: boolean,
  drivingPks: Buffer[],
  known: Map<string, Buffer | null>,
  warm?: WarmCache<Buffer | null>,
  ids: readonly string[] = drivingPks.map((pk) => pk.toString("latin1")),
): Promise<Map<string, Map<string, StoredBytes>>> {
  const out = new Map<string, Map<string, StoredBytes>>();
  const base = layout.viewRow(Buffer.alloc(0)).length;
  if (single) {
    // Only many-to-one joins: the view key is the driving key, so one getMany (of the rows not read
    // already, `known`, nor warm) serves the whole batch.
    const missing = drivingPks.filter((_, i) => {
      const id = ids[i] as string;
      if (known.has(id)) return false;
      const hit = warm?.get(id);
      if (hit === undefined) return true;
      known.set(id, hit);
      return false;
    });
    const found = await viewRows(db, layout, missing);
    missing.forEach((pk, i) => known.set(pk.toString("latin1"), found[i] ?? null));
    drivingPks.forEach((pk, i) => {
      const id = ids[i] as string;
      const buf = known.get(id);
      out.set(id, buf ? new Map([[id, { key: pk, buf }]]) : new Map());
    });
    return out;
  }
  await Promise.all(
    drivingPks.map(async (pk) => {
      const rows = new Map<string, StoredBytes>();
      for await (const [key, value] of db.iterator(Layout.range(layout.viewRow(pk)))) {
        const viewKey = Buffer.from(key.subarray(base));
        rows.set(viewKey.toString("latin1"), { key: viewKey, buf: value });
      }
      out.set(pk.toString("latin1"), rows);
    }),
  );
  return out;
}

/** A truncate of one partition in a single-table view: every row from that partition goes, stored or folded. */
export async function truncateReplica(
  db: Db,
  layout: Layout,
  format: RowFormat,
  partition: number,
  finals: Map<string, ReplicaImage>,
): Promise<void> {
  const prefix = layout.viewRow(Buffer.alloc(0));
  for await (const [key, value] of db.iterator(Layout.range(prefix))) {
    const pk = Buffer.from(key.subarray(prefix.length));
    const id = pk.toString("latin1");
    if (format.unpackView(value).p === partition && !finals.has(id))
      finals.set(id, { pk, row: null, p: partition });
  }
  for (const x of finals.values()) if (x.p === partition) x.row = null;
}

/** The implementation side of classic-level's chained batch (its public put/del/write wrap these). */
interface NativeBatch {
  _put(key: Buffer, value: Buffer): void;
  _del(key: Buffer): void;
  _write(options: object): Promise<void>;
}

function isNativeBatch(batch: object): batch is NativeBatch {
  const b = batch as Partial<NativeBatch>;
  return typeof b._put === "function" && typeof b._del === "function" && typeof b._write === "function";
}

/** No prewrite hook is installed (abstract-level marks an empty hook `noop`). */
function noHooks(db: Db): boolean {
  return (db.hooks.prewrite as unknown as { noop?: boolean }).noop === true;
}

/**
 * Writes one batch atomically through a chained batch: each op goes to the native batch as it is added,
 * which measured ~1.3-2× less CPU per op than db.batch(array) (no per-op object copy in abstract-level,
 * no property reads in the binding). The ops go straight to classic-level's implementation methods
 * (_put/_del/_write, what its public put/del/write call after abstract-level's per-op checks, option
 * copy and encoding lookups): keys and values here are always Buffers, the database has no hooks nor
 * write listeners, and that wrapper cost ~0.5 µs per op of the ~1.8 µs a put cost the main thread
 * (/tmp micro-benchmark, 400-op batches). Any other abstract-level batch takes the public path.
 */
export async function commitBatch(db: Db, ops: readonly BatchOp[]): Promise<void> {
  const batch = db.batch();
  try {
    if (isNativeBatch(batch) && db.listenerCount("write") === 0 && noHooks(db)) {
      for (const op of ops) {
        if (op.type === "put") batch._put(op.key, op.value);
        else batch._del(op.key);
      }
      if (ops.length > 0) await batch._write({});
    } else {
      for (const op of ops) {
        if (op.type === "put") batch.put(op.key, op.value);
        else batch.del(op.key);
      }
      await batch.write();
    }
  } finally {
    await batch.close();
  }
}

/**
 * Where a batch goes: a view with stages (plan.ts) collects its stages' ops and its own into one batch,
 * and runs their after-commit steps (warm caches, key ceilings) once it is written.
 */
export interface BatchSink {
  ops: BatchOp[];
  after: (() => void)[];
}

/** Commits `ops` and runs `done`, or leaves both to the sink's owner. */
export async function commitOrDefer(
  db: Db,
  ops: BatchOp[],
  done: () => void,
  into: BatchSink | undefined,
): Promise<void> {
  if (into) {
    for (const op of ops) into.ops.push(op);
    into.after.push(done);
    return;
  }
  await commitBatch(db, ops);
  done();
}
