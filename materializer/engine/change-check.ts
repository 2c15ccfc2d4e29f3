// Checks a decoded record's changes against what the view will do with them, before they are applied: a
// value of an unexpected type (text in a numeric column after a type change, a producer bug) would otherwise
// throw in the middle of ViewState.apply and fail the whole view. Every column the view keeps of the
// record's table is checked the way apply uses it: numbers of every kind compare, join and index as decimals
// (shape.ts), so text in such a column must be decimal text; columns the view encodes as key parts (keys,
// ON columns, WHERE operands, indexed columns) must also encode with their kind. The first problem is the
// reason the runner parks that key with (kafka/view-runner.ts). Per changed row: keep it cheap.
import { canonicalDecimal, encodeKey, type KeyKind } from "../keys/encoding.ts";
import { allPlans, exprColumns, VIEW_TOPIC, type ViewPlan } from "../sql/plan.ts";
import type { TableChange } from "./view-state.ts";

interface Column {
  name: string;
  /** number → decimal, as every comparison and join encodes them. */
  kind: KeyKind;
  /** Encoded as a key part somewhere (key, join, WHERE, index): anything encodeKey refuses fails apply. */
  encoded: boolean;
}

export class ChangeCheck {
  private readonly columns = new Map<string, Column[]>();
  private readonly keys = new Map<string, Column[]>();
  /** Columns an aggregate encodes as keys (its groups, its MIN/MAX arguments), by the stage that keeps them. */
  readonly #encodedInputs: { plan: ViewPlan; rel: number; column: string }[] = [];

  constructor(plan: ViewPlan) {
    // A view over views and an aggregate view check the tables of every stage compiled into them.
    // An aggregate's input stage's plain columns become group and MIN/MAX keys: encoded like keys.
    const plans = allPlans(plan);
    for (const p of plans) {
      const input = p.aggregate ? p.stages?.[0] : undefined;
      for (const c of input?.columns ?? [])
        if (input && !c.expr && c.rel >= 0)
          this.#encodedInputs.push({ plan: input, rel: c.rel, column: c.column });
    }
    for (const p of plans) this.#add(p);
  }

  #add(plan: ViewPlan): void {
    const encoded = plan.relations.map((r) => new Set([...r.table.key, ...r.childCols]));
    plan.relations.forEach((r) => {
      if (r.parent !== null) for (const c of r.parentCols) encoded[r.parent]?.add(c);
    });
    for (const { rel, column } of exprColumns(plan.where)) encoded[rel]?.add(column);
    for (const e of this.#encodedInputs) if (e.plan === plan) encoded[e.rel]?.add(e.column);
    for (const index of plan.indexes)
      for (const name of index) {
        const out = plan.columns.find((c) => c.name === name);
        if (out) encoded[out.rel]?.add(out.column);
      }
    plan.relations.forEach((r, i) => {
      if (r.table.topic.startsWith(VIEW_TOPIC)) return;
      const byName = new Map((this.columns.get(r.table.topic) ?? []).map((c) => [c.name, c]));
      for (const name of new Set([...r.table.key, ...r.needed])) {
        const kind = r.kinds[name] === "number" ? "decimal" : (r.kinds[name] ?? "any");
        const was = byName.get(name);
        byName.set(name, {
          name,
          kind,
          encoded: (was?.encoded ?? false) || (encoded[i]?.has(name) ?? false),
        });
      }
      this.columns.set(r.table.topic, [...byName.values()]);
      this.keys.set(
        r.table.topic,
        r.table.key.map((k) => byName.get(k) as Column),
      );
    });
  }

  /** Why these changes cannot be applied (the first problem found), or null if they can. */
  reason(changes: readonly TableChange[]): string | null {
    for (const c of changes) {
      if (c.op === "truncate") continue;
      const keys = this.keys.get(c.topic);
      if (!keys) continue;
      for (let i = 0; i < c.key.length; i++) {
        const col = keys[i];
        const problem = col ? unusable(c.key[i], col) : null;
        if (problem) return `key column ${col?.name}: ${problem}`;
      }
      if (c.op !== "upsert") continue;
      for (const col of this.columns.get(c.topic) ?? []) {
        const problem = unusable(c.row[col.name], col);
        if (problem) return `column ${col.name}: ${problem}`;
      }
    }
    return null;
  }
}

/** Text canonicalDecimal (keys/encoding.ts) accepts; what it refuses throws there. */
const DECIMAL_TEXT = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/** The problem with a value (never the value itself: reasons are shown by the status API and logged). */
function unusable(v: unknown, col: Column): string | null {
  if (v === null || v === undefined) return null;
  try {
    if (col.kind === "decimal" && typeof v === "string") {
      if (!DECIMAL_TEXT.test(v)) canonicalDecimal(v); // the cheap test first: this runs per changed row
    } else if (col.encoded && typeof v === "object") encodeKey([v], [col.kind]);
    return null;
  } catch {
    const what = typeof v === "object" ? (v.constructor?.name ?? "object") : typeof v;
    return `a ${what} value that cannot be used as a ${col.kind === "decimal" ? "number" : col.kind}`;
  }
}
