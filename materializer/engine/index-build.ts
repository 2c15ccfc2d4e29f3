// Building a new secondary index of a view over the rows it already holds (`CREATE INDEX`): one entry per
// stored view row, written in batches while the view's runner is paused; the view's definition declaring
// the index goes into the last batch, so a crash mid-build leaves the old definition (and entries that the
// next build clears first).
import { encodeKey } from "../keys/encoding.ts";
import { Layout } from "./layout.ts";
import type { Db } from "./reader.ts";
import type { BatchOp, ViewState } from "./view-state.ts";

const BATCH = 10_000;

/** Writes index `index` (of `columns`) over every stored row of `state`'s view, then `definition`. */
export async function buildIndex(
  db: Db,
  state: ViewState,
  index: number,
  columns: string[],
  definition: { key: Buffer; value: Buffer },
): Promise<void> {
  const kinds = columns.map((c) => state.columnKind(c));
  const base = state.layout.viewRow(Buffer.alloc(0)).length;
  let ops: BatchOp[] = [];
  for await (const [key, value] of db.iterator(Layout.range(state.layout.viewRow(Buffer.alloc(0))))) {
    const { v: row } = state.format.unpackView(value);
    const viewKey = Buffer.from(key.subarray(base));
    ops.push({
      type: "put",
      key: state.layout.viewIndex(
        index,
        encodeKey(
          columns.map((c) => row[c] ?? null),
          kinds,
        ),
        viewKey,
      ),
      value: viewKey,
    });
    if (ops.length >= BATCH) {
      await db.batch(ops);
      ops = [];
    }
  }
  ops.push({ type: "put", ...definition });
  await db.batch(ops);
}
