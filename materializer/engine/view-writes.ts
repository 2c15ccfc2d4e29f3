// What one changed view row writes besides the row itself, in the apply batch (view-state.ts): its entries in
// the view's secondary indexes (each entry's value repeats the view key, so an index scan needs no decoding of
// the entry's key) and, once the view is live, its change-feed entry, numbered after the view's last one.
import { encodeKey } from "../keys/encoding.ts";
import type { Relation, ViewPlan } from "../sql/plan.ts";
import type { Layout } from "./layout.ts";
import type { RowFormat } from "./row-format.ts";
import type { JoinShape, Row } from "./shape.ts";
import type { BatchOp, Meta, ViewChange } from "./view-state.ts";

export type ColumnKind = ReturnType<JoinShape["kinds"]>[number];

export class ViewWrites {
  readonly #plan: ViewPlan;
  readonly #layout: Layout;
  readonly #format: RowFormat;
  /** Key kinds of each declared index's columns (computed once: index() runs per changed row). */
  readonly #indexKinds: ColumnKind[][] = [];

  constructor(plan: ViewPlan, layout: Layout, format: RowFormat) {
    this.#plan = plan;
    this.#layout = layout;
    this.#format = format;
  }

  /** Puts or deletes the index entries of the view row `viewKey` with values `v`. */
  index(viewKey: Buffer, v: Row, type: "put" | "del", ops: BatchOp[]): void {
    this.#plan.indexes.forEach((cols, i) => {
      const kinds = (this.#indexKinds[i] ??= cols.map((c) => this.columnKind(c)));
      const key = this.#layout.viewIndex(
        i,
        encodeKey(
          cols.map((c) => v[c] ?? null),
          kinds,
        ),
        viewKey,
      );
      ops.push(type === "put" ? { type, key, value: viewKey } : { type, key });
    });
  }

  /**
   * The next change-feed entry (`meta.seq` moves on); `afterView`: the new row's packed bytes, reused.
   * `write: false`: the change only, no entry (a stage's changes feed the view it is compiled into).
   */
  change(
    meta: Meta,
    op: ViewChange["op"],
    key: unknown[],
    before: Row | null,
    after: Row | null,
    ops: BatchOp[],
    afterView?: Buffer,
    write = true,
  ): ViewChange {
    if (!write) return { seq: 0, op, key, before, after };
    const change: ViewChange = { seq: ++meta.seq, op, key, before, after };
    const value = this.#format.packChange(change, afterView);
    ops.push({ type: "put", key: this.#layout.change(change.seq), value });
    return change;
  }

  /** The key kind of a view column (that of the input column it shows). */
  columnKind(name: string): ColumnKind {
    const c = this.#plan.columns.find((o) => o.name === name);
    if (!c) return "any";
    if (c.expr || c.rel < 0) return c.kind ?? "any";
    return (this.#plan.relations[c.rel] as Relation).kinds[c.column] ?? "any";
  }
}
