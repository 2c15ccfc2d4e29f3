// How the apply engine walks a view's join tree: for every joined relation, how to find its rows from a
// parent row (forward, to recompute a view row) and how to find parent rows from its rows (backward, to
// find the view rows a change touches). A lookup is a direct primary-key get when the ON clause covers the
// looked-up table's key, otherwise a scan of a secondary index on the ON columns (layout J).
import { encodeKey, type KeyKind } from "../keys/encoding.ts";
import type { Relation, ViewPlan } from "../sql/plan.ts";

export type Row = Record<string, unknown>;

export interface IndexSet {
  cols: string[];
  kinds: KeyKind[];
}

/** Find rows of `rel` whose `cols` equal values taken from another relation's row. */
export type Lookup = { rel: number; by: "pk"; order: number[] } | { rel: number; by: "index"; set: number };

export interface Step {
  /** Joined relation j ≥ 1. */
  rel: number;
  parent: number;
  /** Rows of j from a parent row. */
  forward: Lookup;
  /** Rows of the parent from a row of j. */
  backward: Lookup;
}

const norm = (k: KeyKind): KeyKind => (k === "number" ? "decimal" : k);

export class JoinShape {
  readonly sets: IndexSet[][];
  readonly steps: Step[];
  readonly keyKinds: KeyKind[][];
  readonly plan: ViewPlan;

  constructor(plan: ViewPlan) {
    this.plan = plan;
    this.sets = plan.relations.map(() => []);
    this.keyKinds = plan.relations.map((r) => r.table.key.map((c) => r.kinds[c] ?? "any"));
    this.steps = [];
    plan.relations.forEach((rel, j) => {
      if (j === 0 || rel.parent === null) return;
      const parent = plan.relations[rel.parent] as Relation;
      this.steps.push({
        rel: j,
        parent: rel.parent,
        forward: this.lookup(j, rel, rel.childCols),
        backward: this.lookup(rel.parent, parent, rel.parentCols),
      });
    });
  }

  private lookup(relIndex: number, rel: Relation, cols: string[]): Lookup {
    const key = rel.table.key;
    if (key.length > 0 && key.every((k) => cols.includes(k)))
      return { rel: relIndex, by: "pk", order: key.map((k) => cols.indexOf(k)) };
    const sets = this.sets[relIndex] as IndexSet[];
    let set = sets.findIndex((s) => s.cols.join("\u0000") === cols.join("\u0000"));
    if (set < 0) {
      set = sets.length;
      sets.push({ cols, kinds: cols.map((c) => norm(rel.kinds[c] ?? "any")) });
    }
    return { rel: relIndex, by: "index", set };
  }

  /** The encoded primary key of a row of `rel`. */
  pk(rel: number, row: Row): Buffer {
    const r = this.plan.relations[rel] as Relation;
    return encodeKey(
      r.table.key.map((c) => row[c] ?? null),
      this.keyKinds[rel],
    );
  }

  /** Encoded values of `cols` of a row (null if any is NULL: NULL never equals anything). */
  values(rel: number, row: Row, cols: string[]): unknown[] | null {
    const out: unknown[] = [];
    for (const c of cols) {
      const v = row[c];
      if (v === null || v === undefined) return null;
      out.push(v);
    }
    void rel;
    return out;
  }

  kinds(rel: number, cols: string[]): KeyKind[] {
    const r = this.plan.relations[rel] as Relation;
    return cols.map((c) => norm(r.kinds[c] ?? "any"));
  }
}
