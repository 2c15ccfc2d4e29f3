// The state of one group of an aggregate view and how input rows move it (pure: aggregate-apply.ts reads
// and writes it). Every aggregate is kept so that a row leaving the group undoes exactly what it did:
// COUNT(x) counts non-null values; SUM and AVG keep the count and the exact sum (a bigint for integers;
// for decimals an unscaled bigint at the largest scale seen, plus how many values have each scale, so the
// result shows the largest scale of the values present, as Postgres' sum does); MIN and MAX keep the
// count of non-null values and the current extreme, and say when a leaving value was the extreme (the
// caller then reads the next one from the group's ordered multiset in LevelDB).
// AVG is Postgres' numeric division of that sum by the count (decimal.ts divDec: at least 16 significant
// digits, never fewer fraction digits than the sum has), so it equals what Postgres computes.
import { compareValues } from "../sql/eval.ts";
import { decOfInt, divDec, formatDec, parseDec, pow10, rescale, type Dec } from "../sql/decimal.ts";
import type { AggregateSpec } from "../sql/plan.ts";

export interface CountState {
  n: number;
}
export interface IntSumState {
  n: number;
  sum: bigint;
}
export interface DecSumState {
  n: number;
  /** The sum × 10^s. */
  u: bigint;
  s: number;
  /** How many values of each scale are in the sum (the result's scale is the largest present). */
  scales: Record<string, number>;
}
export interface ExtremeState {
  n: number;
  v: unknown;
}
export type AggState = CountState | IntSumState | DecSumState | ExtremeState | null;

export interface GroupState {
  /** Rows in the group (COUNT(*)); the group exists while it is above 0. */
  count: number;
  aggs: AggState[];
}

const isSum = (spec: AggregateSpec): boolean => spec.fn === "sum" || spec.fn === "avg";

export function emptyGroup(specs: readonly AggregateSpec[]): GroupState {
  return {
    count: 0,
    aggs: specs.map((spec): AggState => {
      if (spec.arg === null) return null;
      if (spec.fn === "count") return { n: 0 };
      if (isSum(spec)) return spec.t === "decimal" ? { n: 0, u: 0n, s: 0, scales: {} } : { n: 0, sum: 0n };
      return { n: 0, v: null };
    }),
  };
}

/** Stored form (engine/codec.ts values): [count, ...per aggregate]. */
export function packGroup(g: GroupState): unknown[] {
  return [
    g.count,
    ...g.aggs.map((a) => {
      if (a === null) return null;
      if ("sum" in a) return [a.n, a.sum];
      if ("u" in a) return [a.n, a.u, a.s, a.scales];
      if ("v" in a) return [a.n, a.v];
      return [a.n];
    }),
  ];
}

export function unpackGroup(specs: readonly AggregateSpec[], stored: unknown[]): GroupState {
  const [count, ...aggs] = stored as [number, ...(unknown[] | null)[]];
  return {
    count,
    aggs: specs.map((spec, i): AggState => {
      const a = aggs[i];
      if (spec.arg === null || !a) return null;
      if (spec.fn === "count") return { n: a[0] as number };
      if (isSum(spec))
        return spec.t === "decimal"
          ? {
              n: a[0] as number,
              u: a[1] as bigint,
              s: a[2] as number,
              scales: a[3] as Record<string, number>,
            }
          : { n: a[0] as number, sum: a[1] as bigint };
      return { n: a[0] as number, v: a[1] ?? null };
    }),
  };
}

function decOf(v: unknown): Dec | null {
  try {
    return typeof v === "string"
      ? parseDec(v)
      : typeof v === "number" || typeof v === "bigint"
        ? decOfInt(v)
        : null;
  } catch {
    return null; // a stored value that is no number never counts, going in or out
  }
}

/** Whether `a` is a better extreme than `b` for MIN (max = false) or MAX. */
export function better(spec: AggregateSpec, a: unknown, b: unknown): boolean {
  if (b === null || b === undefined) return true;
  const c = compareValues(a, spec.kind, b, spec.kind);
  return spec.fn === "min" ? c < 0 : c > 0;
}

/**
 * Moves aggregate `i`'s state by one value entering (sign 1) or leaving (-1) the group. Returns true when
 * a MIN/MAX value leaving was the current extreme: the caller must find the next one.
 */
export function moveAggregate(spec: AggregateSpec, state: AggState, v: unknown, sign: 1 | -1): boolean {
  if (state === null || v === null || v === undefined) return false;
  if ("sum" in state) {
    const d = typeof v === "bigint" ? v : typeof v === "number" ? BigInt(v) : null;
    if (d === null) return false;
    state.n += sign;
    state.sum += sign > 0 ? d : -d;
    return false;
  }
  if ("u" in state) {
    const d = decOf(v);
    if (!d) return false;
    if (d.s > state.s) {
      state.u *= pow10(d.s - state.s);
      state.s = d.s;
    }
    const scaled = d.u * pow10(state.s - d.s);
    state.n += sign;
    state.u += sign > 0 ? scaled : -scaled;
    const k = String(d.s);
    const left = (state.scales[k] ?? 0) + sign;
    if (left > 0) state.scales[k] = left;
    else delete state.scales[k];
    return false;
  }
  state.n += sign;
  if (!("v" in state)) return false;
  if (sign > 0) {
    if (better(spec, v, state.v)) state.v = v;
    return false;
  }
  if (state.n === 0) {
    state.v = null;
    return false;
  }
  return state.v !== null && compareValues(v, spec.kind, state.v, spec.kind) === 0;
}

/** The value an aggregate shows for the group (NULL over no non-null values, as SQL's aggregates). */
export function aggregateValue(spec: AggregateSpec, group: GroupState, state: AggState): unknown {
  if (spec.arg === null) return BigInt(group.count);
  if (state === null) return null;
  if (spec.fn === "count") return BigInt(state.n);
  if (state.n === 0) return null;
  if ("v" in state) return state.v;
  let sum: Dec;
  if ("sum" in state) sum = { u: state.sum, s: 0 };
  else if (!("u" in state)) return null;
  else {
    const shown = Math.max(0, ...Object.keys(state.scales).map(Number));
    sum = rescale({ u: state.u, s: state.s }, shown); // exact: no value present has more digits
  }
  if (spec.fn === "avg") return formatDec(divDec(sum, decOfInt(state.n)));
  // SUM of int is bigint; of bigint and numeric, numeric.
  return spec.t === "int" ? sum.u : formatDec(sum);
}
