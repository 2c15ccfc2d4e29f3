// Which driving-topic partition a view row came from, for split views (docs/views.md "Split views"): a
// member answers only for the partitions it owns. Single-table views keep the partition in the view row;
// join views keep it with the driving table's input row (layout T, relation 0), found from the view key's
// driving part, so nothing extra is stored per view row.
import { encodeKey } from "../keys/encoding.ts";
import type { StoredViewRow } from "../engine/row-format.ts";
import type { Db } from "../engine/reader.ts";
import type { ViewState } from "../engine/view-state.ts";

/** The driving partition of each row (-1 when the driving row is gone, which a consistent state never has). */
export async function drivingPartitions(db: Db, state: ViewState, rows: StoredViewRow[]): Promise<number[]> {
  if (state.replica) return rows.map((r) => r.p);
  if (rows.length === 0) return [];
  const n = state.plan.key.filter((k) => k.rel === 0).length;
  const kinds = state.shape.keyKinds[0] ?? [];
  const bufs = await db.getMany(rows.map((r) => state.layout.tableRow(0, encodeKey(r.k.slice(0, n), kinds))));
  return bufs.map((b) => (b ? state.format.unpackTable(0, b).p : -1));
}

/** A row filter keeping the rows of `served` partitions (null: every row). */
export function servedFilter(
  db: Db,
  state: ViewState,
  served: Set<number> | null,
): ((rows: StoredViewRow[]) => Promise<boolean[]>) | undefined {
  if (!served) return undefined;
  return async (rows) => (await drivingPartitions(db, state, rows)).map((p) => served.has(p));
}
